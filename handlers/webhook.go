package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/auth"
	"github.com/wasessions/gateway/supabase"
)

// WebhookVerifier checks that a webhook delivery comes from the
// orchestrator. It sees the raw body before anything parses it.
type WebhookVerifier interface {
	Verify(h http.Header, body []byte) error
}

// WebhookObserver is told the outcome of every delivery (applied,
// duplicate, stale, early, refused), e.g. to count them.
type WebhookObserver func(outcome string)

// sessionConnected is the orchestrator's webhook. Credentials come first:
// a caller with none is refused before the body is read, and the raw body
// is verified before anything parses it, so an unauthenticated caller
// cannot reach the JSON decoder (or learn anything from a 413 or 415).
func sessionConnected(store SessionStore, verifier WebhookVerifier, bodyLimit int64, observe WebhookObserver, log *zap.Logger) echo.HandlerFunc {
	refuse := func(c echo.Context, reason error) error {
		observe("refused")
		requestLogger(c, log).Info("webhook refused", zap.String("reason", reason.Error()))
		return &supabase.Error{Code: supabase.CodeUnauthorized, Message: "webhook credentials are missing or invalid: sign the body (X-Webhook-Timestamp, X-Webhook-Signature) or send Authorization: Bearer <WEBHOOK_SECRET>", Err: reason}
	}
	return func(c echo.Context) error {
		h := c.Request().Header
		signed := h.Get(auth.HeaderWebhookSignature) != ""
		if !signed {
			if h.Get(echo.HeaderAuthorization) == "" {
				return refuse(c, errNoWebhookCredentials)
			}
			// A bearer secret does not depend on the body: check it first.
			if err := verifier.Verify(h, nil); err != nil {
				return refuse(c, err)
			}
		}
		body, err := readLimited(c, bodyLimit)
		if err != nil {
			if signed && supabase.ErrorCode(err) == supabase.CodePayloadTooLarge {
				// A body that cannot be read whole cannot be verified.
				return refuse(c, errUnverifiableBody)
			}
			observe("refused")
			return err
		}
		if signed {
			if err := verifier.Verify(h, body); err != nil {
				return refuse(c, err)
			}
		}
		if err := requireJSON(c); err != nil {
			return err
		}
		var conn supabase.Connection
		if err := decodeStrict(body, &conn); err != nil {
			return err
		}
		if err := conn.Validate(); err != nil {
			return err
		}
		res, err := store.ApplyConnection(c.Request().Context(), conn)
		if err != nil {
			return err
		}
		observe(res.Outcome)
		return writeRaw(c, http.StatusOK, res.Session)
	}
}

var (
	errNoWebhookCredentials = errors.New("no Authorization or X-Webhook-Signature header")
	errUnverifiableBody     = errors.New("signed body is over the size limit and cannot be verified")
)
