package live

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// EventWriter writes Server-Sent Events to one response. Each write is
// flushed at once and gets its own write deadline, so the server's
// WriteTimeout, meant for ordinary answers, never cuts an open stream,
// while a client that stops reading still cannot hold a write forever.
type EventWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	buf     bytes.Buffer
}

// NewEventWriter writes to w; each write must finish within writeTimeout.
func NewEventWriter(w http.ResponseWriter, writeTimeout time.Duration) *EventWriter {
	return &EventWriter{w: w, rc: http.NewResponseController(w), timeout: writeTimeout}
}

// Start sends the stream's headers. It lifts the server's read deadline:
// the request is read, and a deadline left on the connection would end the
// stream when it passes.
func (ew *EventWriter) Start() error {
	h := ew.w.Header()
	h.Set("Content-Type", "text/event-stream")
	// nginx and similar proxies buffer responses unless told not to.
	h.Set("X-Accel-Buffering", "no")
	_ = ew.rc.SetReadDeadline(time.Time{})
	ew.w.WriteHeader(http.StatusOK)
	return ew.flush()
}

// Event writes one event: its id (none when id is 0), its name, and data
// as one line (JSON that spans lines is compacted first).
func (ew *EventWriter) Event(id int64, name string, data []byte) error {
	ew.buf.Reset()
	if id > 0 {
		ew.buf.WriteString("id: ")
		ew.buf.WriteString(strconv.FormatInt(id, 10))
		ew.buf.WriteByte('\n')
	}
	ew.buf.WriteString("event: ")
	ew.buf.WriteString(name)
	ew.buf.WriteString("\ndata: ")
	if bytes.ContainsAny(data, "\r\n") {
		if err := json.Compact(&ew.buf, data); err != nil {
			return err
		}
	} else {
		ew.buf.Write(data)
	}
	ew.buf.WriteString("\n\n")
	return ew.write()
}

// Comment writes a comment line, which clients ignore and proxies see as
// traffic.
func (ew *EventWriter) Comment(text string) error {
	ew.buf.Reset()
	ew.buf.WriteString(": ")
	ew.buf.WriteString(text)
	ew.buf.WriteString("\n\n")
	return ew.write()
}

// Retry tells the client how long to wait before it reconnects.
func (ew *EventWriter) Retry(after time.Duration) error {
	ew.buf.Reset()
	ew.buf.WriteString("retry: ")
	ew.buf.WriteString(strconv.FormatInt(after.Milliseconds(), 10))
	ew.buf.WriteString("\n\n")
	return ew.write()
}

func (ew *EventWriter) write() error {
	if ew.timeout > 0 {
		_ = ew.rc.SetWriteDeadline(time.Now().Add(ew.timeout))
	}
	if _, err := ew.w.Write(ew.buf.Bytes()); err != nil {
		return err
	}
	return ew.flush()
}

func (ew *EventWriter) flush() error {
	if ew.timeout > 0 {
		_ = ew.rc.SetWriteDeadline(time.Now().Add(ew.timeout))
	}
	return ew.rc.Flush()
}
