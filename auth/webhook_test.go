package auth_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wasessions/gateway/auth"
)

const testWebhookSecret = "whsec-test-0123456789abcdef0123456789"

// webhookHeaders builds a header set from name/value pairs.
func webhookHeaders(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestWebhookVerify(t *testing.T) {
	now := testEpoch
	w := auth.NewWebhookVerifier([]byte(testWebhookSecret), 300*time.Second, func() time.Time { return now })
	other := auth.NewWebhookVerifier([]byte("another-secret-entirely-0123456789"), 0, nil)
	body := []byte(`{"session_id":"session_1705312200123_abc123def","status":"connected"}`)
	ts, sig := w.Sign(body, now)
	oldTS, oldSig := w.Sign(body, now.Add(-301*time.Second))
	edgeTS, edgeSig := w.Sign(body, now.Add(-300*time.Second))
	futureTS, futureSig := w.Sign(body, now.Add(301*time.Second))
	_, wrongSig := other.Sign(body, now)
	userJWT := signHS256(t, testHS256Secret, "", userClaims(now))
	const (
		sigH  = auth.HeaderWebhookSignature
		tsH   = auth.HeaderWebhookTimestamp
		authH = "Authorization"
	)

	tests := []struct {
		name    string
		headers http.Header
		body    []byte
		wantErr string // empty: must verify
	}{
		{"valid signature", webhookHeaders(sigH, sig, tsH, ts), body, ""},
		{"valid signature in uppercase hex", webhookHeaders(sigH, "sha256="+strings.ToUpper(strings.TrimPrefix(sig, "sha256=")), tsH, ts), body, ""},
		{"valid signature at the window's edge", webhookHeaders(sigH, edgeSig, tsH, edgeTS), body, ""},
		{"valid bearer", webhookHeaders(authH, "Bearer "+testWebhookSecret), body, ""},
		{"valid bearer, lowercase scheme", webhookHeaders(authH, "bearer "+testWebhookSecret), body, ""},
		{"unsigned", webhookHeaders(), body, "missing"},
		{"signature by the wrong secret", webhookHeaders(sigH, wrongSig, tsH, ts), body, "does not match"},
		{"bearer with the wrong secret", webhookHeaders(authH, "Bearer not-the-secret"), body, "not the webhook secret"},
		{"bearer with the secret as a prefix", webhookHeaders(authH, "Bearer "+testWebhookSecret+"x"), body, "not the webhook secret"},
		{"bearer without a token", webhookHeaders(authH, "Bearer "), body, "Bearer"},
		{"basic auth with the secret", webhookHeaders(authH, "Basic "+testWebhookSecret), body, "Bearer"},
		{"stale timestamp", webhookHeaders(sigH, oldSig, tsH, oldTS), body, "window"},
		{"future timestamp", webhookHeaders(sigH, futureSig, tsH, futureTS), body, "window"},
		{"malformed timestamp", webhookHeaders(sigH, sig, tsH, "yesterday"), body, "unix seconds"},
		{"signed timestamp with a plus sign", webhookHeaders(sigH, signedAs(body, "+"+ts), tsH, "+"+ts), body, "unix seconds"},
		{"timestamp in milliseconds", webhookHeaders(sigH, signedAs(body, ts+"000"), tsH, ts+"000"), body, "unix seconds"},
		{"missing timestamp", webhookHeaders(sigH, sig), body, "exactly one"},
		{"two timestamps", webhookHeaders(sigH, sig, tsH, ts, tsH, ts), body, "exactly one"},
		{"two signatures", webhookHeaders(sigH, sig, sigH, sig, tsH, ts), body, "exactly one"},
		{"body altered after signing", webhookHeaders(sigH, sig, tsH, ts), []byte(strings.Replace(string(body), "connected", "expired", 1)), "does not match"},
		{"body with trailing newline", webhookHeaders(sigH, sig, tsH, ts), append(append([]byte(nil), body...), '\n'), "does not match"},
		{"signature without sha256= prefix", webhookHeaders(sigH, strings.TrimPrefix(sig, "sha256="), tsH, ts), body, "sha256="},
		{"signature with another algorithm", webhookHeaders(sigH, "sha1="+strings.TrimPrefix(sig, "sha256="), tsH, ts), body, "sha256="},
		{"signature not hex", webhookHeaders(sigH, "sha256=zz", tsH, ts), body, "hex"},
		{"signature truncated", webhookHeaders(sigH, sig[:len(sig)-2], tsH, ts), body, "hex"},
		{"empty signature header", webhookHeaders(sigH, "", tsH, ts), body, "sha256="},
		{"user JWT as bearer", webhookHeaders(authH, "Bearer "+userJWT), body, "not the webhook secret"},
		{"bad signature does not fall back to a valid bearer", webhookHeaders(sigH, wrongSig, tsH, ts, authH, "Bearer "+testWebhookSecret), body, "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := w.Verify(tt.headers, tt.body)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Verify: got error %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, auth.ErrInvalidWebhookSignature) {
				t.Fatalf("Verify: got error %v, want one wrapping ErrInvalidWebhookSignature", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Verify: got error %q, want it to mention %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testWebhookSecret) {
				t.Errorf("Verify: error %q contains the secret, want it kept out", err)
			}
		})
	}
}

// signedAs signs body under a timestamp text of the caller's choosing, which
// Sign cannot produce, to show that a correct MAC does not rescue a timestamp
// the API does not allow.
func signedAs(body []byte, timestamp string) string {
	return "sha256=" + hmacHex([]byte(testWebhookSecret), timestamp+"."+string(body))
}

func TestWebhookVerifyWithEmptySecretRejectsEverything(t *testing.T) {
	w := auth.NewWebhookVerifier(nil, 0, nil)
	ts, sig := w.Sign([]byte("{}"), time.Now())
	tests := []struct {
		name    string
		headers http.Header
	}{
		{"empty bearer", webhookHeaders("Authorization", "Bearer ")},
		{"bearer of nothing but spaces", webhookHeaders("Authorization", "Bearer  ")},
		{"signature with the empty key", webhookHeaders(auth.HeaderWebhookSignature, sig, auth.HeaderWebhookTimestamp, ts)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := w.Verify(tt.headers, []byte("{}")); !errors.Is(err, auth.ErrInvalidWebhookSignature) {
				t.Errorf("Verify: got error %v, want one wrapping ErrInvalidWebhookSignature", err)
			}
		})
	}
}

func TestWebhookSignMatchesDocumentedScheme(t *testing.T) {
	w := auth.NewWebhookVerifier([]byte(testWebhookSecret), 0, nil)
	body := []byte(`{"a":1}`)
	at := time.Unix(1705312200, 0)
	ts, sig := w.Sign(body, at)
	if want := strconv.FormatInt(at.Unix(), 10); ts != want {
		t.Errorf("timestamp: got %q, want %q", ts, want)
	}
	if want := "sha256=" + hmacHex([]byte(testWebhookSecret), ts+"."+string(body)); sig != want {
		t.Errorf("signature: got %q, want %q", sig, want)
	}
}
