package handlers_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/live"
	"github.com/wasessions/gateway/supabase"
)

// newStreamStack is newStack with the live status stream wired to a
// broker configured by lc, which reads through the same recording proxy.
func newStreamStack(tb testing.TB, lc live.Config, opts ...stackOption) (*stack, *live.Broker) {
	tb.Helper()
	var b *live.Broker
	wire := func(d *handlers.Deps, cfg *supabase.ClientConfig) {
		client, err := supabase.NewClient(*cfg)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(client.Close)
		lc.Source = client
		b = live.New(lc)
		d.Streams, d.Events = b, client
	}
	s := newStack(tb, append(opts, wire)...)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	tb.Cleanup(func() {
		// The broker owns the streams' connections, not the test server.
		b.Drain()
		waitCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
		defer stop()
		if err := b.Wait(waitCtx); err != nil {
			tb.Errorf("streams still open at the end: %v", err)
		}
		cancel()
		<-done
	})
	return s, b
}

// sseEvent is one thing read from a stream: an event, a comment or a
// retry hint.
type sseEvent struct {
	ID, Event, Data, Comment, Retry string
	At                              time.Time
}

// sseStream reads a Server-Sent Events response as a browser would.
type sseStream struct {
	res    *http.Response
	events chan sseEvent
	done   chan struct{} // closed when the server ends the stream
}

// openStream opens GET path with headers ("Name: value"); it fails the test
// unless the answer is a 200 event stream.
func (s *stack) openStream(tb testing.TB, path string, headers ...string) *sseStream {
	tb.Helper()
	res := s.requestStream(tb, path, headers...)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		tb.Fatalf("GET %s: got %d %s %s, want a 200 event stream", path, res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	st := &sseStream{res: res, events: make(chan sseEvent, 1024), done: make(chan struct{})}
	go st.read()
	tb.Cleanup(st.close)
	return st
}

// requestStream sends GET path and returns the response unread.
func (s *stack) requestStream(tb testing.TB, path string, headers ...string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	return res
}

func (st *sseStream) read() {
	defer close(st.done)
	defer close(st.events)
	sc := bufio.NewScanner(st.res.Body)
	var ev sseEvent
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if ev != (sseEvent{}) {
				ev.At = time.Now()
				st.events <- ev
			}
			ev = sseEvent{}
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "":
			ev.Comment = value
		case "id":
			ev.ID = value
		case "event":
			ev.Event = value
		case "data":
			ev.Data = value
		case "retry":
			ev.Retry = value
		}
	}
}

func (st *sseStream) close() { st.res.Body.Close(); <-st.done }

// eventWithin bounds the wait for an event or the end of a stream where
// its arrival, not its latency, is the point: generous, because a loaded
// machine can take seconds, and an event that never comes still fails.
const eventWithin = 15 * time.Second

// next returns the next event that is not a ping.
func (st *sseStream) next(tb testing.TB, within time.Duration) sseEvent {
	tb.Helper()
	deadline := time.After(within)
	for {
		select {
		case ev, ok := <-st.events:
			if !ok {
				tb.Fatalf("the stream ended, want an event")
			}
			if ev.Comment == "ping" {
				continue
			}
			return ev
		case <-deadline:
			tb.Fatalf("no event within %v", within)
		}
	}
}

// pings takes what arrived so far, which must be pings only, and counts them.
func (st *sseStream) pings(tb testing.TB) int {
	tb.Helper()
	n := 0
	for {
		select {
		case ev, ok := <-st.events:
			if !ok {
				tb.Fatal("the stream ended, want it open")
			}
			if ev.Comment != "ping" {
				tb.Fatalf("got %+v, want only pings", ev)
			}
			n++
		default:
			return n
		}
	}
}

// waitPings waits for n pings and fails if anything else arrives first.
func (st *sseStream) waitPings(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.After(eventWithin)
	for seen := 0; seen < n; {
		select {
		case ev, ok := <-st.events:
			if !ok {
				tb.Fatalf("the stream ended after %d pings, want %d", seen, n)
			}
			if ev.Comment != "ping" {
				tb.Fatalf("got %+v, want pings", ev)
			}
			seen++
		case <-deadline:
			tb.Fatalf("got %d pings within %v, want %d", seen, eventWithin, n)
		}
	}
}

// quiet fails if an event other than a ping arrives within d.
func (st *sseStream) quiet(tb testing.TB, d time.Duration) {
	tb.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-st.events:
			if !ok {
				tb.Fatalf("the stream ended, want it open")
			}
			if ev.Comment != "ping" {
				tb.Fatalf("got %+v, want nothing", ev)
			}
		case <-deadline:
			return
		}
	}
}

// ended fails unless the server ends the stream within d.
func (st *sseStream) ended(tb testing.TB, d time.Duration) {
	tb.Helper()
	select {
	case <-st.done:
	case <-time.After(d):
		tb.Fatalf("the stream is still open after %v, want it ended", d)
	}
}
