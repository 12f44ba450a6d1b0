package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wasessions/gateway/auth"
)

func TestVerifyAcceptsValidTokens(t *testing.T) {
	es := newES256Key(t, "es-1")
	rs := newRS256Key(t, "rs-1")
	ed := newEdDSAKey(t, "ed-1")
	jwks := newJWKSServer(t, es, rs, ed)
	clock := newTestClock(testEpoch)
	v := mustVerifier(t, auth.TokenVerifierConfig{
		JWKSURL:     jwks.URL(),
		HS256Secret: testHS256Secret,
		HTTPClient:  jwks.srv.Client(),
		Now:         clock.Now,
	})
	claims := userClaims(clock.Now())

	tests := []struct {
		name  string
		token string
	}{
		{"ES256 from JWKS", es.sign(t, claims)},
		{"RS256 from JWKS", rs.sign(t, claims)},
		{"EdDSA from JWKS", ed.sign(t, claims)},
		{"HS256 legacy secret", signHS256(t, testHS256Secret, "", claims)},
		{"HS256 with a kid header", signHS256(t, testHS256Secret, "legacy", claims)},
		{"audience as a list", es.sign(t, edit(claims, jwt.MapClaims{"aud": []string{"other", "authenticated"}}))},
	}
	want := auth.Claims{
		Subject:   "5f7c2a9e-1b2d-4c3e-8f90-123456789abc",
		Role:      "authenticated",
		Email:     "ana@example.com",
		SessionID: "0a1b2c3d-sess",
		ExpiresAt: clock.Now().Add(time.Hour),
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustVerify(t, v, tt.token)
			if !got.ExpiresAt.Equal(want.ExpiresAt) {
				t.Errorf("ExpiresAt: got %v, want %v", got.ExpiresAt, want.ExpiresAt)
			}
			got.ExpiresAt = want.ExpiresAt
			if got != want {
				t.Errorf("claims: got %+v, want %+v", got, want)
			}
		})
	}
}

func TestVerifyRejectsForgedTokens(t *testing.T) {
	es := newES256Key(t, "es-1")
	rs := newRS256Key(t, "rs-1")
	impostor := newES256Key(t, "es-1") // same kid, different key
	stranger := newES256Key(t, "not-published")
	jwks := newJWKSServer(t, es, rs)
	clock := newTestClock(testEpoch)
	v := mustVerifier(t, auth.TokenVerifierConfig{
		JWKSURL:               jwks.URL(),
		HS256Secret:           testHS256Secret,
		HTTPClient:            jwks.srv.Client(),
		Leeway:                30 * time.Second,
		UnknownKIDRefreshRate: time.Hour,
		Now:                   clock.Now,
	})
	now := clock.Now()
	claims := userClaims(now)
	valid := es.sign(t, claims)
	parts := strings.Split(valid, ".")

	pubDER, err := x509.MarshalPKIXPublicKey(es.signer.Public())
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	none := jwt.NewWithClaims(jwt.SigningMethodNone, claims)
	none.Header["kid"] = es.kid
	noneToken, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatalf("sign alg none: %v", err)
	}
	noKID := jwt.NewWithClaims(jwt.SigningMethodES256, claims)
	noKIDToken, err := noKID.SignedString(es.signer)
	if err != nil {
		t.Fatalf("sign without kid: %v", err)
	}
	es384 := jwt.NewWithClaims(jwt.SigningMethodES384, claims)
	es384.Header["kid"] = es.kid
	es384Token, err := es384.SignedString(mustP384(t))
	if err != nil {
		t.Fatalf("sign ES384: %v", err)
	}
	rsWithESKID := testKey{kid: es.kid, method: rs.method, signer: rs.signer}

	tests := []struct {
		name   string
		token  string
		reason string // part of the error text the client will see
	}{
		{"missing", "", "missing"},
		{"garbage", "not-a-jwt", "malformed"},
		{"three garbage segments", "aaa.bbb.ccc", "malformed"},
		{"too large", strings.Repeat("a", 20<<10), "too large"},
		{"expired beyond leeway", es.sign(t, edit(claims, jwt.MapClaims{"exp": now.Add(-time.Minute).Unix()})), "expired"},
		{"nbf in the future beyond leeway", es.sign(t, edit(claims, jwt.MapClaims{"nbf": now.Add(time.Minute).Unix()})), "not valid yet"},
		{"iat in the future beyond leeway", es.sign(t, edit(claims, jwt.MapClaims{"iat": now.Add(time.Minute).Unix()})), "issued in the future"},
		{"wrong signature", impostor.sign(t, claims), "signature"},
		{"signature of another token", parts[0] + "." + parts[1] + "." + strings.Split(es.sign(t, edit(claims, jwt.MapClaims{"sub": "x"})), ".")[2], "signature"},
		{"claims altered after signing", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","aud":"authenticated","exp":9999999999}`)) + "." + parts[2], "signature"},
		{"alg none", noneToken, "signature"},
		{"alg none with a made-up signature", noneToken + "c2lnbmF0dXJl", "signature"},
		{"HS256 signed with public key DER", signHS256(t, pubDER, es.kid, claims), "signature"},
		{"HS256 signed with public key PEM", signHS256(t, pubPEM, es.kid, claims), "signature"},
		{"HS256 with the wrong secret", signHS256(t, []byte("another-secret-that-is-also-32-bytes-long"), "", claims), "signature"},
		{"RS256 header on an ES256 kid", rsWithESKID.sign(t, claims), "does not match its key"},
		{"algorithm not accepted (ES384)", es384Token, "algorithm is not accepted"},
		{"wrong audience", es.sign(t, edit(claims, jwt.MapClaims{"aud": "anon"})), "audience"},
		{"no audience", es.sign(t, edit(claims, nil, "aud")), "required claim"},
		{"unknown JWKS key", stranger.sign(t, claims), "unknown key"},
		{"no kid", noKIDToken, "no key id"},
		{"valid signature but no exp", es.sign(t, edit(claims, nil, "exp")), "required claim"},
		{"valid signature but no sub", es.sign(t, edit(claims, nil, "sub")), "no subject"},
		{"exp of the wrong type", es.sign(t, edit(claims, jwt.MapClaims{"exp": "tomorrow"})), "malformed"},
		{"session_id of the wrong type", es.sign(t, edit(claims, jwt.MapClaims{"session_id": 7})), "malformed"},
		{"legacy service_role key shape", signHS256(t, testHS256Secret, "", jwt.MapClaims{"iss": "supabase", "role": "service_role", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}), "required claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := mustReject(t, v, tt.token); !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Verify: got error %q, want its reason to mention %q", err, tt.reason)
			}
		})
	}
	if n := auth.CachedTokens(v); n != 0 {
		t.Errorf("cached tokens after only failures: got %d, want 0", n)
	}
}

func mustP384(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		tb.Fatalf("generate P-384 key: %v", err)
	}
	return k
}

func TestVerifyHonoursLeeway(t *testing.T) {
	es := newES256Key(t, "es-1")
	jwks := newJWKSServer(t, es)
	clock := newTestClock(testEpoch)
	v := mustVerifier(t, auth.TokenVerifierConfig{
		JWKSURL:    jwks.URL(),
		HTTPClient: jwks.srv.Client(),
		Leeway:     30 * time.Second,
		Now:        clock.Now,
	})
	now := clock.Now()
	claims := userClaims(now)
	tests := []struct {
		name string
		set  jwt.MapClaims
	}{
		{"expired within leeway", jwt.MapClaims{"exp": now.Add(-10 * time.Second).Unix()}},
		{"nbf within leeway", jwt.MapClaims{"nbf": now.Add(10 * time.Second).Unix()}},
		{"iat within leeway", jwt.MapClaims{"iat": now.Add(10 * time.Second).Unix()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustVerify(t, v, es.sign(t, edit(claims, tt.set)))
		})
	}
}

func TestVerifyAcceptsOnlyConfiguredKeyKinds(t *testing.T) {
	es := newES256Key(t, "es-1")
	jwks := newJWKSServer(t, es)
	claims := userClaims(time.Now())

	jwksOnly := mustVerifier(t, auth.TokenVerifierConfig{JWKSURL: jwks.URL(), HTTPClient: jwks.srv.Client()})
	mustVerify(t, jwksOnly, es.sign(t, claims))
	mustReject(t, jwksOnly, signHS256(t, testHS256Secret, "", claims))
	pubDER, err := x509.MarshalPKIXPublicKey(es.signer.Public())
	if err != nil {
		t.Fatalf("marshal public key: %v", err)
	}
	mustReject(t, jwksOnly, signHS256(t, pubDER, es.kid, claims))

	hsOnly := mustVerifier(t, auth.TokenVerifierConfig{HS256Secret: testHS256Secret})
	mustVerify(t, hsOnly, signHS256(t, testHS256Secret, "", claims))
	mustReject(t, hsOnly, es.sign(t, claims))
}

func TestNewTokenVerifierRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  auth.TokenVerifierConfig
	}{
		{"nothing to verify with", auth.TokenVerifierConfig{}},
		{"short HS256 secret", auth.TokenVerifierConfig{HS256Secret: []byte("short")}},
		{"relative JWKS URL", auth.TokenVerifierConfig{JWKSURL: "/auth/v1/.well-known/jwks.json"}},
		{"non-HTTP JWKS URL", auth.TokenVerifierConfig{JWKSURL: "file:///etc/jwks.json"}},
		{"negative leeway", auth.TokenVerifierConfig{HS256Secret: testHS256Secret, Leeway: -time.Second}},
		{"huge leeway", auth.TokenVerifierConfig{HS256Secret: testHS256Secret, Leeway: time.Hour}},
		{"negative refresh interval", auth.TokenVerifierConfig{HS256Secret: testHS256Secret, RefreshInterval: -time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := auth.NewTokenVerifier(context.Background(), tt.cfg)
			if err == nil {
				v.Close()
				t.Fatal("NewTokenVerifier: got nil error, want a configuration error")
			}
			if strings.Contains(err.Error(), string(testHS256Secret)) {
				t.Errorf("error %q contains the secret, want it kept out", err)
			}
		})
	}
}

func TestVerifyIsSafeForConcurrentUse(t *testing.T) {
	es := newES256Key(t, "es-1")
	jwks := newJWKSServer(t, es)
	v := mustVerifier(t, auth.TokenVerifierConfig{
		JWKSURL:         jwks.URL(),
		HS256Secret:     testHS256Secret,
		HTTPClient:      jwks.srv.Client(),
		RefreshInterval: 5 * time.Millisecond,
		CacheSize:       8,
	})
	tokens := []string{
		es.sign(t, userClaims(time.Now())),
		signHS256(t, testHS256Secret, "", userClaims(time.Now())),
	}
	for i := range 20 {
		tokens = append(tokens, signHS256(t, testHS256Secret, "", edit(userClaims(time.Now()), jwt.MapClaims{"session_id": fmt.Sprint(i)})))
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			var err error
			for i := range 500 {
				if _, e := v.Verify(context.Background(), tokens[i%len(tokens)]); e != nil && err == nil {
					err = e
				}
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent Verify: got error %v, want nil", err)
		}
	}
}

func TestVerifyChecksIssuerWhenConfigured(t *testing.T) {
	clock := newTestClock(testEpoch)
	v := mustVerifier(t, auth.TokenVerifierConfig{HS256Secret: testHS256Secret, Issuer: "https://abcd.supabase.co/auth/v1", Now: clock.Now})
	claims := userClaims(clock.Now())
	if _, err := v.Verify(context.Background(), signHS256(t, testHS256Secret, "", edit(claims, jwt.MapClaims{"iss": "https://abcd.supabase.co/auth/v1"}))); err != nil {
		t.Errorf("got %v for the project's issuer, want success", err)
	}
	for _, iss := range []string{"https://other.supabase.co/auth/v1", ""} {
		_, err := v.Verify(context.Background(), signHS256(t, testHS256Secret, "", edit(claims, jwt.MapClaims{"iss": iss})))
		if !errors.Is(err, auth.ErrInvalidToken) {
			t.Errorf("iss %q: got %v, want ErrInvalidToken", iss, err)
		}
	}
}
