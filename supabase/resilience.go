package supabase

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/sony/gobreaker/v2"
)

// CallObserver is told about every upstream attempt: the operation (list,
// get, create, update, delete, connect, ready), its outcome (ok, an error
// code, or "short_circuit") and how long it took.
type CallObserver func(operation, outcome string, d time.Duration)

// ResilienceConfig tunes retries and the circuit breaker.
type ResilienceConfig struct {
	// ReadRetries is how many more times a read is tried after Supabase
	// was unreachable or answered 5xx, within the same deadline. Writes are
	// never retried by the gateway: see call.
	ReadRetries int
	// RetryBackoff is the first pause between read attempts; it doubles,
	// with full jitter.
	RetryBackoff time.Duration
	// BreakerFailures consecutive upstream failures open the breaker.
	BreakerFailures uint32
	// BreakerOpen is how long calls fail fast before one is let through.
	BreakerOpen time.Duration
}

// DefaultResilience is what production uses unless configured otherwise.
var DefaultResilience = ResilienceConfig{ReadRetries: 2, RetryBackoff: 50 * time.Millisecond, BreakerFailures: 5, BreakerOpen: 5 * time.Second}

func newBreaker(cfg ResilienceConfig) *gobreaker.CircuitBreaker[struct{}] {
	return gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
		Name:        "supabase",
		MaxRequests: 1,
		Timeout:     cfg.BreakerOpen,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= cfg.BreakerFailures },
		// Only Supabase being down or slow counts; a 404 or a conflict is a
		// healthy answer.
		IsSuccessful: func(err error) bool { return !isUpstreamFailure(err) },
		// A caller that hung up says nothing about Supabase.
		IsExcluded: func(err error) bool { return errors.Is(err, context.Canceled) },
	})
}

func isUpstreamFailure(err error) bool {
	switch ErrorCode(err) {
	case CodeUpstreamUnavailable, CodeUpstreamTimeout:
		return err != nil
	}
	return false
}

// call runs one logical operation against Supabase: bounded, retries
// included, by one deadline of the configured timeout (so a slow Supabase
// gives 504 well inside the server's write timeout), guarded by the circuit
// breaker, observed, and, for reads only, retried with backoff and jitter
// when Supabase was unreachable or answered 5xx. A timeout is not retried:
// the deadline is spent. Writes are never retried: a create or webhook
// whose answer was lost may have been applied, and the caller (frontend or
// orchestrator) owns that decision.
func (c *Client) call(ctx context.Context, op string, read bool, fn func(ctx context.Context) error) error {
	ctx, cancel := c.withDeadline(ctx)
	defer cancel()
	return c.attempts(ctx, op, read, fn)
}

// attempts is call within a deadline the caller set.
func (c *Client) attempts(ctx context.Context, op string, read bool, fn func(ctx context.Context) error) error {
	stats := callStatsFrom(ctx)
	retries := 0
	if read {
		retries = c.resilience.ReadRetries
	}
	backoff := c.resilience.RetryBackoff
	for attempt := 0; ; attempt++ {
		start := time.Now()
		_, err := c.breaker.Execute(func() (struct{}, error) { return struct{}{}, fn(ctx) })
		if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
			c.observe(op, "short_circuit", 0)
			return &Error{Code: CodeUpstreamUnavailable, Message: "Supabase is failing; the gateway is pausing calls for a few seconds, try again shortly", Err: err}
		}
		elapsed := time.Since(start)
		if stats != nil {
			stats.add(elapsed)
		}
		c.observe(op, outcomeOf(err), elapsed)
		if err == nil || attempt >= retries || ErrorCode(err) != CodeUpstreamUnavailable || ctx.Err() != nil {
			return err
		}
		// Full jitter: replicas that failed together do not retry together.
		pause := time.Duration(rand.Int64N(int64(backoff) + 1))
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			return err
		}
		backoff *= 2
	}
}

func (c *Client) observe(op, outcome string, d time.Duration) {
	if c.observer != nil {
		c.observer(op, outcome, d)
	}
}

func outcomeOf(err error) string {
	if err == nil {
		return "ok"
	}
	return string(ErrorCode(err))
}

type ctxKey struct{}

// CallStats is what one incoming request carries to its upstream calls: its
// id, sent to Supabase as X-Request-ID, and the time it spent waiting for
// Supabase, for the access log. One context value holds both, so the
// request is copied once.
type CallStats struct {
	RequestID string
	nanos     atomic.Int64
}

// WithCallStats returns a context whose upstream calls carry requestID and
// are timed into the returned CallStats.
func WithCallStats(ctx context.Context, requestID string) (context.Context, *CallStats) {
	s := &CallStats{RequestID: requestID}
	return context.WithValue(ctx, ctxKey{}, s), s
}

func callStatsFrom(ctx context.Context) *CallStats {
	s, _ := ctx.Value(ctxKey{}).(*CallStats)
	return s
}

func requestIDFrom(ctx context.Context) string {
	if s := callStatsFrom(ctx); s != nil {
		return s.RequestID
	}
	return ""
}

func (s *CallStats) add(d time.Duration) { s.nanos.Add(int64(d)) }

// Upstream is the total time spent in upstream calls so far.
func (s *CallStats) Upstream() time.Duration { return time.Duration(s.nanos.Load()) }
