// Package auth owns the gateway's two credential checks, as pure verification
// logic with no HTTP routing: TokenVerifier proves that a frontend request
// carries a live Supabase Auth access token (asymmetric keys from the project's
// JWKS, or the legacy HS256 secret), and WebhookVerifier proves that an
// orchestrator webhook was sent by a holder of WEBHOOK_SECRET, either by an
// HMAC signature over the raw body or by the secret as a bearer token. Every
// failure wraps ErrInvalidToken or ErrInvalidWebhookSignature with a short
// reason that is safe to show a client; the HTTP middleware built on top maps
// both to 401.
package auth
