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

// claimsKey is where requireUser leaves the caller's claims, scopeKey the
// sessions they may see and change.
const (
	claimsKey = "auth.claims"
	scopeKey  = "auth.scope"
)

// requireUser lets a request through only with a valid Supabase access
// token in Authorization: Bearer, and decides the caller's scope: every
// session for an operator (Claims.Admin) or when sessions have no owner,
// otherwise the sessions the token's user owns. A token whose subject is
// not a user id names no owner, so it is refused.
func requireUser(verifier TokenVerifier, ownership supabase.Ownership, log *zap.Logger) echo.MiddlewareFunc {
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
			scope := supabase.Everyone
			if !claims.Admin {
				if scope, err = ownership.For(claims.Subject); err != nil {
					requestLogger(c, log).Info("token refused", zap.String("reason", err.Error()))
					return &supabase.Error{Code: supabase.CodeUnauthorized, Message: "the access token does not name a user (its sub is not a user id); sign in as a user", Err: err}
				}
			}
			c.Set(claimsKey, claims)
			c.Set(scopeKey, scope)
			return next(c)
		}
	}
}

// scopeOf is the scope requireUser decided for the request. A route wired
// without requireUser is a bug that must not fall back to every session:
// it panics, which the recover middleware answers as 500 internal.
func scopeOf(c echo.Context) supabase.Scope {
	s, ok := c.Get(scopeKey).(supabase.Scope)
	if !ok {
		panic("handlers: a session route without requireUser has no scope")
	}
	return s
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
