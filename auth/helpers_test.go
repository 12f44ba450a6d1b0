package auth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	"github.com/wasessions/gateway/auth"
)

// testHS256Secret is a legacy JWT secret of the accepted length.
var testHS256Secret = []byte("test-legacy-jwt-secret-with-at-least-32-bytes")

// testEpoch is the fixed "now" of tests that use a testClock.
var testEpoch = time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC)

// testKey is an asymmetric signing key with its kid and JWS algorithm.
type testKey struct {
	kid    string
	method jwt.SigningMethod
	signer crypto.Signer
}

func newES256Key(tb testing.TB, kid string) testKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatalf("generate P-256 key: %v", err)
	}
	return testKey{kid: kid, method: jwt.SigningMethodES256, signer: k}
}

func newRS256Key(tb testing.TB, kid string) testKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatalf("generate RSA key: %v", err)
	}
	return testKey{kid: kid, method: jwt.SigningMethodRS256, signer: k}
}

func newEdDSAKey(tb testing.TB, kid string) testKey {
	tb.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatalf("generate Ed25519 key: %v", err)
	}
	return testKey{kid: kid, method: jwt.SigningMethodEdDSA, signer: k}
}

// jwk returns the public JWK as Supabase would publish it.
func (k testKey) jwk(tb testing.TB) jwkset.JWKMarshal {
	tb.Helper()
	j, err := jwkset.NewJWKFromKey(k.signer.Public(), jwkset.JWKOptions{
		Metadata: jwkset.JWKMetadataOptions{KID: k.kid, ALG: jwkset.ALG(k.method.Alg()), USE: jwkset.UseSig},
	})
	if err != nil {
		tb.Fatalf("JWK for %s: %v", k.kid, err)
	}
	return j.Marshal()
}

// sign returns a token with claims, signed by k and naming k.kid.
func (k testKey) sign(tb testing.TB, claims jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(k.method, claims)
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.signer)
	if err != nil {
		tb.Fatalf("sign with %s: %v", k.kid, err)
	}
	return s
}

// signHS256 returns an HS256 token signed with secret; kid is set if not empty.
func signHS256(tb testing.TB, secret []byte, kid string, claims jwt.MapClaims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(secret)
	if err != nil {
		tb.Fatalf("sign HS256: %v", err)
	}
	return s
}

// userClaims are the claims of a Supabase access token issued at now.
func userClaims(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"sub":        "5f7c2a9e-1b2d-4c3e-8f90-123456789abc",
		"aud":        "authenticated",
		"role":       "authenticated",
		"email":      "ana@example.com",
		"session_id": "0a1b2c3d-sess",
		"iat":        now.Unix(),
		"exp":        now.Add(time.Hour).Unix(),
	}
}

// edit returns a copy of c with set applied and the keys in drop removed.
func edit(c jwt.MapClaims, set jwt.MapClaims, drop ...string) jwt.MapClaims {
	out := maps.Clone(c)
	maps.Copy(out, set)
	for _, k := range drop {
		delete(out, k)
	}
	return out
}

// jwksServer serves a JWKS whose keys and health the test controls, and
// counts requests so tests can bound how often the verifier fetches.
type jwksServer struct {
	srv    *httptest.Server
	hits   atomic.Int64
	mu     sync.Mutex
	body   []byte
	status int
}

func newJWKSServer(tb testing.TB, keys ...testKey) *jwksServer {
	tb.Helper()
	s := &jwksServer{status: http.StatusOK}
	s.publish(tb, keys...)
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.hits.Add(1)
		s.mu.Lock()
		status, body := s.status, s.body
		s.mu.Unlock()
		if status != http.StatusOK {
			http.Error(w, "unavailable", status)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	tb.Cleanup(s.srv.Close)
	return s
}

// URL is the JWKS address, shaped like Supabase's.
func (s *jwksServer) URL() string {
	return s.srv.URL + "/auth/v1/.well-known/jwks.json"
}

// publish replaces the served keys.
func (s *jwksServer) publish(tb testing.TB, keys ...testKey) {
	tb.Helper()
	doc := jwkset.JWKSMarshal{Keys: []jwkset.JWKMarshal{}}
	for _, k := range keys {
		doc.Keys = append(doc.Keys, k.jwk(tb))
	}
	body, err := json.Marshal(doc)
	if err != nil {
		tb.Fatalf("marshal JWKS: %v", err)
	}
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

// setStatus makes the server answer with status (200 = healthy).
func (s *jwksServer) setStatus(status int) {
	s.mu.Lock()
	s.status = status
	s.mu.Unlock()
}

// Hits is the number of JWKS requests served so far.
func (s *jwksServer) Hits() int64 {
	return s.hits.Load()
}

// testClock is an adjustable clock for the verifier's Now hook.
type testClock struct {
	nanos atomic.Int64
}

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.nanos.Store(t.UnixNano())
	return c
}

// Now returns the clock's time.
func (c *testClock) Now() time.Time {
	return time.Unix(0, c.nanos.Load()).UTC()
}

// Advance moves the clock forward by d.
func (c *testClock) Advance(d time.Duration) {
	c.nanos.Add(int64(d))
}

// mustVerifier builds a verifier and closes it when the test ends.
func mustVerifier(tb testing.TB, cfg auth.TokenVerifierConfig) *auth.TokenVerifier {
	tb.Helper()
	v, err := auth.NewTokenVerifier(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("NewTokenVerifier: got error %v, want nil", err)
	}
	tb.Cleanup(v.Close)
	return v
}

// mustVerify fails the test unless token verifies.
func mustVerify(tb testing.TB, v *auth.TokenVerifier, token string) auth.Claims {
	tb.Helper()
	c, err := v.Verify(context.Background(), token)
	if err != nil {
		tb.Fatalf("Verify: got error %v, want nil", err)
	}
	return c
}

// mustReject fails the test unless Verify fails with ErrInvalidToken and a
// message that does not leak the token.
func mustReject(tb testing.TB, v *auth.TokenVerifier, token string) error {
	tb.Helper()
	_, err := v.Verify(context.Background(), token)
	if !errors.Is(err, auth.ErrInvalidToken) {
		tb.Fatalf("Verify: got error %v, want one wrapping ErrInvalidToken", err)
	}
	if len(token) > 8 && strings.Contains(err.Error(), token) {
		tb.Fatalf("Verify: error %q contains the token, want it kept out", err)
	}
	return err
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %v for %s: got still false, want true", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// countingHook counts OnRefreshError calls.
type countingHook struct {
	n atomic.Int64
}

func (h *countingHook) record(error) { h.n.Add(1) }

func (h *countingHook) count() int64 { return h.n.Load() }

// hmacHex is the documented webhook MAC, computed independently of the
// package so tests check the scheme and not just self-consistency.
func hmacHex(secret []byte, message string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(message))
	return hex.EncodeToString(m.Sum(nil))
}
