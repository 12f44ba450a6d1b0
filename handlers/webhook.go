package handlers

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

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

// sessionConnected is the orchestrator's webhook. The body is verified
// before it is parsed, so an unauthenticated caller cannot even reach the
// JSON decoder.
func sessionConnected(store SessionStore, verifier WebhookVerifier, bodyLimit int64, observe WebhookObserver, log *zap.Logger) echo.HandlerFunc {
	return func(c echo.Context) error {
		body, err := readBody(c, bodyLimit)
		if err != nil {
			observe("refused")
			return err
		}
		if err := verifier.Verify(c.Request().Header, body); err != nil {
			observe("refused")
			requestLogger(c, log).Info("webhook refused", zap.String("reason", err.Error()))
			return &supabase.Error{Code: supabase.CodeUnauthorized, Message: "webhook credentials are missing or invalid: sign the body (X-Webhook-Timestamp, X-Webhook-Signature) or send Authorization: Bearer <WEBHOOK_SECRET>", Err: err}
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
