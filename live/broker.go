package live

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/wasessions/gateway/supabase"
)

// Source is the session history the broker reads; *supabase.Client
// satisfies it.
type Source interface {
	// EventsSince reads the entries above after or among gaps, oldest first.
	EventsSince(ctx context.Context, after int64, gaps []int64, limit int) ([]supabase.SessionEvent, error)
	// LatestEvents reads the newest entries, newest first (their ids suffice).
	LatestEvents(ctx context.Context, limit int) ([]supabase.SessionEvent, error)
}

var _ Source = (*supabase.Client)(nil)

// Why a stream cannot open.
var (
	// ErrFull refuses a stream over Config.MaxClients.
	ErrFull = errors.New("live: too many open streams on this replica")
	// ErrClosed refuses a stream while the replica shuts down.
	ErrClosed = errors.New("live: the replica is shutting down")
)

// Config configures a Broker; zero fields take the defaults below.
type Config struct {
	Source       Source
	PollInterval time.Duration // default 1s
	Heartbeat    time.Duration // comment line on every stream, default 15s
	MaxClients   int           // default 10000
	Log          *zap.Logger   // default no logging
	BatchSize    int           // entries per read, default 500
	MaxGaps      int           // gaps asked for again, default 256
	GapTTL       time.Duration // how long a gap is asked for, default 30s
	WriteTimeout time.Duration // for one write to a client, default 10s
	MaxPending   int           // bytes queued for a slow client before it is dropped, default 64 KiB
}

// Broker fans the history out to the open streams of one replica. Its
// methods are safe for concurrent use.
type Broker struct {
	cfg        Config
	poke       chan struct{}
	goroutines atomic.Int64 // of the streams: readers and writers

	mu       sync.Mutex
	subs     map[int64]map[*Stream]struct{}
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
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 15 * time.Second
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
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 64 << 10
	}
	return &Broker{
		cfg:  cfg,
		poke: make(chan struct{}, 1),
		subs: make(map[int64]map[*Stream]struct{}),
		cur:  newCursor(cfg.MaxGaps, cfg.GapTTL),
	}
}

// Open takes a place for a stream of sessionID's entries, which are
// kept from the moment Open returns until the caller attaches the stream
// to its connection (or closes it). When it is the first stream of the
// replica, it first places the history cursor (one read), so that the
// caller's snapshot, read after Open returns, misses nothing that follows.
func (b *Broker) Open(ctx context.Context, sessionID int64) (*Stream, error) {
	s := &Stream{b: b, sessionID: sessionID}
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
		set = make(map[*Stream]struct{}, 1)
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

// OpenStreams is the number of open streams.
func (b *Broker) OpenStreams() int {
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

// Drain ends every stream with a retry: hint and refuses new ones: the
// replica is shutting down and its clients should reconnect elsewhere.
func (b *Broker) Drain() {
	b.mu.Lock()
	b.draining = true
	streams := b.allLocked()
	b.mu.Unlock()
	for _, s := range streams {
		s.end(appendRetry(nil, reconnectDelay()))
	}
}

// Wait returns when every stream has ended and its goroutines are gone.
// If ctx ends first, the streams still open belong to clients that have
// not taken their last frame (a write can block for WriteTimeout): they are
// closed then, so a stuck client never makes the shutdown fail, and Wait
// returns once their goroutines are gone, which closing the connection
// makes immediate. It returns an error only if they are not gone within
// forcedCloseWait.
func (b *Broker) Wait(ctx context.Context) error {
	if b.waitIdle(ctx) {
		return nil
	}
	b.mu.Lock()
	streams := b.allLocked()
	b.mu.Unlock()
	for _, s := range streams {
		s.Close()
	}
	if len(streams) > 0 {
		b.cfg.Log.Warn("closed live streams whose clients did not take their last frame in time", zap.Int("streams", len(streams)))
	}
	forced, cancel := context.WithTimeout(context.Background(), forcedCloseWait)
	defer cancel()
	if b.waitIdle(forced) {
		return nil
	}
	return fmt.Errorf("live: %d stream goroutines still running %v after closing the streams", b.goroutines.Load(), forcedCloseWait)
}

// forcedCloseWait bounds the wait for a closed stream's goroutines, which
// return as soon as their connection's Write or Read fails.
const forcedCloseWait = 2 * time.Second

// waitIdle polls until no stream is open and no stream goroutine runs
// (true), or until ctx ends (false).
func (b *Broker) waitIdle(ctx context.Context) bool {
	for b.OpenStreams() > 0 || b.goroutines.Load() > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return true
}

// Run reads the history every PollInterval, and at once after Poke, while
// any stream is open, and pings every stream each Heartbeat, until ctx
// ends.
func (b *Broker) Run(ctx context.Context) {
	tick := time.NewTicker(b.cfg.PollInterval)
	defer tick.Stop()
	heartbeat := time.NewTicker(b.cfg.Heartbeat)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-heartbeat.C:
			b.mu.Lock()
			streams := b.allLocked()
			b.mu.Unlock()
			for _, s := range streams {
				s.ping()
			}
			continue
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
	if b.OpenStreams() == 0 {
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
		s.deliver(e)
	}
}

func (b *Broker) allLocked() []*Stream {
	all := make([]*Stream, 0, b.open)
	for _, set := range b.subs {
		for s := range set {
			all = append(all, s)
		}
	}
	return all
}

// remove frees a closed stream's place.
func (b *Broker) remove(s *Stream) {
	b.mu.Lock()
	defer b.mu.Unlock()
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
