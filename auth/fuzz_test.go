package auth_test

import (
	"context"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wasessions/gateway/auth"
)

// FuzzTokenVerify feeds arbitrary strings to Verify. Whatever the input, it
// must not panic; a failure must wrap ErrInvalidToken with one of the fixed
// reasons (so nothing from the input reaches the client); a success must be a
// live token with a subject, and verify again to the same claims.
// The committed corpus holds HS256 tokens signed with testHS256Secret at
// testEpoch, valid and subtly broken.
func FuzzTokenVerify(f *testing.F) {
	es := newES256Key(f, "es-1")
	jwks := newJWKSServer(f, es)
	clock := newTestClock(testEpoch)
	v := mustVerifier(f, auth.TokenVerifierConfig{
		JWKSURL:               jwks.URL(),
		HS256Secret:           testHS256Secret,
		HTTPClient:            jwks.srv.Client(),
		UnknownKIDRefreshRate: time.Hour, // the fuzzer invents kids; keep the server quiet
		Now:                   clock.Now,
	})
	now := clock.Now()
	claims := userClaims(now)
	f.Add(es.sign(f, claims))
	f.Add(es.sign(f, edit(claims, nil, "exp")))
	f.Add(signHS256(f, testHS256Secret, "", claims))
	f.Add(signHS256(f, testHS256Secret, "es-1", edit(claims, jwt.MapClaims{"aud": []string{"x", "authenticated"}})))
	f.Add("")
	f.Add("a.b.c")

	reasons := auth.TokenReasons()
	prefix := auth.ErrInvalidToken.Error() + ": "
	f.Fuzz(func(t *testing.T, token string) {
		got, err := v.Verify(context.Background(), token)
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidToken) {
				t.Fatalf("Verify: got error %v, want one wrapping ErrInvalidToken", err)
			}
			if reason, ok := strings.CutPrefix(err.Error(), prefix); !ok || !slices.Contains(reasons, reason) {
				t.Fatalf("Verify: got error text %q, want %q followed by a fixed reason", err, prefix)
			}
			return
		}
		if got.Subject == "" || !got.ExpiresAt.After(now) {
			t.Fatalf("Verify: accepted claims %+v, want a subject and an exp after %v", got, now)
		}
		again, err := v.Verify(context.Background(), token)
		if err != nil || again != got {
			t.Fatalf("second Verify: got (%+v, %v), want (%+v, nil)", again, err, got)
		}
	})
}

// FuzzWebhookVerify feeds arbitrary header values and bodies to Verify. It
// must not panic, must never put the secret in an error, and may accept a
// request only when it carries the documented MAC with a timestamp inside the
// window, or, without a signature header, exactly "Bearer <secret>".
func FuzzWebhookVerify(f *testing.F) {
	now := testEpoch
	w := auth.NewWebhookVerifier([]byte(testWebhookSecret), 300*time.Second, func() time.Time { return now })
	body := []byte(`{"session_id":"s1","status":"connected"}`)
	ts, sig := w.Sign(body, now)
	f.Add(sig, ts, "", body)
	f.Add("", "", "Bearer "+testWebhookSecret, body)
	f.Add(sig, ts, "Bearer nope", []byte(`{}`))
	f.Add("sha256=", "", "", []byte(nil))

	f.Fuzz(func(t *testing.T, signature, timestamp, authorization string, body []byte) {
		h := http.Header{}
		if signature != "" {
			h.Set(auth.HeaderWebhookSignature, signature)
		}
		if timestamp != "" {
			h.Set(auth.HeaderWebhookTimestamp, timestamp)
		}
		if authorization != "" {
			h.Set("Authorization", authorization)
		}
		err := w.Verify(h, body)
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidWebhookSignature) {
				t.Fatalf("Verify: got error %v, want one wrapping ErrInvalidWebhookSignature", err)
			}
			if strings.Contains(err.Error(), testWebhookSecret) {
				t.Fatalf("Verify: error %q contains the secret", err)
			}
			return
		}
		if signature != "" {
			want := "sha256=" + hmacHex([]byte(testWebhookSecret), timestamp+"."+string(body))
			if !strings.EqualFold(signature, want) || !strings.HasPrefix(signature, "sha256=") {
				t.Fatalf("Verify accepted signature %q, want only %q", signature, want)
			}
			secs, perr := strconv.ParseUint(timestamp, 10, 63)
			if perr != nil {
				t.Fatalf("Verify accepted timestamp %q, want unix seconds", timestamp)
			}
			if skew := now.Sub(time.Unix(int64(secs), 0)); skew > 300*time.Second || skew < -300*time.Second {
				t.Fatalf("Verify accepted timestamp %q (%v from now), want within 300s", timestamp, skew)
			}
			return
		}
		scheme, token, _ := strings.Cut(authorization, " ")
		if !strings.EqualFold(scheme, "Bearer") || token != testWebhookSecret {
			t.Fatalf("Verify accepted Authorization %q, want only Bearer <secret>", authorization)
		}
	})
}

// TestCommittedTokenSeeds keeps the committed corpus meaningful: its "valid"
// seeds must still verify under the fuzz target's configuration, so the
// fuzzer starts from the accepting path too, and its broken ones must not.
func TestCommittedTokenSeeds(t *testing.T) {
	v := mustVerifier(t, auth.TokenVerifierConfig{
		HS256Secret: testHS256Secret,
		Now:         newTestClock(testEpoch).Now,
	})
	tests := []struct {
		seed      string
		wantValid bool
	}{
		{"hs256_valid", true},
		{"hs256_valid_with_kid", true},
		{"hs256_valid_aud_list", true},
		{"hs256_expired", false},
		{"hs256_wrong_secret", false},
		{"hs256_no_exp", false},
		{"alg_none", false},
		{"padded_segments", false},
	}
	for _, tt := range tests {
		t.Run(tt.seed, func(t *testing.T) {
			token := readStringSeed(t, "testdata/fuzz/FuzzTokenVerify/"+tt.seed)
			_, err := v.Verify(context.Background(), token)
			if got := err == nil; got != tt.wantValid {
				t.Errorf("seed %s verifies: got %v (%v), want %v", tt.seed, got, err, tt.wantValid)
			}
		})
	}
}

// readStringSeed returns the single string value of a "go test fuzz v1" file.
func readStringSeed(tb testing.TB, path string) string {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("read seed: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 2 || lines[0] != "go test fuzz v1" {
		tb.Fatalf("seed %s: got %d lines, want a header and one value", path, len(lines))
	}
	quoted, ok := strings.CutPrefix(lines[1], "string(")
	quoted, ok2 := strings.CutSuffix(quoted, ")")
	s, err := strconv.Unquote(quoted)
	if !ok || !ok2 || err != nil {
		tb.Fatalf("seed %s: got %q, want string(\"...\")", path, lines[1])
	}
	return s
}
