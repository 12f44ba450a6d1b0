package live

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// The Server-Sent Events frames a stream writes. Each ends with the blank
// line that makes the client dispatch it.

// appendEvent adds one event: its id (none when 0), its name, and data on
// one line (JSON that spans lines is compacted first).
func appendEvent(buf []byte, id int64, name string, data []byte) []byte {
	if id > 0 {
		buf = append(buf, "id: "...)
		buf = strconv.AppendInt(buf, id, 10)
		buf = append(buf, '\n')
	}
	buf = append(buf, "event: "...)
	buf = append(buf, name...)
	buf = append(buf, "\ndata: "...)
	if bytes.ContainsAny(data, "\r\n") {
		var compact bytes.Buffer
		if json.Compact(&compact, data) == nil {
			data = compact.Bytes()
		} else {
			data = bytes.ReplaceAll(bytes.ReplaceAll(data, []byte("\r"), nil), []byte("\n"), nil)
		}
	}
	buf = append(buf, data...)
	return append(buf, "\n\n"...)
}

// appendComment adds a comment line, which clients ignore and proxies see
// as traffic.
func appendComment(buf []byte, text string) []byte {
	buf = append(buf, ": "...)
	buf = append(buf, text...)
	return append(buf, "\n\n"...)
}

// appendRetry tells the client how long to wait before it reconnects.
func appendRetry(buf []byte, after time.Duration) []byte {
	buf = append(buf, "retry: "...)
	buf = strconv.AppendInt(buf, after.Milliseconds(), 10)
	return append(buf, "\n\n"...)
}
