package live_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wasessions/gateway/live"
	"github.com/wasessions/gateway/supabase"
)

// history is an in-memory session history that, like the database, can
// hold an entry back (its transaction not committed yet) while later ones
// are visible. It counts the reads the broker makes.
type history struct {
	mu      sync.Mutex
	entries map[int64]supabase.SessionEvent
	hidden  map[int64]bool
	reads   int
}

func newHistory() *history {
	return &history{entries: map[int64]supabase.SessionEvent{}, hidden: map[int64]bool{}}
}

func (h *history) add(id, session int64, row string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var raw json.RawMessage
	if row != "" {
		raw = json.RawMessage(row)
	}
	h.entries[id] = supabase.SessionEvent{ID: id, SessionID: session, Row: raw}
}

func (h *history) hide(id int64, hidden bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hidden[id] = hidden
}

func (h *history) readCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reads
}

func (h *history) visible() []supabase.SessionEvent {
	var out []supabase.SessionEvent
	for id, e := range h.entries {
		if !h.hidden[id] {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (h *history) EventsSince(_ context.Context, after int64, gaps []int64, limit int) ([]supabase.SessionEvent, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads++
	asked := map[int64]bool{}
	for _, g := range gaps {
		asked[g] = true
	}
	var out []supabase.SessionEvent
	for _, e := range h.visible() {
		if (e.ID > after || asked[e.ID]) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (h *history) LatestEvents(_ context.Context, limit int) ([]supabase.SessionEvent, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.reads++
	v := h.visible()
	var out []supabase.SessionEvent
	for i := len(v) - 1; i >= 0 && len(out) < limit; i-- {
		out = append(out, v[i])
	}
	return out, nil
}

// runBroker runs b until the test ends.
func runBroker(t *testing.T, b *live.Broker) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// client is the far end of a stream's connection: it collects the frames.
type client struct {
	frames chan string
	conn   net.Conn
}

// open opens and attaches a stream of session over an in-memory
// connection whose far end the test reads.
func open(t *testing.T, b *live.Broker, session int64) *client {
	t.Helper()
	s, err := b.Open(context.Background(), session)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	near, far := net.Pipe()
	c := &client{frames: make(chan string, 100), conn: far}
	go func() {
		defer close(c.frames)
		r := bufio.NewReader(far)
		var frame strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			if line == "\n" {
				c.frames <- frame.String()
				frame.Reset()
				continue
			}
			frame.WriteString(line)
		}
	}()
	s.Attach(near, []byte("HEAD\n\n"), nil, 0, time.Time{})
	if f := c.next(t); f != "HEAD\n" {
		t.Fatalf("got %q first, want the head", f)
	}
	t.Cleanup(func() { far.Close() })
	return c
}

// frameWithin bounds the wait for a frame or a stream's end: the arrival
// is checked, not its speed, so generous for a loaded machine.
const frameWithin = 15 * time.Second

// next returns the next frame that is not a ping.
func (c *client) next(t *testing.T) string {
	t.Helper()
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				t.Fatal("the stream ended")
			}
			if f != ": ping\n" {
				return f
			}
		case <-time.After(frameWithin):
			t.Fatalf("no frame within %v", frameWithin)
		}
	}
}

func (c *client) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case f, ok := <-c.frames:
		if ok {
			t.Fatalf("got %q, want nothing", f)
		}
	case <-time.After(d):
	}
}

func (c *client) ended(t *testing.T) {
	t.Helper()
	deadline := time.After(frameWithin)
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("the stream did not end")
		}
	}
}

func TestBrokerDeliversToTheSessionsStreams(t *testing.T) {
	h := newHistory()
	h.add(1, 10, `{"id":10}`)
	b := live.New(live.Config{Source: h, PollInterval: time.Hour})
	runBroker(t, b)
	a1, a2, other := open(t, b, 10), open(t, b, 10), open(t, b, 20)

	h.add(2, 10, `{"id":10,"status":"connected"}`)
	b.Poke()
	want := "id: 2\nevent: session\ndata: {\"id\":10,\"status\":\"connected\"}\n"
	for _, c := range []*client{a1, a2} {
		if f := c.next(t); f != want {
			t.Fatalf("got %q, want %q", f, want)
		}
	}
	other.quiet(t, 50*time.Millisecond)

	h.add(3, 10, "")
	b.Poke()
	if f := a1.next(t); f != "id: 3\nevent: deleted\ndata: {\"id\":10}\n" {
		t.Fatalf("got %q, want the deleted event", f)
	}
	a1.ended(t)
	a2.ended(t)
	waitFor(t, func() bool { return b.OpenStreams() == 1 })
}

// The entry a slower transaction took first (id 3) commits after a later
// one (id 4): a poll for "id > cursor" alone would never return it.
func TestBrokerOutOfOrderCommit(t *testing.T) {
	h := newHistory()
	h.add(1, 10, `{}`)
	b := live.New(live.Config{Source: h, PollInterval: time.Hour})
	runBroker(t, b)
	c := open(t, b, 10)

	h.add(3, 10, `{"n":3}`)
	h.hide(3, true)
	h.add(4, 20, `{"n":4}`)
	b.Poke()
	waitFor(t, func() bool { return h.readCount() >= 2 })
	h.hide(3, false)
	b.Poke()
	if f := c.next(t); !strings.HasPrefix(f, "id: 3\n") {
		t.Fatalf("got %q, want entry 3", f)
	}
	b.Poke()
	c.quiet(t, 100*time.Millisecond)
}

func TestBrokerOneReadPerIntervalWhateverTheStreams(t *testing.T) {
	const interval = 40 * time.Millisecond
	const intervals = 10
	for _, streams := range []int{0, 1, 500} {
		h := newHistory()
		h.add(1, 1, `{}`)
		b := live.New(live.Config{Source: h, PollInterval: interval})
		for i := range streams {
			if _, err := b.Open(context.Background(), int64(i)); err != nil {
				t.Fatal(err)
			}
		}
		before, start := h.readCount(), time.Now()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); b.Run(ctx) }()
		if streams == 0 {
			time.Sleep(intervals*interval + interval/2)
		} else {
			// Wait for intervals reads however long a loaded machine takes
			// (a fixed sleep saw ticks slip, or oversleep and count more).
			waitFor(t, func() bool { return h.readCount()-before >= intervals })
		}
		cancel()
		<-done
		reads, elapsed := h.readCount()-before, time.Since(start)
		if streams == 0 && reads != 0 {
			t.Errorf("%d streams: got %d reads, want none", streams, reads)
		}
		// Never more than one per tick of the time that really passed.
		if ticks := int(elapsed / interval); streams > 0 && reads > ticks {
			t.Errorf("%d streams: got %d reads in %v, %d ticks; want one per interval", streams, reads, elapsed, ticks)
		}
	}
}

func TestBrokerCap(t *testing.T) {
	b := live.New(live.Config{Source: newHistory(), MaxClients: 2})
	c1 := open(t, b, 1)
	open(t, b, 2)
	if _, err := b.Open(context.Background(), 3); !errors.Is(err, live.ErrFull) {
		t.Fatalf("got %v, want ErrFull", err)
	}
	c1.conn.Close() // the client leaves
	waitFor(t, func() bool { return b.OpenStreams() == 1 })
	open(t, b, 3)
	b.Drain()
	if err := b.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestBrokerDrainEndsEveryStreamWithARetryHint(t *testing.T) {
	b := live.New(live.Config{Source: newHistory()})
	c1, c2 := open(t, b, 1), open(t, b, 1)
	b.Drain()
	for _, c := range []*client{c1, c2} {
		if f := c.next(t); !strings.HasPrefix(f, "retry: ") {
			t.Fatalf("got %q, want a retry hint", f)
		}
		c.ended(t)
	}
	if _, err := b.Open(context.Background(), 1); !errors.Is(err, live.ErrClosed) {
		t.Fatalf("open while draining: got %v, want ErrClosed", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := b.Wait(ctx); err != nil {
		t.Fatalf("wait: %v", err)
	}
}

// A client that never takes its last frame cannot hold the shutdown past
// its grace, nor make it fail: when Wait's context ends, the streams still
// open are closed and Wait returns cleanly once their goroutines are gone.
func TestBrokerWaitClosesStreamsStuckPastTheGrace(t *testing.T) {
	b := live.New(live.Config{Source: newHistory(), PollInterval: time.Hour, WriteTimeout: time.Hour})
	runBroker(t, b)
	s, err := b.Open(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	near, far := net.Pipe() // nobody reads far: every write blocks
	defer far.Close()
	s.Attach(near, []byte("HEAD\n\n"), nil, 0, time.Time{})
	reader := open(t, b, 1)
	b.Drain()
	if f := reader.next(t); !strings.HasPrefix(f, "retry: ") {
		t.Fatalf("got %q, want a retry hint", f)
	}
	reader.ended(t)
	grace, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := b.Wait(grace); err != nil {
		t.Fatalf("wait with a stuck client: %v, want the stream closed and a clean return", err)
	}
	if n := b.OpenStreams(); n != 0 {
		t.Fatalf("%d streams still open after Wait", n)
	}
	// The stuck stream's connection was closed: its far end reads EOF.
	_ = far.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(far); err != nil {
		t.Fatalf("far end: %v, want the connection closed (EOF)", err)
	}
}

// A client that stops reading is dropped once its backlog passes
// MaxPending, and its write times out; it does not hold the others up.
func TestBrokerDropsAClientThatDoesNotRead(t *testing.T) {
	h := newHistory()
	b := live.New(live.Config{Source: h, PollInterval: time.Hour, MaxPending: 200, WriteTimeout: 100 * time.Millisecond})
	runBroker(t, b)
	s, err := b.Open(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	near, far := net.Pipe() // nobody reads far
	defer far.Close()
	s.Attach(near, []byte("HEAD\n\n"), nil, 0, time.Time{})
	reader := open(t, b, 1)
	for id := int64(1); id <= 5; id++ {
		h.add(id, 1, `{"padding":"`+strings.Repeat("x", 60)+`"}`)
		b.Poke()
		if f := reader.next(t); !strings.HasPrefix(f, "id: "+strconv.FormatInt(id, 10)+"\n") {
			t.Fatalf("got %q, want entry %d", f, id)
		}
	}
	waitFor(t, func() bool { return b.OpenStreams() == 1 })
}

// After the last stream closes the position is forgotten: the next first
// stream starts from the newest entries, not from an hour-old cursor.
func TestBrokerRestartsFromTheNewestAfterIdle(t *testing.T) {
	h := newHistory()
	b := live.New(live.Config{Source: h, PollInterval: 10 * time.Millisecond, BatchSize: 2})
	runBroker(t, b)
	c := open(t, b, 1)
	c.conn.Close()
	waitFor(t, func() bool { r := h.readCount(); time.Sleep(30 * time.Millisecond); return h.readCount() == r })
	for id := int64(1); id <= 100; id++ {
		h.add(id, 2, `{}`)
	}
	before := h.readCount()
	c = open(t, b, 1)
	h.add(101, 1, `{}`)
	b.Poke()
	if f := c.next(t); !strings.HasPrefix(f, "id: 101\n") {
		t.Fatalf("got %q, want entry 101", f)
	}
	if reads := h.readCount() - before; reads > 3 {
		t.Fatalf("got %d reads to reach the newest entry, want at most 3", reads)
	}
}

// waitFor polls cond for up to 15s: generous, because a loaded machine can
// be slow, and a condition that never holds still fails.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 15s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
