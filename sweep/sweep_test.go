package sweep_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wasessions/gateway/metrics"
	"github.com/wasessions/gateway/supabase"
	"github.com/wasessions/gateway/supabase/migrate"
	"github.com/wasessions/gateway/supabase/supabasetest"
	"github.com/wasessions/gateway/sweep"
)

// env is a migrated database behind the local Data API, and a way to make
// as many gateway clients (replicas) of it as a test needs.
type env struct {
	pool     *pgxpool.Pool
	url, key string
	sesion   int64
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	u, err := url.Parse(supabasetest.NewDatabase(tb))
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "12") // room for ten replicas at once
	u.RawQuery = q.Encode()
	pool := supabasetest.NewPool(tb, u.String())
	if _, err := migrate.Apply(context.Background(), pool); err != nil {
		tb.Fatalf("apply migrations: %v", err)
	}
	restURL, key := supabasetest.NewLocalREST(tb, pool)
	e := &env{pool: pool, url: restURL, key: key}
	if err := pool.QueryRow(context.Background(), `insert into public.sesiones default values returning id`).Scan(&e.sesion); err != nil {
		tb.Fatal(err)
	}
	return e
}

func (e *env) client(tb testing.TB) *supabase.Client {
	tb.Helper()
	c, err := supabase.NewClient(supabase.ClientConfig{URL: e.url, Key: e.key, UserAgent: "sweep-test", Timeout: 30 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(c.Close)
	return c
}

// pending creates n pending sessions through the gateway's client.
func (e *env) pending(tb testing.TB, prefix string, n int) {
	tb.Helper()
	c := e.client(tb)
	for i := range n {
		id := prefix + "_" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		if _, err := c.CreateSession(context.Background(), supabase.Everyone, supabase.NewSession{SessionID: id, SesionID: e.sesion}); err != nil {
			tb.Fatalf("create %s: %v", id, err)
		}
	}
}

func (e *env) count(tb testing.TB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// Ten replicas sweeping at the same moment expire each session once and
// record it once.
func TestConcurrentSweepsExpireEachSessionOnce(t *testing.T) {
	e := newEnv(t)
	const sessions, replicas = 40, 10
	e.pending(t, "due", sessions)
	time.Sleep(20 * time.Millisecond) // older than the TTL below

	var (
		mu       sync.Mutex
		seen     = map[int64]int{}
		observed int
	)
	onExpired := func(rows []json.RawMessage) {
		mu.Lock()
		defer mu.Unlock()
		for _, raw := range rows {
			var row struct {
				ID     int64  `json:"id"`
				Status string `json:"status"`
			}
			if err := json.Unmarshal(raw, &row); err != nil || row.Status != "expired" {
				t.Errorf("got expired row %s, want a session with status expired", raw)
			}
			seen[row.ID]++
		}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	total := make([]int, replicas)
	for i := range replicas {
		s := sweep.New(e.client(t), sweep.Config{
			PendingTTL: 5 * time.Millisecond, Interval: time.Hour, Batch: 7, OnExpired: onExpired,
			ObserveExpired: func(n int) { mu.Lock(); observed += n; mu.Unlock() },
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			n, _, err := s.Sweep(context.Background())
			if err != nil {
				t.Errorf("replica %d: %v", i, err)
			}
			total[i] = n
		}()
	}
	close(start)
	wg.Wait()

	sum := 0
	for _, n := range total {
		sum += n
	}
	if sum != sessions || observed != sessions || len(seen) != sessions {
		t.Fatalf("got %d expired by the replicas (%d observed, %d distinct rows), want %d each", sum, observed, len(seen), sessions)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("session %d: expired %d times, want once", id, n)
		}
	}
	if n := e.count(t, `select count(*) from public.whatsapp_sessions where status = 'expired'`); n != sessions {
		t.Errorf("got %d expired rows, want %d", n, sessions)
	}
	if n := e.count(t, `select count(*) from public.whatsapp_session_events where source = 'expiry' and from_status = 'pending' and to_status = 'expired' and request_id is null`); n != sessions {
		t.Errorf("got %d expiry entries, want one per session (%d)", n, sessions)
	}
	if n := e.count(t, `select count(*) from (select whatsapp_session_id from public.whatsapp_session_events where source = 'expiry' group by 1 having count(*) > 1) d`); n != 0 {
		t.Errorf("got %d sessions with more than one expiry entry, want none", n)
	}
}

func TestSweepExpiresOnlyPendingSessionsOlderThanTheTTL(t *testing.T) {
	e := newEnv(t)
	e.pending(t, "old", 3)
	if _, err := e.pool.Exec(context.Background(), `update public.whatsapp_sessions set status = 'connected' where session_id = 'old_ab'`); err != nil {
		t.Fatal(err)
	}
	s := sweep.New(e.client(t), sweep.Config{PendingTTL: time.Hour, Interval: time.Hour})
	if n, _, err := s.Sweep(context.Background()); err != nil || n != 0 {
		t.Fatalf("got %d expired, err %v, want none: nothing is an hour old", n, err)
	}
	time.Sleep(20 * time.Millisecond)
	s = sweep.New(e.client(t), sweep.Config{PendingTTL: 5 * time.Millisecond, Interval: time.Hour, Batch: 1})
	n, _, err := s.Sweep(context.Background())
	if err != nil || n != 2 {
		t.Fatalf("got %d expired, err %v, want the 2 pending ones (batch of 1: one call each)", n, err)
	}
	if got := e.count(t, `select count(*) from public.whatsapp_sessions where session_id = 'old_ab' and status = 'connected'`); got != 1 {
		t.Errorf("the connected session changed, want it left alone")
	}
}

func TestSweepPrunesHistoryOlderThanTheRetention(t *testing.T) {
	e := newEnv(t)
	e.pending(t, "kept", 5)
	// Age three entries past 90 days.
	if _, err := e.pool.Exec(context.Background(), `
		update public.whatsapp_session_events set at = now() - interval '91 days'
		where id in (select id from public.whatsapp_session_events order by id limit 3)`); err != nil {
		t.Fatal(err)
	}
	meters := metrics.New()
	s := sweep.New(e.client(t), sweep.Config{Retention: 90 * 24 * time.Hour, Interval: time.Hour, Batch: 2, ObservePruned: meters.ObservePruned})
	_, pruned, err := s.Sweep(context.Background())
	if err != nil || pruned != 3 {
		t.Fatalf("got %d pruned, err %v, want 3", pruned, err)
	}
	if n := e.count(t, `select count(*) from public.whatsapp_session_events`); n != 2 {
		t.Errorf("got %d entries left, want the 2 recent ones", n)
	}
	if got := scrape(t, meters); !strings.Contains(got, "gateway_session_events_pruned_total 3\n") {
		t.Errorf("got metrics without gateway_session_events_pruned_total 3:\n%s", got)
	}
	// Retention 0 keeps everything; with no TTL either there is nothing to run.
	if sweep.New(e.client(t), sweep.Config{Interval: time.Hour}).Enabled() {
		t.Error("got a sweeper enabled with no TTL and no retention, want disabled")
	}
}

// Run sweeps at once and then on its timer, until its context ends.
func TestRunSweepsOnItsTimer(t *testing.T) {
	e := newEnv(t)
	meters := metrics.New()
	s := sweep.New(e.client(t), sweep.Config{PendingTTL: 5 * time.Millisecond, Interval: 10 * time.Millisecond, ObserveExpired: meters.ObserveExpired})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }()
	defer func() { cancel(); <-done }()

	e.pending(t, "timer", 2)
	// The rows are expired in the database a moment before the sweeper has
	// the answer and counts them; stopping it in between (as a loaded
	// machine let happen) lost the count. So wait for both.
	deadline := time.Now().Add(30 * time.Second)
	for e.count(t, `select count(*) from public.whatsapp_sessions where status = 'expired'`) != 2 ||
		!strings.Contains(scrape(t, meters), "gateway_sessions_expired_total 2\n") {
		if time.Now().After(deadline) {
			t.Fatalf("got %d expired sessions and metrics:\n%s\nwant both sessions expired by the running sweeper and gateway_sessions_expired_total 2 within 30s",
				e.count(t, `select count(*) from public.whatsapp_sessions where status = 'expired'`), scrape(t, meters))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func scrape(tb testing.TB, m *metrics.Metrics) string {
	tb.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// The database refuses a TTL or retention that is not positive, and the
// gateway reports it as a bad value, so a misconfigured call cannot expire
// every pending session.
func TestExpiryFunctionsRefuseNonPositiveDurations(t *testing.T) {
	e := newEnv(t)
	e.pending(t, "safe", 1)
	c := e.client(t)
	if _, err := c.ExpirePendingSessions(context.Background(), 0, 10); supabase.ErrorCode(err) != supabase.CodeInvalidRequest {
		t.Errorf("ttl 0: got %v, want invalid_request", err)
	}
	if _, err := c.PruneSessionEvents(context.Background(), -time.Hour, 10); supabase.ErrorCode(err) != supabase.CodeInvalidRequest {
		t.Errorf("retention -1h: got %v, want invalid_request", err)
	}
	if _, err := c.ExpirePendingSessions(context.Background(), time.Millisecond, 0); supabase.ErrorCode(err) != supabase.CodeInvalidRequest {
		t.Errorf("limit 0: got %v, want invalid_request", err)
	}
	if n := e.count(t, `select count(*) from public.whatsapp_sessions where status = 'pending'`); n != 1 {
		t.Errorf("got %d pending sessions, want the one left alone", n)
	}
}
