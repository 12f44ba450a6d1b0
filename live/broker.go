package live

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/wasessions/gateway/supabase"
)

// Source is the session history the broker reads; *supabase.Client
// satisfies it.
type Source interface {
	// EventsSince reads the entries above after or among gaps, oldest first.
	EventsSince(ctx context.Context, after int64, gaps []int64, limit int) ([]supabase.SessionEvent, error)
	// LatestEvents reads the newest entries, newest first.
	LatestEvents(ctx context.Context, limit int) ([]supabase.SessionEvent, error)
}

var _ Source = (*supabase.Client)(nil)

// The reasons a subscription ends from the broker's side.
var (
	// ErrFull refuses a subscription over Config.MaxClients.
	ErrFull = errors.New("live: too many open streams on this replica")
	// ErrClosed ends every subscription when the replica shuts down, and
	// refuses new ones.
	ErrClosed = errors.New("live: the replica is shutting down")
	// ErrLagging ends a subscription whose reader fell behind; the client
	// catches up by reconnecting with Last-Event-ID.
	ErrLagging = errors.New("live: the stream fell behind")
)

// Config configures a Broker; zero fields take the defaults below.
type Config struct {
	Source       Source
	PollInterval time.Duration // default 1s
	MaxClients   int           // default 10000
	Log          *zap.Logger   // default no logging
	BatchSize    int           // entries per read, default 500
	MaxGaps      int           // gaps asked for again, default 256
	GapTTL       time.Duration // how long a gap is asked for, default 30s
	Buffer       int           // entries queued per subscription, default 16
}

// Broker fans the history out to the open streams of one replica. Its
// methods are safe for concurrent use.
type Broker struct {
	cfg  Config
	poke chan struct{}

	mu       sync.Mutex
	subs     map[int64]map[*Subscription]struct{}
	open     int
	draining bool

	readMu sync.Mutex // one read at a time; guards cur
	cur    *cursor
}

// New builds a Broker; Run makes it read.
func New(cfg Config) *Broker {
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = 10000
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.MaxGaps <= 0 {
		cfg.MaxGaps = 256
	}
	if cfg.GapTTL <= 0 {
		cfg.GapTTL = 30 * time.Second
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 16
	}
	return &Broker{
		cfg:  cfg,
		poke: make(chan struct{}, 1),
		subs: make(map[int64]map[*Subscription]struct{}),
		cur:  newCursor(cfg.MaxGaps, cfg.GapTTL),
	}
}

// Subscription receives the history entries of one session from the
// moment Subscribe returns.
type Subscription struct {
	sessionID  int64
	events     chan supabase.SessionEvent
	ended      chan struct{}
	err        error // why it ended; written before ended closes
	registered bool  // guarded by the broker's mu
	b          *Broker
}

// Events delivers the session's entries in id order.
func (s *Subscription) Events() <-chan supabase.SessionEvent { return s.events }

// Ended is closed when the broker ends the subscription (Err says why).
func (s *Subscription) Ended() <-chan struct{} { return s.ended }

// Err is why the subscription ended: ErrClosed or ErrLagging.
func (s *Subscription) Err() error {
	<-s.ended
	return s.err
}

// Close gives the subscription's place back; the stream is over.
func (s *Subscription) Close() {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.removeLocked(s)
}

// Subscribe opens a subscription to the entries of sessionID. When it is
// the first of the replica, it first places the history cursor (one read),
// so that the caller's snapshot, read after Subscribe returns, misses
// nothing that follows.
func (b *Broker) Subscribe(ctx context.Context, sessionID int64) (*Subscription, error) {
	s := &Subscription{
		sessionID: sessionID,
		events:    make(chan supabase.SessionEvent, b.cfg.Buffer),
		ended:     make(chan struct{}),
		b:         b,
	}
	b.mu.Lock()
	switch {
	case b.draining:
		b.mu.Unlock()
		return nil, ErrClosed
	case b.open >= b.cfg.MaxClients:
		b.mu.Unlock()
		return nil, ErrFull
	}
	set := b.subs[sessionID]
	if set == nil {
		set = make(map[*Subscription]struct{}, 1)
		b.subs[sessionID] = set
	}
	set[s] = struct{}{}
	s.registered = true
	b.open++
	b.mu.Unlock()

	b.readMu.Lock()
	defer b.readMu.Unlock()
	if !b.cur.known {
		if err := b.startLocked(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Open is the number of open subscriptions.
func (b *Broker) Open() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.open
}

// Poke asks for a read at once: this replica has just committed a write.
func (b *Broker) Poke() {
	select {
	case b.poke <- struct{}{}:
	default: // a read is already due; it will see the write
	}
}

// Drain ends every subscription with ErrClosed and refuses new ones: the
// replica is shutting down and its clients should reconnect elsewhere.
func (b *Broker) Drain() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.draining = true
	for _, set := range b.subs {
		for s := range set {
			b.endLocked(s, ErrClosed)
		}
	}
}

// Run reads the history every PollInterval, and at once after Poke, while
// any subscription is open, until ctx ends.
func (b *Broker) Run(ctx context.Context) {
	tick := time.NewTicker(b.cfg.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-b.poke:
		}
		for b.poll(ctx) && ctx.Err() == nil {
		}
	}
}

// poll runs one read and delivers what it brings; more reports a full
// batch, so more entries are waiting.
func (b *Broker) poll(ctx context.Context) (more bool) {
	b.readMu.Lock()
	defer b.readMu.Unlock()
	if b.Open() == 0 {
		b.cur.reset()
		return false
	}
	if !b.cur.known {
		if err := b.startLocked(ctx); err != nil {
			b.cfg.Log.Warn("live: reading the session history failed", zap.Error(err))
		}
		return false
	}
	now := time.Now()
	events, err := b.cfg.Source.EventsSince(ctx, b.cur.at, b.cur.pending(now), b.cfg.BatchSize)
	if err != nil {
		if ctx.Err() == nil {
			b.cfg.Log.Warn("live: reading the session history failed", zap.Error(err))
		}
		return false
	}
	ids := make([]int64, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	fresh := b.cur.accept(ids, now)
	b.mu.Lock()
	for i, e := range events {
		if fresh[i] {
			b.deliverLocked(e)
		}
	}
	b.mu.Unlock()
	return len(events) == b.cfg.BatchSize
}

// startLocked places the cursor at the newest entries. They are not
// delivered: every open subscriber reads its snapshot after this.
func (b *Broker) startLocked(ctx context.Context) error {
	events, err := b.cfg.Source.LatestEvents(ctx, b.cfg.BatchSize)
	if err != nil {
		return err
	}
	ids := make([]int64, len(events))
	for i, e := range events {
		ids[i] = e.ID
	}
	b.cur.start(ids, time.Now())
	return nil
}

func (b *Broker) deliverLocked(e supabase.SessionEvent) {
	for s := range b.subs[e.SessionID] {
		select {
		case s.events <- e:
		default:
			b.endLocked(s, ErrLagging)
		}
	}
}

// endLocked ends s from the broker's side and frees its place.
func (b *Broker) endLocked(s *Subscription, why error) {
	if !s.registered {
		return
	}
	s.err = why
	close(s.ended)
	b.removeLocked(s)
}

func (b *Broker) removeLocked(s *Subscription) {
	if !s.registered {
		return
	}
	s.registered = false
	set := b.subs[s.sessionID]
	delete(set, s)
	if len(set) == 0 {
		delete(b.subs, s.sessionID)
	}
	b.open--
}
