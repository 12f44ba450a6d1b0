package auth_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wasessions/gateway/auth"
)

// Run with: go test -run '^$' -bench . -benchmem ./auth/

// BenchmarkVerifyCached is the common case: a client repeating its token.
func BenchmarkVerifyCached(b *testing.B) {
	es := newES256Key(b, "es-1")
	jwks := newJWKSServer(b, es)
	v := mustVerifier(b, auth.TokenVerifierConfig{JWKSURL: jwks.URL(), HTTPClient: jwks.srv.Client()})
	token := es.sign(b, userClaims(time.Now()))
	mustVerify(b, v, token)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCachedParallel shows the sharded cache under contention.
func BenchmarkVerifyCachedParallel(b *testing.B) {
	es := newES256Key(b, "es-1")
	jwks := newJWKSServer(b, es)
	v := mustVerifier(b, auth.TokenVerifierConfig{JWKSURL: jwks.URL(), HTTPClient: jwks.srv.Client()})
	tokens := make([]string, 64)
	for i := range tokens {
		tokens[i] = es.sign(b, edit(userClaims(time.Now()), jwt.MapClaims{"session_id": fmt.Sprint(i)}))
		mustVerify(b, v, tokens[i])
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(ctx, tokens[i%len(tokens)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkVerifyUncachedES256 is the full check a new token costs.
func BenchmarkVerifyUncachedES256(b *testing.B) {
	es := newES256Key(b, "es-1")
	jwks := newJWKSServer(b, es)
	v := mustVerifier(b, auth.TokenVerifierConfig{JWKSURL: jwks.URL(), HTTPClient: jwks.srv.Client(), CacheSize: -1})
	token := es.sign(b, userClaims(time.Now()))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyHS256 is the full check of a legacy HS256 token.
func BenchmarkVerifyHS256(b *testing.B) {
	v := mustVerifier(b, auth.TokenVerifierConfig{HS256Secret: testHS256Secret, CacheSize: -1})
	token := signHS256(b, testHS256Secret, "", userClaims(time.Now()))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWebhookVerify checks a signed webhook of a typical size.
func BenchmarkWebhookVerify(b *testing.B) {
	now := time.Now()
	w := auth.NewWebhookVerifier([]byte(testWebhookSecret), 0, func() time.Time { return now })
	body := []byte(`{"session_id":"session_1705312200123_abc123def","phone_number":"5215512345678","status":"connected","last_seen":"2025-01-15T10:00:00Z","auth_folder_path":"/data/auth/session_1705312200123_abc123def","server_port":3001,"whatsapp_user_id":"5215512345678@s.whatsapp.net","created_at":"2025-01-15T09:59:00Z","updated_at":"2025-01-15T10:00:00Z"}`)
	ts, sig := w.Sign(body, now)
	h := http.Header{}
	h.Set(auth.HeaderWebhookSignature, sig)
	h.Set(auth.HeaderWebhookTimestamp, ts)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Verify(h, body); err != nil {
			b.Fatal(err)
		}
	}
}
