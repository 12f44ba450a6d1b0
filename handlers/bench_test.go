package handlers_test

// Micro-benchmarks of the per-request work, for `make bench`:
//
//	go test -run '^$' -bench . -benchmem ./handlers/
//
// They run the real Echo stack (handlers.New with the production middleware,
// a real HS256 token verifier with its cache, the real webhook verifier and
// Prometheus metrics) against an in-memory SessionStore, so allocs/op is the
// gateway's own per-request cost without a network. BenchmarkListThroughClient
// adds the real supabase.Client (postgrest-go) over an in-memory transport.
// Token verification and the webhook signature on their own are benchmarked
// in auth/bench_test.go.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/auth"
	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/metrics"
	"github.com/wasessions/gateway/supabase"
	"github.com/wasessions/gateway/utils"
)

const (
	benchJWTSecret     = "bench-jwt-secret-with-enough-bytes-for-hs256"
	benchWebhookSecret = "bench-webhook-secret-0123456789"
	benchListPath      = "/api/whatsapp_sessions?status=eq.connected"
	benchWebhookBody   = `{"session_id":"session_1705312200123_abc123def","phone_number":"5215512345678","status":"connected","last_seen":"2025-01-15T10:00:00Z","auth_folder_path":"/data/auth/session_1705312200123_abc123def","server_port":3001,"whatsapp_user_id":"5215512345678@s.whatsapp.net","created_at":"2025-01-15T09:59:00Z","updated_at":"2025-01-15T10:00:00Z"}`
)

// benchRow is one whatsapp_sessions row as PostgREST returns it.
func benchRow(id int) map[string]any {
	sid := fmt.Sprintf("session_1705312200123_%09d", id)
	return map[string]any{
		"id": id, "session_id": sid, "sesion_id": 1, "phone_number": "5215512345678",
		"status": "connected", "last_seen": "2025-01-15T10:00:00+00:00",
		"auth_folder_path": "/data/auth/" + sid, "server_port": 3001,
		"whatsapp_user_id": "5215512345678@s.whatsapp.net",
		"created_at":       "2025-01-15T09:59:00.123456+00:00",
		"updated_at":       "2025-01-15T10:00:00.654321+00:00",
	}
}

// benchRows returns n rows as the JSON array Supabase would send.
func benchRows(tb testing.TB, n int) json.RawMessage {
	tb.Helper()
	rows := make([]map[string]any, n)
	for i := range rows {
		rows[i] = benchRow(i + 1)
	}
	b, err := json.Marshal(rows)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// benchStore is a SessionStore that answers from memory, the same bytes
// every time, as a static upstream would.
type benchStore struct {
	rows, row json.RawMessage
}

var _ handlers.SessionStore = (*benchStore)(nil)

func newBenchStore(tb testing.TB, rows int) *benchStore {
	tb.Helper()
	row, err := json.Marshal(benchRow(1))
	if err != nil {
		tb.Fatal(err)
	}
	return &benchStore{rows: benchRows(tb, rows), row: row}
}

func (s *benchStore) ListSessions(context.Context, supabase.Scope, supabase.ListQuery) (supabase.Body, error) {
	return supabase.BodyOf(s.rows), nil
}

func (s *benchStore) GetSession(context.Context, supabase.Scope, int64) (supabase.Body, error) {
	return supabase.BodyOf(s.row), nil
}

func (s *benchStore) CreateSession(context.Context, supabase.Scope, supabase.NewSession) (supabase.Result, error) {
	return supabase.Result{Outcome: "created", Session: s.row}, nil
}

func (s *benchStore) UpdateSession(context.Context, supabase.Scope, int64, supabase.SessionPatch) (supabase.Body, error) {
	return supabase.BodyOf(s.row), nil
}

func (s *benchStore) DeleteSession(context.Context, supabase.Scope, int64) error { return nil }

func (s *benchStore) ApplyConnection(context.Context, supabase.Connection) (supabase.Result, error) {
	return supabase.Result{Outcome: "applied", Session: s.row}, nil
}

// benchGateway is the HTTP layer wired as main.go wires it, with store.
func benchGateway(tb testing.TB, store handlers.SessionStore) http.Handler {
	tb.Helper()
	return benchGatewayOwned(tb, store, supabase.Ownership{})
}

// benchGatewayOwned is benchGateway with sessions scoped by ownership.
func benchGatewayOwned(tb testing.TB, store handlers.SessionStore, ownership supabase.Ownership) http.Handler {
	tb.Helper()
	tokens, err := auth.NewTokenVerifier(context.Background(), auth.TokenVerifierConfig{
		HS256Secret: []byte(benchJWTSecret), Audience: "authenticated", Leeway: 30 * time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tokens.Close)
	meters := metrics.New()
	return handlers.New(handlers.Deps{
		Store:          store,
		Tokens:         tokens,
		Ownership:      ownership,
		Webhooks:       auth.NewWebhookVerifier([]byte(benchWebhookSecret), 300*time.Second, nil),
		Log:            zap.NewNop(),
		BodyLimit:      64 << 10,
		ListMaxLimit:   1000,
		ObserveRequest: meters.ObserveRequest,
		ObserveWebhook: meters.ObserveWebhook,
	})
}

// benchToken mints a Supabase-shaped HS256 access token.
func benchToken(tb testing.TB) string {
	tb.Helper()
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "8d0fd2b3-9ca7-4d9e-a95f-9e13f1d3ae2a", "aud": "authenticated", "role": "authenticated",
		"email": "bench@example.com", "session_id": "6a1b5e8e-3f7c-4b0f-a9a4-0d7f7b9c1e21",
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
	}).SignedString([]byte(benchJWTSecret))
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// benchWriter is a ResponseWriter that keeps only the status and size, so
// the harness adds no allocation of its own to allocs/op.
type benchWriter struct {
	header http.Header
	status int
	size   int
}

func (w *benchWriter) Header() http.Header { return w.header }

func (w *benchWriter) WriteHeader(status int) { w.status = status }

func (w *benchWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.size += len(b)
	return len(b), nil
}

func (w *benchWriter) reset() {
	clear(w.header)
	w.status, w.size = 0, 0
}

// rewindBody is a request body that can be replayed without allocating.
type rewindBody struct{ bytes.Reader }

func (*rewindBody) Close() error { return nil }

// benchRequest is one request replayed on every iteration.
type benchRequest struct {
	req  *http.Request
	body *rewindBody
	raw  []byte
}

func newBenchRequest(tb testing.TB, method, target, body string, header http.Header) *benchRequest {
	tb.Helper()
	r := &benchRequest{raw: []byte(body), body: &rewindBody{}}
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header = header
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
		req.ContentLength = int64(len(body))
		req.Body = r.body
	}
	r.req = req
	return r
}

func (r *benchRequest) next() *http.Request {
	if r.raw != nil {
		r.body.Reset(r.raw)
	}
	return r.req
}

// runBench serves req in a loop and fails on any status but want.
func runBench(b *testing.B, h http.Handler, r *benchRequest, want int) {
	b.Helper()
	w := &benchWriter{header: http.Header{}}
	h.ServeHTTP(w, r.next())
	if w.status != want {
		b.Fatalf("got status %d, want %d", w.status, want)
	}
	b.SetBytes(int64(w.size))
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		h.ServeHTTP(w, r.next())
		if w.status != want {
			b.Fatalf("got status %d, want %d", w.status, want)
		}
	}
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// BenchmarkParseListQuery is filter parsing and validation alone.
func BenchmarkParseListQuery(b *testing.B) {
	queries := map[string]string{
		"status":  "status=eq.connected",
		"complex": "status=not.in.(expired,pending)&last_seen=gte.2025-01-01T00:00:00Z&order=updated_at.desc.nullslast&select=id,session_id,status,last_seen&limit=50&offset=100",
	}
	for name, raw := range queries {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				params, err := url.ParseQuery(raw)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := supabase.ParseListQuery(params, 1000); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWriteSuccessRaw is the envelope around an upstream body, written
// as the handlers do: no decoding, no copy.
func BenchmarkWriteSuccessRaw(b *testing.B) {
	for _, n := range []int{10, 1000} {
		rows := benchRows(b, n)
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			b.SetBytes(int64(len(rows)))
			b.ReportAllocs()
			for b.Loop() {
				if err := utils.WriteSuccessRaw(io.Discard, rows); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkHealthz is the middleware chain with no authentication and no
// store: the floor every route pays.
func BenchmarkHealthz(b *testing.B) {
	h := benchGateway(b, newBenchStore(b, 10))
	runBench(b, h, newBenchRequest(b, http.MethodGet, "/healthz", "", http.Header{}), http.StatusOK)
}

// BenchmarkListHandler is GET ?status=eq.connected through the whole HTTP
// layer: middleware, token (cached after the first request), filter
// validation, the store, the envelope.
func BenchmarkListHandler(b *testing.B) {
	token := benchToken(b)
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			h := benchGateway(b, newBenchStore(b, n))
			runBench(b, h, newBenchRequest(b, http.MethodGet, benchListPath, "", bearer(token)), http.StatusOK)
		})
	}
}

// BenchmarkListHandlerParallel is the list path from every P at once, which
// shows contention (token cache, metrics, pools).
func BenchmarkListHandlerParallel(b *testing.B) {
	token := benchToken(b)
	h := benchGateway(b, newBenchStore(b, 10))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := newBenchRequest(b, http.MethodGet, benchListPath, "", bearer(token))
		w := &benchWriter{header: http.Header{}}
		for pb.Next() {
			w.reset()
			h.ServeHTTP(w, r.next())
			if w.status != http.StatusOK {
				b.Errorf("got status %d, want 200", w.status)
				return
			}
		}
	})
}

// BenchmarkGetHandler is GET /api/whatsapp_sessions/1.
func BenchmarkGetHandler(b *testing.B) {
	h := benchGateway(b, newBenchStore(b, 10))
	runBench(b, h, newBenchRequest(b, http.MethodGet, "/api/whatsapp_sessions/1", "", bearer(benchToken(b))), http.StatusOK)
}

// BenchmarkCreateHandler is POST /api/whatsapp_sessions: strict decoding,
// validation, the store, 201.
func BenchmarkCreateHandler(b *testing.B) {
	h := benchGateway(b, newBenchStore(b, 10))
	body := `{"session_id":"session_1705312200123_abc123def","sesion_id":1}`
	runBench(b, h, newBenchRequest(b, http.MethodPost, "/api/whatsapp_sessions", body, bearer(benchToken(b))), http.StatusCreated)
}

// BenchmarkWebhookHandler is the orchestrator's signed webhook: signature
// over the raw body, strict decoding, validation, the store.
func BenchmarkWebhookHandler(b *testing.B) {
	h := benchGateway(b, newBenchStore(b, 10))
	signer := auth.NewWebhookVerifier([]byte(benchWebhookSecret), 0, nil)
	ts, sig := signer.Sign([]byte(benchWebhookBody), time.Now())
	header := http.Header{}
	header.Set(auth.HeaderWebhookTimestamp, ts)
	header.Set(auth.HeaderWebhookSignature, sig)
	runBench(b, h, newBenchRequest(b, http.MethodPost, "/api/whatsapp_sessions/new-session-connected", benchWebhookBody, header), http.StatusOK)
}

// benchUpstream is an in-memory Data API: a RoundTripper that answers every
// request with the same list body, as a fresh response each time (a real
// transport allocates one too).
type benchUpstream struct{ body []byte }

type benchUpstreamBody struct{ bytes.Reader }

func (*benchUpstreamBody) Close() error { return nil }

func (u *benchUpstream) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	body := &benchUpstreamBody{}
	body.Reset(u.body)
	return &http.Response{
		StatusCode:    http.StatusOK,
		Header:        http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body:          body,
		ContentLength: int64(len(u.body)),
		Request:       req,
	}, nil
}

// BenchmarkListThroughClient is the list path with the real Supabase client
// (postgrest-go's query builder, the error transport, the breaker and the
// metrics observer) over an in-memory upstream: everything the gateway does
// per list request except the sockets.
func BenchmarkListThroughClient(b *testing.B) {
	token := benchToken(b)
	for _, n := range []int{10, 1000} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			meters := metrics.New()
			client, err := supabase.NewClient(supabase.ClientConfig{
				URL: "http://127.0.0.1:1", Key: "sb_secret_bench", UserAgent: "gateway-bench",
				Timeout: 10 * time.Second, Transport: &benchUpstream{body: benchRows(b, n)},
				Observe: meters.ObserveUpstream,
			})
			if err != nil {
				b.Fatal(err)
			}
			h := benchGateway(b, client)
			runBench(b, h, newBenchRequest(b, http.MethodGet, benchListPath, "", bearer(token)), http.StatusOK)
		})
	}
}

// BenchmarkScopedThroughClient is the gateway's own per-request cost of
// ownership, list and get through the real client over an in-memory
// upstream, unscoped and scoped to the token's user (the database's share
// is in make bench's e2e_owned scenario).
func BenchmarkScopedThroughClient(b *testing.B) {
	token := benchToken(b)
	for _, tc := range []struct {
		name, path string
		rows       int
	}{
		{"list", benchListPath, 10},
		{"get", "/api/whatsapp_sessions/1", 1},
	} {
		for _, owned := range []bool{false, true} {
			ownership := supabase.Ownership{}
			name := tc.name + "/unscoped"
			if owned {
				ownership, name = supabase.Ownership{Column: "user_id"}, tc.name+"/owned"
			}
			b.Run(name, func(b *testing.B) {
				client, err := supabase.NewClient(supabase.ClientConfig{
					URL: "http://127.0.0.1:1", Key: "sb_secret_bench", UserAgent: "gateway-bench",
					Timeout: 10 * time.Second, Transport: &benchUpstream{body: benchRows(b, tc.rows)},
				})
				if err != nil {
					b.Fatal(err)
				}
				h := benchGatewayOwned(b, client, ownership)
				runBench(b, h, newBenchRequest(b, http.MethodGet, tc.path, "", bearer(token)), http.StatusOK)
			})
		}
	}
}
