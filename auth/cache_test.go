package auth_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wasessions/gateway/auth"
)

func TestVerifyCachesValidTokens(t *testing.T) {
	es := newES256Key(t, "es-1")
	jwks := newJWKSServer(t, es)
	v := mustVerifier(t, auth.TokenVerifierConfig{JWKSURL: jwks.URL(), HTTPClient: jwks.srv.Client()})
	token := es.sign(t, userClaims(time.Now()))
	first := mustVerify(t, v, token)
	second := mustVerify(t, v, token)
	if first != second {
		t.Errorf("claims from cache: got %+v, want %+v", second, first)
	}
	if n := auth.CachedTokens(v); n != 1 {
		t.Errorf("cached tokens: got %d, want 1", n)
	}
}

func TestVerifyCacheIsBounded(t *testing.T) {
	clock := newTestClock(testEpoch)
	const size = 64
	v := mustVerifier(t, auth.TokenVerifierConfig{HS256Secret: testHS256Secret, CacheSize: size, Now: clock.Now})
	for i := range 10 * size {
		claims := edit(userClaims(clock.Now()), jwt.MapClaims{"session_id": fmt.Sprint(i)})
		mustVerify(t, v, signHS256(t, testHS256Secret, "", claims))
	}
	// Shards round their share up, so allow one extra entry per shard.
	if n := auth.CachedTokens(v); n > 2*size {
		t.Errorf("cached tokens after %d distinct ones: got %d, want at most %d", 10*size, n, 2*size)
	}
}

func TestCachedTokenRejectedAfterExpiry(t *testing.T) {
	tests := []struct {
		name   string
		leeway time.Duration
	}{
		{"no leeway", 0},
		{"with leeway", 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es := newES256Key(t, "es-1")
			jwks := newJWKSServer(t, es)
			clock := newTestClock(testEpoch)
			v := mustVerifier(t, auth.TokenVerifierConfig{
				JWKSURL:    jwks.URL(),
				HTTPClient: jwks.srv.Client(),
				Leeway:     tt.leeway,
				Now:        clock.Now,
			})
			token := es.sign(t, edit(userClaims(clock.Now()), jwt.MapClaims{"exp": clock.Now().Add(time.Minute).Unix()}))
			mustVerify(t, v, token)

			clock.Advance(time.Minute + tt.leeway - time.Second)
			mustVerify(t, v, token) // still inside exp+leeway: served from cache
			clock.Advance(time.Second)
			mustReject(t, v, token)
		})
	}
}

func TestCachedTokenRejectedAfterKeyLeavesJWKS(t *testing.T) {
	old := newES256Key(t, "old")
	next := newES256Key(t, "next")
	jwks := newJWKSServer(t, old, next)
	v := mustVerifier(t, auth.TokenVerifierConfig{
		JWKSURL:               jwks.URL(),
		HTTPClient:            jwks.srv.Client(),
		RefreshInterval:       20 * time.Millisecond,
		UnknownKIDRefreshRate: time.Hour,
	})
	token := old.sign(t, userClaims(time.Now()))
	mustVerify(t, v, token)
	if n := auth.CachedTokens(v); n != 1 {
		t.Fatalf("cached tokens: got %d, want 1", n)
	}

	jwks.publish(t, next)
	seen := jwks.Hits()
	waitFor(t, 5*time.Second, "two background refreshes", func() bool { return jwks.Hits() >= seen+2 })
	mustReject(t, v, token)
	mustVerify(t, v, next.sign(t, userClaims(time.Now())))
}
