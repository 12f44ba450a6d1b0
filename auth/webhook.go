package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of the orchestrator's webhook signature.
const (
	// HeaderWebhookSignature carries "sha256=" and the hex HMAC-SHA256 of
	// the timestamp, a dot, and the raw body (Sign writes lowercase hex; either
	// case is accepted).
	HeaderWebhookSignature = "X-Webhook-Signature"
	// HeaderWebhookTimestamp carries the signing time in unix seconds.
	HeaderWebhookTimestamp = "X-Webhook-Timestamp"
)

const (
	// DefaultWebhookWindow is how far a signature's timestamp may be from now,
	// in either direction, when NewWebhookVerifier is given no window.
	DefaultWebhookWindow = 300 * time.Second
	signaturePrefix      = "sha256="
	// maxTimestampDigits keeps the parse and time arithmetic far from
	// overflow; unix seconds need 10 digits until the year 2286.
	maxTimestampDigits = 12
)

// WebhookVerifier authenticates orchestrator webhooks with WEBHOOK_SECRET.
// It is safe for concurrent use.
type WebhookVerifier struct {
	secret []byte
	// secretDigest lets the bearer check compare fixed-size values, so the
	// comparison time reveals neither the secret's content nor its length.
	secretDigest [sha256.Size]byte
	window       time.Duration
	now          func() time.Time
}

// NewWebhookVerifier returns a verifier for secret (copied). window is the
// allowed distance between the signature's timestamp and now, past or future;
// 0 or less means DefaultWebhookWindow. now nil means time.Now. An empty
// secret makes every request fail: an unset secret must not turn
// "Authorization: Bearer " into a valid credential.
func NewWebhookVerifier(secret []byte, window time.Duration, now func() time.Time) *WebhookVerifier {
	if window <= 0 {
		window = DefaultWebhookWindow
	}
	if now == nil {
		now = time.Now
	}
	return &WebhookVerifier{
		secret:       append([]byte(nil), secret...),
		secretDigest: sha256.Sum256(secret),
		window:       window,
		now:          now,
	}
}

// Verify authenticates a webhook from its headers and raw body, which must be
// the exact bytes received, before any parsing. Two credentials are accepted:
//
//   - X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//     with X-Webhook-Timestamp in unix seconds within the window of now;
//   - Authorization: Bearer <secret>, for orchestrators that cannot sign.
//
// If X-Webhook-Signature is present at all, the signature alone decides and
// Authorization is ignored: a sender that signs wants its body and time
// checked, and a failing signature (altered body, skewed clock, replay) must
// be reported, not masked by a fallback. Comparisons are constant-time. Every
// error wraps ErrInvalidWebhookSignature.
func (w *WebhookVerifier) Verify(h http.Header, body []byte) error {
	if len(w.secret) == 0 {
		return invalidWebhook("webhook secret is not configured")
	}
	if sigs := h.Values(HeaderWebhookSignature); len(sigs) > 0 {
		if len(sigs) > 1 {
			return invalidWebhook("send exactly one " + HeaderWebhookSignature + " header")
		}
		return w.verifySignature(sigs[0], h.Values(HeaderWebhookTimestamp), body)
	}
	if auth := h.Get("Authorization"); auth != "" {
		return w.verifyBearer(auth)
	}
	return invalidWebhook("missing " + HeaderWebhookSignature + " or Authorization: Bearer credentials")
}

// verifySignature checks the HMAC signature and its timestamp.
func (w *WebhookVerifier) verifySignature(sig string, timestamps []string, body []byte) error {
	hexSig, ok := strings.CutPrefix(sig, signaturePrefix)
	if !ok {
		return invalidWebhook(HeaderWebhookSignature + " must look like sha256=<hex>")
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return invalidWebhook(HeaderWebhookSignature + " must carry 64 hex digits after sha256=")
	}
	if len(timestamps) != 1 {
		return invalidWebhook("send exactly one " + HeaderWebhookTimestamp + " header with the signature")
	}
	ts := timestamps[0]
	at, ok := parseUnixSeconds(ts)
	if !ok {
		return invalidWebhook(HeaderWebhookTimestamp + " must be unix seconds")
	}
	// The window applies both ways: an old timestamp is a replay, one in the
	// future would let a captured request be replayed later.
	if skew := w.now().Sub(at); skew > w.window || skew < -w.window {
		return invalidWebhook(HeaderWebhookTimestamp + " is outside the allowed window; check the sender's clock")
	}
	if !hmac.Equal(got, w.mac(ts, body)) {
		return invalidWebhook("signature does not match the body and timestamp")
	}
	return nil
}

// verifyBearer checks "Bearer <secret>".
func (w *WebhookVerifier) verifyBearer(auth string) error {
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return invalidWebhook("Authorization must be \"Bearer <webhook secret>\"")
	}
	digest := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(digest[:], w.secretDigest[:]) != 1 {
		return invalidWebhook("bearer token is not the webhook secret")
	}
	return nil
}

// Sign returns the two header values for body signed at the given time. It
// exists for tests and benchmarks and documents the scheme for senders.
func (w *WebhookVerifier) Sign(body []byte, at time.Time) (timestamp, signature string) {
	timestamp = strconv.FormatInt(at.Unix(), 10)
	return timestamp, signaturePrefix + hex.EncodeToString(w.mac(timestamp, body))
}

// mac computes HMAC-SHA256(secret, timestamp + "." + body) without joining
// the strings, since the body can be large.
func (w *WebhookVerifier) mac(timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, w.secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// parseUnixSeconds accepts only plain decimal digits. strconv alone would also
// take a sign, and the documented "unix seconds" leaves no room for "+" or a
// time before 1970.
func parseUnixSeconds(s string) (time.Time, bool) {
	if s == "" || len(s) > maxTimestampDigits {
		return time.Time{}, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}
