package live_test

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
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

func subscribe(t *testing.T, b *live.Broker, session int64) *live.Subscription {
	t.Helper()
	s, err := b.Subscribe(context.Background(), session)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func next(t *testing.T, s *live.Subscription) supabase.SessionEvent {
	t.Helper()
	select {
	case e := <-s.Events():
		return e
	case <-time.After(2 * time.Second):
		t.Fatal("no entry within 2s")
		return supabase.SessionEvent{}
	}
}

func TestBrokerDeliversToTheSessionsSubscribers(t *testing.T) {
	h := newHistory()
	h.add(1, 10, `{"id":10}`)
	b := live.New(live.Config{Source: h, PollInterval: time.Hour})
	runBroker(t, b)
	a1, a2, other := subscribe(t, b, 10), subscribe(t, b, 10), subscribe(t, b, 20)

	h.add(2, 10, `{"id":10,"status":"connected"}`)
	b.Poke()
	for _, s := range []*live.Subscription{a1, a2} {
		if e := next(t, s); e.ID != 2 || string(e.Row) != `{"id":10,"status":"connected"}` {
			t.Fatalf("got %+v, want entry 2", e)
		}
	}
	select {
	case e := <-other.Events():
		t.Fatalf("a subscriber of session 20 got %+v", e)
	case <-time.After(50 * time.Millisecond):
	}
}

// The entry a slower transaction took first (id 3) commits after a later
// one (id 4): a poll for "id > cursor" alone would never return it.
func TestBrokerOutOfOrderCommit(t *testing.T) {
	h := newHistory()
	h.add(1, 10, `{}`)
	b := live.New(live.Config{Source: h, PollInterval: time.Hour})
	runBroker(t, b)
	s := subscribe(t, b, 10)

	h.add(3, 10, `{"n":3}`)
	h.hide(3, true)
	h.add(4, 20, `{"n":4}`)
	b.Poke()
	waitFor(t, func() bool { return h.readCount() >= 2 })
	h.hide(3, false)
	b.Poke()
	if e := next(t, s); e.ID != 3 {
		t.Fatalf("got entry %d, want 3", e.ID)
	}
	b.Poke()
	select {
	case e := <-s.Events():
		t.Fatalf("entry %d delivered twice", e.ID)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestBrokerOneReadPerIntervalWhateverTheStreams(t *testing.T) {
	const interval = 40 * time.Millisecond
	const intervals = 10
	for _, streams := range []int{0, 1, 500} {
		h := newHistory()
		h.add(1, 1, `{}`)
		b := live.New(live.Config{Source: h, PollInterval: interval})
		for i := range streams {
			subscribe(t, b, int64(i))
		}
		before := h.readCount()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); b.Run(ctx) }()
		time.Sleep(intervals*interval + interval/2)
		cancel()
		<-done
		reads := h.readCount() - before
		if streams == 0 && reads != 0 {
			t.Errorf("%d streams: got %d reads, want none", streams, reads)
		}
		// A loaded machine may let a tick slip; never more than one per tick.
		if streams > 0 && (reads < intervals-3 || reads > intervals) {
			t.Errorf("%d streams: got %d reads in %d intervals, want one per interval", streams, reads, intervals)
		}
	}
}

func TestBrokerCap(t *testing.T) {
	b := live.New(live.Config{Source: newHistory(), MaxClients: 2})
	s1 := subscribe(t, b, 1)
	subscribe(t, b, 2)
	if _, err := b.Subscribe(context.Background(), 3); !errors.Is(err, live.ErrFull) {
		t.Fatalf("got %v, want ErrFull", err)
	}
	s1.Close()
	subscribe(t, b, 3)
}

func TestBrokerDrainEndsEverySubscription(t *testing.T) {
	b := live.New(live.Config{Source: newHistory()})
	s1, s2 := subscribe(t, b, 1), subscribe(t, b, 1)
	b.Drain()
	for _, s := range []*live.Subscription{s1, s2} {
		select {
		case <-s.Ended():
		case <-time.After(time.Second):
			t.Fatal("subscription not ended")
		}
		if !errors.Is(s.Err(), live.ErrClosed) {
			t.Fatalf("got %v, want ErrClosed", s.Err())
		}
	}
	if _, err := b.Subscribe(context.Background(), 1); !errors.Is(err, live.ErrClosed) {
		t.Fatalf("subscribe while draining: got %v, want ErrClosed", err)
	}
	if b.Open() != 0 {
		t.Fatalf("got %d open, want 0", b.Open())
	}
}

func TestBrokerEndsALaggingSubscription(t *testing.T) {
	h := newHistory()
	b := live.New(live.Config{Source: h, PollInterval: time.Hour, Buffer: 2})
	runBroker(t, b)
	s := subscribe(t, b, 1)
	for id := int64(1); id <= 3; id++ {
		h.add(id, 1, `{}`)
	}
	b.Poke()
	select {
	case <-s.Ended():
	case <-time.After(2 * time.Second):
		t.Fatal("a subscriber that does not read was not ended")
	}
	if !errors.Is(s.Err(), live.ErrLagging) {
		t.Fatalf("got %v, want ErrLagging", s.Err())
	}
}

// After the last stream closes the position is forgotten: the next first
// stream starts from the newest entries, not from an hour-old cursor.
func TestBrokerRestartsFromTheNewestAfterIdle(t *testing.T) {
	h := newHistory()
	b := live.New(live.Config{Source: h, PollInterval: 10 * time.Millisecond, BatchSize: 2})
	runBroker(t, b)
	s := subscribe(t, b, 1)
	s.Close()
	waitFor(t, func() bool { r := h.readCount(); time.Sleep(30 * time.Millisecond); return h.readCount() == r })
	for id := int64(1); id <= 100; id++ {
		h.add(id, 2, `{}`)
	}
	before := h.readCount()
	s = subscribe(t, b, 1)
	h.add(101, 1, `{}`)
	b.Poke()
	if e := next(t, s); e.ID != 101 {
		t.Fatalf("got %d, want 101", e.ID)
	}
	if reads := h.readCount() - before; reads > 3 {
		t.Fatalf("got %d reads to reach the newest entry, want at most 3", reads)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 3s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
