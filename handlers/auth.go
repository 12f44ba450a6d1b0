package handlers

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/auth"
	"github.com/wasessions/gateway/supabase"
)

// TokenVerifier checks a Supabase Auth access token.
type TokenVerifier interface {
	Verify(ctx context.Context, token string) (auth.Claims, error)
}

// claimsKey is where requireUser leaves the caller's claims.
const claimsKey = "auth.claims"

// requireUser lets a request through only with a valid Supabase access
// token in Authorization: Bearer.
func requireUser(verifier TokenVerifier, log *zap.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
			if !ok {
				return supabase.Errorf(supabase.CodeUnauthorized, "send the user's Supabase access token as Authorization: Bearer <token>")
			}
			claims, err := verifier.Verify(c.Request().Context(), token)
			if err != nil {
				requestLogger(c, log).Info("token refused", zap.String("reason", err.Error()))
				return &supabase.Error{Code: supabase.CodeUnauthorized, Message: "the access token is invalid or expired; sign in again to get a fresh one", Err: err}
			}
			c.Set(claimsKey, claims)
			return next(c)
		}
	}
}

// bearerToken extracts the token of an "Authorization: Bearer x" header.
func bearerToken(header string) (string, bool) {
	const prefix = "bearer "
	if len(header) <= len(prefix) || !strings.EqualFold(header[:len(prefix)], prefix) {
		return "", false
	}
	token := strings.TrimSpace(header[len(prefix):])
	return token, token != ""
}
