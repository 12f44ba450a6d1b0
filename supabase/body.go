package supabase

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
)

// headSize is how much of a successful answer is read inside the call, so
// that the deadline, the retries and the breaker cover every small body
// whole, and a failure before it is the usual error envelope. Anything
// longer is streamed to the caller from there on: holding 1,000 rows in
// memory per request costs more than passing them through.
const headSize = 32 << 10

// headBuffers hold the first headSize bytes of streamed answers; the same
// buffer then carries the rest of the copy.
var headBuffers = sync.Pool{New: func() any { b := make([]byte, headSize); return &b }}

// Body is a successful answer of the Data API (the JSON of a row or of an
// array of rows), passed on without being parsed. A small one is read whole
// before the call returns; a larger one is its first headSize bytes plus
// the rest of the upstream stream, still bounded by the call's deadline.
// Whoever receives a Body must Close it once.
type Body struct {
	head   []byte        // the whole body, or its first part when rest != nil
	rest   io.ReadCloser // the unread remainder; nil when head is everything
	size   int64         // total length when upstream said it, else -1
	pooled *[]byte       // head's buffer, back to headBuffers on Close
	ctx    context.Context
	cancel context.CancelFunc // ends the call's deadline
	// contentRange is PostgREST's Content-Range ("0-999/5000"), kept to
	// notice a list cut short by the project's Max Rows.
	contentRange string
}

// BodyOf wraps bytes already in memory, e.g. for an in-memory store.
func BodyOf(raw []byte) Body { return Body{head: raw, size: int64(len(raw))} }

// Bytes returns the whole body when it was read whole; ok is false when it
// is still streaming and must be passed on with WriteTo.
func (b Body) Bytes() (raw []byte, ok bool) { return b.head, b.rest == nil }

// Size is the body's length in bytes, or -1 when upstream did not say (a
// chunked or compressed answer).
func (b Body) Size() int64 { return b.size }

// WriteTo writes the whole body to w as it arrives. A failure to read the
// upstream body is returned as an *Error (upstream_unavailable, or
// upstream_timeout when the call's deadline cut it); a failure to write to
// w is returned as it is. It writes with plain Write calls in chunks of up
// to headSize bytes: handing w a reader instead would let net/http's
// ReadFrom sniff and split the first write.
func (b Body) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b.head)
	written := int64(n)
	if err != nil || b.rest == nil {
		return written, err
	}
	buf := b.head[:cap(b.head)]
	for {
		n, readErr := b.rest.Read(buf)
		if n > 0 {
			m, err := w.Write(buf[:n])
			written += int64(m)
			if err != nil {
				return written, err
			}
		}
		if readErr == io.EOF {
			return written, nil
		}
		if readErr != nil {
			return written, streamError(b.ctx, readErr)
		}
	}
}

// Close releases the upstream connection, the call's deadline and the
// buffer. It is safe on a zero Body.
func (b Body) Close() error {
	var err error
	if b.rest != nil {
		err = b.rest.Close()
	}
	if b.cancel != nil {
		b.cancel()
	}
	if b.pooled != nil {
		headBuffers.Put(b.pooled)
	}
	return err
}

// streamError classifies a body that broke after its first part went out.
func streamError(ctx context.Context, err error) error {
	if ctx != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Error{Code: CodeUpstreamTimeout, Message: "Supabase did not finish the answer in time", Err: err}
	}
	if e := translate(err, sessionNotFound); ErrorCode(e) == CodeUpstreamTimeout {
		return e
	}
	return &Error{Code: CodeUpstreamUnavailable, Message: "Supabase broke off the answer", Err: err}
}

// readHead reads a successful response's body whole when it is at most
// headSize bytes, and otherwise its first headSize bytes, leaving the rest
// for Body.WriteTo. An error means the attempt failed before anything was
// passed on, so it is still the caller's to retry or report.
func readHead(resp *http.Response) (Body, error) {
	b, err := readHeadBody(resp)
	b.contentRange = resp.Header.Get("Content-Range")
	return b, err
}

func readHeadBody(resp *http.Response) (Body, error) {
	size := resp.ContentLength
	if size >= 0 && size <= headSize {
		// The common small answer: exactly its size, no pool round trip.
		buf := make([]byte, size)
		_, err := io.ReadFull(resp.Body, buf)
		closeErr := resp.Body.Close()
		if err != nil {
			return Body{}, err
		}
		if closeErr != nil {
			return Body{}, closeErr
		}
		return Body{head: buf, size: size}, nil
	}
	pooled := headBuffers.Get().(*[]byte)
	buf := *pooled
	n := 0
	for n < len(buf) {
		m, err := resp.Body.Read(buf[n:])
		n += m
		if err == io.EOF {
			// Shorter than the buffer after all (a chunked or compressed
			// answer): keep an exact copy and the buffer for the next one.
			whole := make([]byte, n)
			copy(whole, buf[:n])
			headBuffers.Put(pooled)
			_ = resp.Body.Close()
			return Body{head: whole, size: int64(n)}, nil
		}
		if err != nil {
			headBuffers.Put(pooled)
			_ = resp.Body.Close()
			return Body{}, err
		}
	}
	return Body{head: buf[:n], rest: resp.Body, size: size, pooled: pooled}, nil
}

// bodySlot is where errorTransport leaves a successful body for the
// operation that asked for it; postgrest-go gets an empty body instead, so it
// stays the API every call is built and executed with without buffering.
type bodySlot struct {
	body Body
	set  bool
}

type bodySlotKey struct{}

func withBodySlot(ctx context.Context) (context.Context, *bodySlot) {
	s := &bodySlot{}
	return context.WithValue(ctx, bodySlotKey{}, s), s
}

func bodySlotFrom(ctx context.Context) *bodySlot {
	s, _ := ctx.Value(bodySlotKey{}).(*bodySlot)
	return s
}

// put keeps b, releasing what an earlier attempt left.
func (s *bodySlot) put(b Body) {
	s.release()
	s.body, s.set = b, true
}

func (s *bodySlot) release() {
	if s.set {
		_ = s.body.Close()
		s.body, s.set = Body{}, false
	}
}
