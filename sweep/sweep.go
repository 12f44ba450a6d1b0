// Package sweep runs the gateway's periodic database chores: it expires
// WhatsApp sessions left pending for longer than PENDING_TTL, and prunes
// history entries older than HISTORY_RETENTION. Every replica runs its own
// sweeper; the database functions it calls make any number of concurrent
// sweeps safe (each session is expired, and recorded, once).
package sweep

import (
	"context"
	"encoding/json"
	"time"

	"go.uber.org/zap"

	"github.com/wasessions/gateway/supabase"
)

// Store is what a sweep needs from the database. *supabase.Client
// satisfies it.
type Store interface {
	ExpirePendingSessions(ctx context.Context, ttl time.Duration, limit int) ([]json.RawMessage, error)
	PruneSessionEvents(ctx context.Context, retention time.Duration, limit int) (int, error)
}

var _ Store = (*supabase.Client)(nil)

// DefaultBatch is how many rows one database call expires or prunes.
const DefaultBatch = 1000

// maxBatches bounds the calls of one sweep, so a huge backlog is worked
// off over several ticks instead of holding one replica busy.
const maxBatches = 10

// Config says what to sweep and how often.
type Config struct {
	// PendingTTL is how long a session may stay pending; 0 disables expiry.
	PendingTTL time.Duration
	// Retention is how long history entries are kept; 0 keeps them all.
	Retention time.Duration
	// Interval is the time between sweeps.
	Interval time.Duration
	// Batch is the rows per database call; 0 means DefaultBatch.
	Batch int
	Log   *zap.Logger
	// OnExpired, if set, is given the rows each call expired, as stored
	// afterwards (e.g. for the live status stream).
	OnExpired func(rows []json.RawMessage)
	// ObserveExpired and ObservePruned, if set, count the rows.
	ObserveExpired func(n int)
	ObservePruned  func(n int)
}

// Sweeper expires and prunes on a timer. Create it with New.
type Sweeper struct {
	store Store
	cfg   Config
}

// New returns a Sweeper over store.
func New(store Store, cfg Config) *Sweeper {
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	return &Sweeper{store: store, cfg: cfg}
}

// Enabled reports whether there is anything to sweep.
func (s *Sweeper) Enabled() bool {
	return s.cfg.Interval > 0 && (s.cfg.PendingTTL > 0 || s.cfg.Retention > 0)
}

// Run sweeps once, then every Interval, until ctx ends. A failed sweep is
// logged and tried again at the next tick.
func (s *Sweeper) Run(ctx context.Context) {
	if !s.Enabled() {
		return
	}
	ticker := time.NewTicker(s.cfg.Interval)
	defer ticker.Stop()
	for {
		if _, _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("sweep failed; trying again at the next tick", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Sweep expires what is due and prunes what is old, and says how many
// rows of each it handled.
func (s *Sweeper) Sweep(ctx context.Context) (expired, pruned int, err error) {
	if s.cfg.PendingTTL > 0 {
		for range maxBatches {
			rows, err := s.store.ExpirePendingSessions(ctx, s.cfg.PendingTTL, s.cfg.Batch)
			if err != nil {
				return expired, pruned, err
			}
			expired += len(rows)
			if len(rows) > 0 {
				s.cfg.Log.Info("expired pending sessions", zap.Int("count", len(rows)), zap.Duration("pending_ttl", s.cfg.PendingTTL))
				if s.cfg.ObserveExpired != nil {
					s.cfg.ObserveExpired(len(rows))
				}
				if s.cfg.OnExpired != nil {
					s.cfg.OnExpired(rows)
				}
			}
			if len(rows) < s.cfg.Batch {
				break
			}
		}
	}
	if s.cfg.Retention > 0 {
		for range maxBatches {
			n, err := s.store.PruneSessionEvents(ctx, s.cfg.Retention, s.cfg.Batch)
			if err != nil {
				return expired, pruned, err
			}
			pruned += n
			if n > 0 && s.cfg.ObservePruned != nil {
				s.cfg.ObservePruned(n)
			}
			if n < s.cfg.Batch {
				break
			}
		}
	}
	return expired, pruned, nil
}
