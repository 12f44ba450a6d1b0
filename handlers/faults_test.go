package handlers_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/supabase"
)

// quickRetries makes retries and the breaker quick to provoke and to
// recover from. It keeps the normal deadline: a test about a 5xx must not
// turn into a timeout because a loaded machine answered slowly.
func quickRetries(d *handlers.Deps, c *supabase.ClientConfig) {
	c.Resilience = supabase.ResilienceConfig{ReadRetries: 1, RetryBackoff: time.Millisecond, BreakerFailures: 20, BreakerOpen: 150 * time.Millisecond}
}

// shortDeadline is the deadline of a step whose point is the deadline; it
// is far below the slow fault's delay, so the deadline always wins.
const shortDeadline = 300 * time.Millisecond

// gatewayWithDeadline serves a second gateway over s's upstream whose
// client gives each call timeout and quickRetries' resilience. Setup goes
// through s, with the normal deadline; only the step under test goes
// through the gateway returned, so a slow machine cannot spend a short
// deadline on setup.
func gatewayWithDeadline(tb testing.TB, s *stack, timeout time.Duration) *stack {
	tb.Helper()
	cfg := supabase.ClientConfig{URL: s.Upstream.URL, Key: s.Key, UserAgent: "gateway-test", Timeout: timeout}
	quickRetries(nil, &cfg)
	client, err := supabase.NewClient(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(client.Close)
	return newStackOver(tb, s, client)
}

// recoveryWithin bounds the polls that wait for the gateway to serve again;
// generous, because a loaded machine may need many polls, and a gateway
// that never recovers still fails.
const recoveryWithin = 15 * time.Second

// TestUpstreamFaults makes the PostgREST-protocol server misbehave in each
// way a real one does; every request must get the documented status fast,
// and the gateway must serve normally again once the upstream recovers.
func TestUpstreamFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fault    fault
		deadline time.Duration // of the calls under test
		status   int
		code     string
	}{
		{"slow", fault{delay: 2 * time.Second}, shortDeadline, http.StatusGatewayTimeout, "upstream_timeout"},
		{"5xx PostgREST error", fault{status: 503, body: `{"code":"08006","message":"connection to database failed","details":null,"hint":null}`}, 10 * time.Second, http.StatusBadGateway, "upstream_unavailable"},
		{"proxy HTML page", fault{status: 502, body: "<html><body>Bad Gateway</body></html>"}, 10 * time.Second, http.StatusBadGateway, "upstream_unavailable"},
		{"gateway timeout page", fault{status: 504, body: "upstream timed out"}, 10 * time.Second, http.StatusGatewayTimeout, "upstream_timeout"},
		{"cut mid-response", fault{cut: true}, 10 * time.Second, http.StatusBadGateway, "upstream_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			row := s.create(t, "fault_1")
			gw := gatewayWithDeadline(t, s, tt.deadline)

			s.Upstream.setFault(tt.fault)
			for _, path := range []string{"/api/whatsapp_sessions", "/api/whatsapp_sessions/" + itoa(row.ID)} {
				start := time.Now()
				r := gw.user(t, http.MethodGet, path, "")
				wantError(t, r, tt.status, tt.code)
				if strings.Contains(r.Raw, "08006") || strings.Contains(r.Raw, "html") || strings.Contains(r.Raw, "connection to database") {
					t.Errorf("got %s, want no upstream internals in the answer", r.Raw)
				}
				if took := time.Since(start); took > 5*time.Second {
					t.Errorf("took %v, want a bounded answer", took)
				}
			}
			write := gw.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(row.ID), `{"status":"connected"}`)
			if write.Status != tt.status && write.Status != http.StatusBadGateway {
				t.Errorf("write: got %d %s, want %d or a fail-fast 502", write.Status, write.Raw, tt.status)
			}

			s.Upstream.setFault(fault{})
			waitFor(t, recoveryWithin, func() bool {
				return gw.user(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(row.ID), "").Status == http.StatusOK
			})
		})
	}
}

// TestSlowReadIsNotRetriedPastItsDeadline: a read that timed out has spent
// the one deadline the whole call gets, so it is not tried again (which
// would outlive the server's write timeout and leave the caller with no
// answer at all).
func TestSlowReadIsNotRetriedPastItsDeadline(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	gw := gatewayWithDeadline(t, s, shortDeadline)
	s.Upstream.setFault(fault{delay: 2 * time.Second})
	before := len(s.Upstream.requests())
	wantError(t, gw.user(t, http.MethodGet, "/api/whatsapp_sessions", ""), http.StatusGatewayTimeout, "upstream_timeout")
	if calls := len(s.Upstream.requests()) - before; calls != 1 {
		t.Errorf("got %d upstream attempts, want 1", calls)
	}
}

// TestUnavailableReadIsRetried: a read that met a 5xx is tried again, and
// succeeds when the upstream recovered meanwhile.
func TestUnavailableReadIsRetried(t *testing.T) {
	t.Parallel()
	s := newStack(t, quickRetries)
	s.Upstream.setFault(fault{status: 503, body: `{}`})
	before := len(s.Upstream.requests())
	wantError(t, s.user(t, http.MethodGet, "/api/whatsapp_sessions", ""), http.StatusBadGateway, "upstream_unavailable")
	if calls := len(s.Upstream.requests()) - before; calls != 2 {
		t.Errorf("got %d upstream attempts, want 2 (one retry)", calls)
	}
	before = len(s.Upstream.requests())
	wantError(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/1", `{"status":"connected"}`), http.StatusBadGateway, "upstream_unavailable")
	if calls := len(s.Upstream.requests()) - before; calls != 1 {
		t.Errorf("got %d upstream attempts for a write, want 1: writes are never retried", calls)
	}
}

// TestUnreachableUpstreamThenRecovery points the gateway at a port where
// nothing listens, then starts the upstream there.
func TestUnreachableUpstreamThenRecovery(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	client, err := supabase.NewClient(supabase.ClientConfig{URL: "http://" + addr, Key: s.Key, Timeout: 10 * time.Second,
		Resilience: supabase.ResilienceConfig{ReadRetries: 1, RetryBackoff: time.Millisecond, BreakerFailures: 2, BreakerOpen: 100 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)
	gw := newStackOver(t, s, client)

	for i := 0; i < 4; i++ { // the last ones are refused by the open breaker
		wantError(t, gw.user(t, http.MethodGet, "/api/whatsapp_sessions", ""), http.StatusBadGateway, "upstream_unavailable")
	}
	// Supabase comes back on the same address.
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s was taken meanwhile: %v", addr, err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`[]`))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	waitFor(t, recoveryWithin, func() bool {
		return gw.user(t, http.MethodGet, "/api/whatsapp_sessions", "").Status == http.StatusOK
	})
}

// TestBreakerFailsFastAndRecovers checks that once Supabase has failed
// repeatedly the gateway stops calling it for a while, answering 502 at
// once, and that one successful probe closes the breaker again. The
// breaker stays open for seconds, so a machine that pauses between the
// third failure and the next call still finds it open.
func TestBreakerFailsFastAndRecovers(t *testing.T) {
	t.Parallel()
	s := newStack(t, func(d *handlers.Deps, c *supabase.ClientConfig) {
		c.Resilience = supabase.ResilienceConfig{ReadRetries: 0, RetryBackoff: time.Millisecond, BreakerFailures: 3, BreakerOpen: 3 * time.Second}
	})
	s.Upstream.setFault(fault{status: 503, body: `{}`})
	for i := 0; i < 3; i++ {
		wantError(t, s.user(t, http.MethodGet, "/api/whatsapp_sessions", ""), http.StatusBadGateway, "upstream_unavailable")
	}
	before := len(s.Upstream.requests())
	r := s.user(t, http.MethodGet, "/api/whatsapp_sessions", "")
	wantError(t, r, http.StatusBadGateway, "upstream_unavailable")
	if after := len(s.Upstream.requests()); after != before {
		t.Errorf("got %d upstream calls while the breaker is open, want 0", after-before)
	}
	s.Upstream.setFault(fault{})
	waitFor(t, recoveryWithin, func() bool {
		return s.user(t, http.MethodGet, "/api/whatsapp_sessions", "").Status == http.StatusOK
	})
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	s := newStack(t, quickRetries)
	wantStatus(t, s.do(t, http.MethodGet, "/readyz", ""), http.StatusOK)
	s.Upstream.setFault(fault{status: 503, body: `{}`})
	wantError(t, s.do(t, http.MethodGet, "/readyz", ""), http.StatusServiceUnavailable, "upstream_unavailable")
	wantStatus(t, s.do(t, http.MethodGet, "/healthz", ""), http.StatusOK)
	s.Upstream.setFault(fault{})
	waitFor(t, recoveryWithin, func() bool { return s.do(t, http.MethodGet, "/readyz", "").Status == http.StatusOK })
}

func TestReadinessIsCached(t *testing.T) {
	t.Parallel()
	s := newStack(t, func(d *handlers.Deps, _ *supabase.ClientConfig) { d.ReadyCacheTTL = time.Hour })
	wantStatus(t, s.do(t, http.MethodGet, "/readyz", ""), http.StatusOK)
	before := len(s.Upstream.requests())
	for i := 0; i < 5; i++ {
		wantStatus(t, s.do(t, http.MethodGet, "/readyz", ""), http.StatusOK)
	}
	if after := len(s.Upstream.requests()); after != before {
		t.Errorf("got %d upstream calls for 5 probes, want 0 while the answer is cached", after-before)
	}
}

// waitFor polls cond until it holds or the time is up.
func waitFor(tb testing.TB, within time.Duration, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("condition not met within %v", within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// panickingStore is a bug in a dependency: every call panics.
type panickingStore struct{ handlers.SessionStore }

func (panickingStore) GetSession(context.Context, supabase.Scope, int64) (supabase.Body, error) {
	panic("store bug")
}

// TestPanicIsAnInternalErrorInTheEnvelope: a bug answers 500 internal with
// the request id to quote, never a dropped connection or a stack trace.
func TestPanicIsAnInternalErrorInTheEnvelope(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	gw := newStackOver(t, s, panickingStore{})
	r := gw.user(t, http.MethodGet, "/api/whatsapp_sessions/1", "")
	wantError(t, r, http.StatusInternalServerError, "internal")
	if strings.Contains(r.Raw, "store bug") || strings.Contains(r.Raw, "goroutine") {
		t.Errorf("got %s, want no panic text in the answer", r.Raw)
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Error("got no X-Request-ID, want one to quote")
	}
}
