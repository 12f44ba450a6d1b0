package live

import (
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/wasessions/gateway/supabase"
)

// Stream is one open live stream: the entries of one session, written as
// Server-Sent Events to a connection taken over from the HTTP server.
//
// An idle stream costs its connection, this struct and one goroutine
// parked in a one-byte read (which notices the client leaving). Writes
// run on a goroutine started when there is something to write and gone
// when it is written, so the HTTP server's per-connection goroutine and
// buffers are not kept for the stream's whole life.
type Stream struct {
	b         *Broker
	sessionID int64

	mu      sync.Mutex
	conn    net.Conn                // nil until Attach
	early   []supabase.SessionEvent // entries delivered before Attach
	pending []byte                  // frames not written yet
	unsent  int                     // bytes of the response head at pending's start, until a writer takes them
	last    int64                   // id of the last entry queued
	writing bool                    // a write goroutine is running
	final   bool                    // close the stream once pending is written
	closed  bool
	expiry  *time.Timer

	registered bool // guarded by b.mu
}

// maxEarly bounds the entries kept for a stream that is still reading its
// snapshot; a session changing faster than that is caught up by replay.
const maxEarly = 64

// Attach starts the stream on conn: it writes head (the HTTP response
// head), then the opening entries, then what arrived meanwhile, skipping
// every entry up to last and those already written. The stream ends at
// expires (the access token's exp) when it is set. From here the stream
// owns conn.
func (s *Stream) Attach(conn net.Conn, head []byte, opening []supabase.SessionEvent, last int64, expires time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn, s.last = conn, last
	if s.closed {
		_ = conn.Close()
		return
	}
	final, tail := s.final, s.pending
	s.final, s.pending, s.unsent = false, head, len(head)
	for _, e := range opening {
		s.queueLocked(e)
	}
	for _, e := range s.early {
		s.queueLocked(e)
	}
	s.early = nil
	if final && !s.final {
		// Ended (drained) while it opened: say so after the opening.
		s.pending, s.final = append(s.pending, tail...), true
	}
	if !expires.IsZero() {
		s.expiry = time.AfterFunc(time.Until(expires), func() { s.end(appendComment(nil, "access token expired")) })
	}
	s.b.goroutines.Add(1)
	go s.readUntilGone(conn)
	s.kickLocked()
}

// Close ends the stream at once and frees its place.
func (s *Stream) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conn := s.conn
	if s.expiry != nil {
		s.expiry.Stop()
	}
	s.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
	s.b.remove(s)
}

// deliver queues an entry of the stream's session; it never blocks: the
// broker calls it for every stream in turn.
func (s *Stream) deliver(e supabase.SessionEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.final {
		return
	}
	if s.conn == nil {
		if len(s.early) >= maxEarly {
			s.lagLocked()
			return
		}
		s.early = append(s.early, e)
		return
	}
	s.queueLocked(e)
	if len(s.pending) > s.b.cfg.MaxPending {
		s.lagLocked()
		return
	}
	s.kickLocked()
}

// ping queues a comment line, so proxies see traffic on an idle stream.
func (s *Stream) ping() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil || s.closed || s.final {
		return
	}
	s.pending = appendComment(s.pending, "ping")
	s.kickLocked()
}

// end queues a last frame and closes the stream once it is written.
func (s *Stream) end(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.final {
		return
	}
	s.pending, s.final = append(s.pending, frame...), true
	s.kickLocked()
}

// queueLocked formats e unless it was queued already. A session's entries
// come in id order (its writes take the row's lock), so an id at or below
// the last one queued is a repeat.
func (s *Stream) queueLocked(e supabase.SessionEvent) {
	if s.final || (e.ID != 0 && e.ID <= s.last) {
		return
	}
	s.last = max(s.last, e.ID)
	if e.Deleted() {
		data := strconv.AppendInt([]byte(`{"id":`), s.sessionID, 10)
		s.pending = appendEvent(s.pending, e.ID, "deleted", append(data, '}'))
		s.final = true
		return
	}
	s.pending = appendEvent(s.pending, e.ID, "session", e.Row)
}

// lagLocked ends a stream whose client does not keep up: what it has not
// taken is dropped, and it is told to reconnect, which replays the history
// after the last event it got. A response head not written yet stays:
// without it the hint is not an HTTP answer.
func (s *Stream) lagLocked() {
	s.early = nil
	s.pending = appendRetry(s.pending[:s.unsent], reconnectDelay())
	s.final = true
	s.kickLocked()
}

// kickLocked starts a write goroutine when there is something to write
// and none is running.
func (s *Stream) kickLocked() {
	if s.conn == nil || s.closed || s.writing || (len(s.pending) == 0 && !s.final) {
		return
	}
	s.writing = true
	s.b.goroutines.Add(1)
	go s.write()
}

// write writes the pending frames until none are left, each batch within
// the write timeout, then closes the stream if it is over.
func (s *Stream) write() {
	defer s.b.goroutines.Add(-1)
	for {
		s.mu.Lock()
		if s.closed {
			s.writing = false
			s.mu.Unlock()
			return
		}
		if len(s.pending) == 0 {
			s.writing = false
			final := s.final
			s.mu.Unlock()
			if final {
				s.Close()
			}
			return
		}
		buf, conn := s.pending, s.conn
		s.pending, s.unsent = nil, 0 // an idle stream keeps no buffer
		s.mu.Unlock()
		_ = conn.SetWriteDeadline(time.Now().Add(s.b.cfg.WriteTimeout))
		if _, err := conn.Write(buf); err != nil {
			s.Close()
			return
		}
	}
}

// readUntilGone waits for the client to hang up (a client sends nothing on
// an event stream), then ends the stream; it also returns when the stream
// closes the connection itself.
func (s *Stream) readUntilGone(conn net.Conn) {
	defer s.b.goroutines.Add(-1)
	var one [1]byte
	for {
		if _, err := conn.Read(one[:]); err != nil {
			s.Close()
			return
		}
	}
}

// reconnectDelay is the retry: hint: a second, plus up to another at
// random, so that the clients of a replica do not all come back at once.
func reconnectDelay() time.Duration {
	return time.Second + time.Duration(rand.Int64N(int64(time.Second)))
}
