package handlers_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// forgedTokens are Authorization headers that must never get in.
func forgedTokens(t *testing.T) map[string]string {
	t.Helper()
	now := time.Now()
	sign := func(method jwt.SigningMethod, key any, claims jwt.MapClaims, kid string) string {
		tok := jwt.NewWithClaims(method, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := func() jwt.MapClaims {
		return jwt.MapClaims{"sub": "u", "aud": "authenticated", "role": "authenticated", "exp": now.Add(time.Hour).Unix()}
	}
	expired := valid()
	expired["exp"] = now.Add(-time.Hour).Unix()
	wrongAud := valid()
	wrongAud["aud"] = "anon"
	noExp := valid()
	delete(noExp, "exp")
	notYet := valid()
	notYet["nbf"] = now.Add(time.Hour).Unix()
	stranger, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	none := sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, valid(), "")

	return map[string]string{
		"missing":             "",
		"empty bearer":        "Bearer ",
		"basic auth":          "Basic dXNlcjpwYXNz",
		"garbage":             "Bearer not.a.jwt",
		"expired":             "Bearer " + sign(jwt.SigningMethodHS256, []byte(testJWTSecret), expired, ""),
		"not yet valid":       "Bearer " + sign(jwt.SigningMethodHS256, []byte(testJWTSecret), notYet, ""),
		"wrong signature":     "Bearer " + sign(jwt.SigningMethodHS256, []byte("another-secret-of-sufficient-length!!"), valid(), ""),
		"alg none":            "Bearer " + none,
		"wrong audience":      "Bearer " + sign(jwt.SigningMethodHS256, []byte(testJWTSecret), wrongAud, ""),
		"no exp":              "Bearer " + sign(jwt.SigningMethodHS256, []byte(testJWTSecret), noExp, ""),
		"unknown JWKS key":    "Bearer " + sign(jwt.SigningMethodES256, stranger, valid(), "unknown-kid"),
		"webhook secret":      "Bearer " + testWebhookSecret,
		"token in wrong slot": "Token " + sign(jwt.SigningMethodHS256, []byte(testJWTSecret), valid(), ""),
	}
}

func TestProtectedRoutesRefuseForgedTokens(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	row := s.create(t, "guarded_1")
	id := itoa(row.ID)
	routes := []struct{ method, path, body string }{
		{http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"intruder","sesion_id":` + itoa(s.SesionID) + `}`},
		{http.MethodGet, "/api/whatsapp_sessions", ""},
		{http.MethodGet, "/api/whatsapp_sessions/" + id, ""},
		{http.MethodPatch, "/api/whatsapp_sessions/" + id, `{"status":"expired"}`},
		{http.MethodDelete, "/api/whatsapp_sessions/" + id, ""},
	}
	for name, header := range forgedTokens(t) {
		for _, rt := range routes {
			t.Run(name+"/"+rt.method+" "+rt.path, func(t *testing.T) {
				var headers []string
				if header != "" {
					headers = append(headers, "Authorization: "+header)
				}
				r := s.do(t, rt.method, rt.path, rt.body, headers...)
				wantError(t, r, http.StatusUnauthorized, "unauthorized")
				if strings.Contains(r.Raw, "guarded_1") {
					t.Errorf("got %s, want no data in a refusal", r.Raw)
				}
			})
		}
	}
	after := s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+id, "").session(t)
	if after.Status != "pending" || !after.UpdatedAt.Equal(row.UpdatedAt) {
		t.Errorf("got %+v, want the row untouched", after)
	}
	if n := s.count(t, `select count(*) from public.whatsapp_sessions`); n != 1 {
		t.Errorf("got %d rows, want 1: no forged request may write", n)
	}
}

func TestWebhookRefusesForgedDeliveries(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.create(t, "wh_guarded")
	body := orchestratorBody("wh_guarded", "2024-01-15T10:30:00Z")
	signAt := func(secret, payload string, at time.Time) (string, string) {
		ts := strconv.FormatInt(at.Unix(), 10)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "." + payload))
		return ts, "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	now := time.Now()
	goodTS, goodSig := signAt(testWebhookSecret, body, now)
	_, wrongSecretSig := signAt("not-the-webhook-secret-000000", body, now)
	staleTS, staleSig := signAt(testWebhookSecret, body, now.Add(-10*time.Minute))
	futureTS, futureSig := signAt(testWebhookSecret, body, now.Add(10*time.Minute))

	tests := []struct {
		name    string
		body    string
		headers []string
	}{
		{"unsigned", body, nil},
		{"wrong bearer secret", body, []string{"Authorization: Bearer wrong-secret"}},
		{"user token as bearer", body, []string{"Authorization: Bearer " + s.Token}},
		{"signature with wrong secret", body, []string{"X-Webhook-Timestamp: " + goodTS, "X-Webhook-Signature: " + wrongSecretSig}},
		{"stale timestamp", body, []string{"X-Webhook-Timestamp: " + staleTS, "X-Webhook-Signature: " + staleSig}},
		{"future timestamp", body, []string{"X-Webhook-Timestamp: " + futureTS, "X-Webhook-Signature: " + futureSig}},
		{"body altered after signing", strings.Replace(body, "5215512345678", "5215599999999", 1), []string{"X-Webhook-Timestamp: " + goodTS, "X-Webhook-Signature: " + goodSig}},
		{"signature without timestamp", body, []string{"X-Webhook-Signature: " + goodSig}},
		{"timestamp changed after signing", body, []string{"X-Webhook-Timestamp: " + strconv.FormatInt(now.Unix()-1, 10), "X-Webhook-Signature: " + goodSig}},
		{"no credentials, not JSON", "session_id=wh_guarded", []string{"Content-Type: text/plain"}},
		{"no credentials, oversized", strings.Repeat("x", 100<<10), nil},
		{"wrong bearer, not JSON", "session_id=wh_guarded", []string{"Authorization: Bearer wrong", "Content-Type: text/plain"}},
		{"wrong bearer, oversized", strings.Repeat("x", 100<<10), []string{"Authorization: Bearer wrong"}},
		{"junk signature, oversized", strings.Repeat("x", 100<<10), []string{"X-Webhook-Timestamp: " + goodTS, "X-Webhook-Signature: sha256=00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, http.MethodPost, "/api/whatsapp_sessions/new-session-connected", tt.body, tt.headers...)
			wantError(t, r, http.StatusUnauthorized, "unauthorized")
		})
	}
	if n := s.count(t, `select count(*) from public.whatsapp_sessions where status <> 'pending'`); n != 0 {
		t.Errorf("got %d changed rows, want none after forged deliveries", n)
	}
	if estado, _ := s.sesion(t, s.SesionID); estado != "inactivo" {
		t.Errorf("got estado %q, want inactivo", estado)
	}
}

func TestHealthzIsPublicAndResponsesCarrySecurityHeaders(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	r := s.do(t, http.MethodGet, "/healthz", "")
	wantStatus(t, r, http.StatusOK)
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "X-Request-Id"} {
		if r.Header.Get(h) == "" {
			t.Errorf("got no %s header, want one on every response", h)
		}
	}
	if srv := r.Header.Get("Server"); srv != "" {
		t.Errorf("got Server header %q, want none", srv)
	}
}

func TestRequestIDIsEchoedOrMade(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	if got := s.do(t, http.MethodGet, "/healthz", "", "X-Request-ID: abc-123").Header.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("got %q, want the caller's id echoed", got)
	}
	got := s.do(t, http.MethodGet, "/healthz", "", "X-Request-ID: bad id\twith tab").Header.Get("X-Request-Id")
	if got == "" || strings.ContainsAny(got, " \t") {
		t.Errorf("got %q, want a fresh id instead of an unsafe one", got)
	}
}

// jwksJSON publishes an EC public key as a JWKS document.
func jwksJSON(t testing.TB, kid string, pub *ecdsa.PublicKey) []byte {
	t.Helper()
	b64 := base64.RawURLEncoding.EncodeToString
	point, err := pub.Bytes() // 0x04 || X || Y
	if err != nil {
		t.Fatal(err)
	}
	x, y := point[1:33], point[33:65]
	doc, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig", "x": b64(x), "y": b64(y),
	}}})
	return doc
}

func newJWKSServer(t testing.TB, doc []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestJWKSTokenIsAccepted(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"sub": "u", "aud": "authenticated", "role": "authenticated", "exp": time.Now().Add(time.Hour).Unix(),
	})
	tok.Header["kid"] = testKID
	signed, err := tok.SignedString(s.ESKey)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, s.do(t, http.MethodGet, "/api/whatsapp_sessions", "", "Authorization: Bearer "+signed), http.StatusOK)
}

// TestCallerHeadersDoNotReachSupabase sends requests loaded with the
// caller's own credentials and identity, and checks that upstream sees only
// the gateway's key and User-Agent and the validated query.
func TestCallerHeadersDoNotReachSupabase(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	row := s.create(t, "leak_1")
	callerHeaders := []string{
		"Cookie: sb-access-token=caller-cookie",
		"User-Agent: caller-agent/1.0",
		"X-Forwarded-For: 203.0.113.9",
		"X-Custom-Evil: 1",
		"Prefer: return=minimal, tx=rollback",
		"Accept-Profile: auth",
	}
	s.user(t, http.MethodGet, "/api/whatsapp_sessions?status=eq.pending&order=id.desc", "", callerHeaders...)
	s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(row.ID), "", callerHeaders...)
	s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(row.ID), `{"status":"connected"}`, callerHeaders...)
	s.webhook(t, orchestratorBody("leak_1", "2024-01-15T10:30:00Z"))
	before := len(s.Upstream.requests())
	s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(row.ID), "", "X-Request-ID: trace-from-frontend-1")

	reqs := s.Upstream.requests()
	if got := reqs[before].Header.Get("X-Request-ID"); got != "trace-from-frontend-1" {
		t.Errorf("got upstream X-Request-ID %q, want the caller's id passed on", got)
	}
	if len(reqs) < 5 {
		t.Fatalf("got %d upstream requests, want at least 5", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Get("apikey"); got != s.Key {
			t.Errorf("%s %s: got apikey %q, want the gateway's key", r.Method, r.URL, got)
		}
		if got := r.Header.Get("Authorization"); got != "" {
			t.Errorf("%s %s: got Authorization %q, want none for an sb_secret_ key", r.Method, r.URL, got)
		}
		if got := r.Header.Get("User-Agent"); got != "gateway-test" {
			t.Errorf("%s %s: got User-Agent %q, want the gateway's", r.Method, r.URL, got)
		}
		for _, h := range []string{"Cookie", "X-Custom-Evil"} {
			if got := r.Header.Get(h); got != "" {
				t.Errorf("%s %s: got %s %q forwarded, want none", r.Method, r.URL, h, got)
			}
		}
		if got := r.Header.Values("Accept"); len(got) != 1 {
			t.Errorf("%s %s: got Accept %q, want exactly one media type", r.Method, r.URL, got)
		}
		if got := r.Header.Get("Accept-Profile"); got != "public" {
			t.Errorf("%s %s: got Accept-Profile %q, want public", r.Method, r.URL, got)
		}
		if strings.Contains(r.Header.Get("Prefer"), "tx=") {
			t.Errorf("%s %s: got Prefer %q, want the caller's preferences dropped", r.Method, r.URL, r.Header.Get("Prefer"))
		}
		if xff := r.Header.Get("X-Forwarded-For"); strings.Contains(xff, "203.0.113.9") {
			t.Errorf("%s %s: got X-Forwarded-For %q, want the caller's claimed address dropped", r.Method, r.URL, xff)
		}
	}
}
