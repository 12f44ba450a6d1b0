package handlers_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/auth"
	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/supabase"
	"github.com/wasessions/gateway/supabase/migrate"
	"github.com/wasessions/gateway/supabase/supabasetest"
)

const (
	testJWTSecret     = "test-jwt-secret-with-enough-bytes-for-hs256"
	testWebhookSecret = "test-webhook-secret-0123456789"
	testKID           = "test-key-1"
)

// stack is the whole gateway over real parts: Echo handlers, the Supabase
// client, the local PostgREST-protocol server and a fresh PostgreSQL
// database.
type stack struct {
	URL      string
	Pool     *pgxpool.Pool
	Token    string            // a valid user access token
	SesionID int64             // a sesiones row to link sessions to
	ESKey    *ecdsa.PrivateKey // signs tokens the JWKS publishes as testKID
	Upstream *recordingProxy   // sees every request the gateway sends to Supabase
	Key      string            // the secret key the gateway presents upstream
	webhooks *auth.WebhookVerifier
}

// stackOption adjusts the gateway's dependencies or its Supabase client.
type stackOption func(*handlers.Deps, *supabase.ClientConfig)

func newStack(tb testing.TB, opts ...stackOption) *stack {
	tb.Helper()
	ctx := context.Background()
	pool := supabasetest.NewPool(tb, supabasetest.NewDatabase(tb))
	if _, err := migrate.Apply(ctx, pool); err != nil {
		tb.Fatalf("apply migrations: %v", err)
	}
	// The owner column a project using SESIONES_OWNER_COLUMN has; unused
	// unless a test turns ownership on.
	if _, err := pool.Exec(ctx, `alter table public.sesiones add column user_id uuid`); err != nil {
		tb.Fatalf("add sesiones.user_id: %v", err)
	}
	restURL, key := supabasetest.NewLocalREST(tb, pool)
	upstream := newRecordingProxy(tb, restURL)
	clientCfg := supabase.ClientConfig{URL: upstream.URL, Key: key, UserAgent: "gateway-test", Timeout: 10 * time.Second}
	deps := handlers.Deps{
		Log:          zap.NewNop(),
		BodyLimit:    64 << 10,
		ListMaxLimit: 1000,
	}
	for _, opt := range opts {
		opt(&deps, &clientCfg)
	}
	client, err := supabase.NewClient(clientCfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(client.Close)
	// Both kinds of Supabase project at once: a JWKS with one ES256 key, and
	// the legacy HS256 secret.
	esKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	jwks := newJWKSServer(tb, jwksJSON(tb, testKID, &esKey.PublicKey))
	tokens, err := auth.NewTokenVerifier(ctx, auth.TokenVerifierConfig{
		JWKSURL: jwks.URL, HS256Secret: []byte(testJWTSecret), Audience: "authenticated", Leeway: 5 * time.Second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tokens.Close)
	webhooks := auth.NewWebhookVerifier([]byte(testWebhookSecret), 300*time.Second, nil)
	deps.Store, deps.Webhooks = client, webhooks
	if deps.Tokens == nil {
		deps.Tokens = tokens
	}
	if deps.History == nil {
		deps.History = client
	}
	if deps.Ready == nil {
		deps.Ready = client.Ready
	}
	srv := httptest.NewServer(handlers.New(deps))
	tb.Cleanup(srv.Close)

	s := &stack{URL: srv.URL, Pool: pool, Token: userToken(tb, testJWTSecret, time.Hour), webhooks: webhooks, ESKey: esKey, Upstream: upstream, Key: key}
	s.SesionID = s.newSesion(tb)
	return s
}

// userToken mints a Supabase-shaped access token.
func userToken(tb testing.TB, secret string, ttl time.Duration) string {
	tb.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "user-1", "aud": "authenticated", "role": "authenticated",
		"exp": time.Now().Add(ttl).Unix(), "iat": time.Now().Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// newSesion inserts a sesiones row and returns its id.
func (s *stack) newSesion(tb testing.TB) int64 {
	tb.Helper()
	var id int64
	if err := s.Pool.QueryRow(context.Background(), `insert into public.sesiones (estado) values ('inactivo') returning id`).Scan(&id); err != nil {
		tb.Fatalf("insert sesiones: %v", err)
	}
	return id
}

// response is a decoded envelope plus what the tests look at.
type response struct {
	Status  int
	Header  http.Header
	Success bool            `json:"success"`
	Data    json.RawMessage `json:"data"`
	Error   struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details map[string]any `json:"details"`
	} `json:"error"`
	Raw string
}

// session is a whatsapp_sessions row as the API returns it.
type session = supabasetest.Session

// do sends a request with headers given as "Name: value" strings.
func (s *stack) do(tb testing.TB, method, path, body string, headers ...string) response {
	tb.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(name), strings.TrimSpace(value))
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	checkAgainstOpenAPI(tb, req, res.StatusCode, res.Header, raw)
	r := response{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	if len(raw) > 0 && strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r); err != nil {
			tb.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return r
}

// user sends a request as a signed-in frontend user.
func (s *stack) user(tb testing.TB, method, path, body string, headers ...string) response {
	tb.Helper()
	return s.do(tb, method, path, body, append([]string{"Authorization: Bearer " + s.Token}, headers...)...)
}

// webhook delivers a signed orchestrator webhook.
func (s *stack) webhook(tb testing.TB, body string) response {
	tb.Helper()
	ts, sig := s.webhooks.Sign([]byte(body), time.Now())
	return s.do(tb, http.MethodPost, "/api/whatsapp_sessions/new-session-connected", body,
		"X-Webhook-Timestamp: "+ts, "X-Webhook-Signature: "+sig)
}

// create makes a pending session through the API.
func (s *stack) create(tb testing.TB, sessionID string) session {
	tb.Helper()
	r := s.user(tb, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"`+sessionID+`","sesion_id":`+itoa(s.SesionID)+`}`)
	wantStatus(tb, r, http.StatusCreated)
	return r.session(tb)
}

func (r response) session(tb testing.TB) session {
	tb.Helper()
	var s session
	if err := json.Unmarshal(r.Data, &s); err != nil {
		tb.Fatalf("data is not a session: %s", r.Raw)
	}
	return s
}

func (r response) sessions(tb testing.TB) []session {
	tb.Helper()
	var s []session
	if err := json.Unmarshal(r.Data, &s); err != nil {
		tb.Fatalf("data is not a list of sessions: %s", r.Raw)
	}
	return s
}

func wantStatus(tb testing.TB, r response, status int) {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("got status %d, want %d; body %s", r.Status, status, r.Raw)
	}
}

// wantError checks status, envelope and code of a failure.
func wantError(tb testing.TB, r response, status int, code string) {
	tb.Helper()
	if r.Status != status || r.Success || r.Error.Code != code || r.Error.Message == "" {
		tb.Fatalf("got status %d body %s, want %d with error code %s and a message", r.Status, r.Raw, status, code)
	}
}

// count returns the number of rows a query finds.
func (s *stack) count(tb testing.TB, query string, args ...any) int {
	tb.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", query, err)
	}
	return n
}

// sesion returns estado and phone_number of a sesiones row.
func (s *stack) sesion(tb testing.TB, id int64) (estado string, phone *string) {
	tb.Helper()
	if err := s.Pool.QueryRow(context.Background(), `select estado, phone_number from public.sesiones where id = $1`, id).Scan(&estado, &phone); err != nil {
		tb.Fatal(err)
	}
	return estado, phone
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// recordingProxy sits between the gateway and the PostgREST-protocol server
// and keeps the requests it forwards, to check what reaches Supabase. It can
// also be told to misbehave the ways a real upstream does (see fault).
type recordingProxy struct {
	URL   string
	mu    sync.Mutex
	seen  []*http.Request
	fault atomic.Value // of fault
}

// fault is how the upstream misbehaves; the zero value forwards normally.
type fault struct {
	delay  time.Duration // wait before answering
	status int           // answer this status instead of forwarding
	body   string        // ...with this body
	cut    bool          // send headers and half a body, then drop the connection
}

func newRecordingProxy(tb testing.TB, target string) *recordingProxy {
	tb.Helper()
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatal(err)
	}
	p := &recordingProxy{}
	p.fault.Store(fault{})
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Clone(context.Background()))
		p.mu.Unlock()
		f := p.fault.Load().(fault)
		if f.delay > 0 {
			select {
			case <-time.After(f.delay):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case f.cut:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(`[{"id":1,"sess`))
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		case f.status != 0:
			w.WriteHeader(f.status)
			_, _ = w.Write([]byte(f.body))
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	tb.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// setFault changes how the upstream behaves from now on.
func (p *recordingProxy) setFault(f fault) { p.fault.Store(f) }

// requests returns what was forwarded so far.
func (p *recordingProxy) requests() []*http.Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*http.Request(nil), p.seen...)
}

// newStackOver serves a second gateway that shares s's credentials but uses
// store, e.g. a client pointed at an unreachable upstream.
func newStackOver(tb testing.TB, s *stack, store handlers.SessionStore) *stack {
	tb.Helper()
	tokens, err := auth.NewTokenVerifier(context.Background(), auth.TokenVerifierConfig{HS256Secret: []byte(testJWTSecret)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tokens.Close)
	srv := httptest.NewServer(handlers.New(handlers.Deps{Store: store, Tokens: tokens, Webhooks: s.webhooks, Log: zap.NewNop(), BodyLimit: 64 << 10, ListMaxLimit: 1000}))
	tb.Cleanup(srv.Close)
	gw := *s
	gw.URL = srv.URL
	return &gw
}
