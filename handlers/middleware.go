package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/supabase"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestID accepts a caller's X-Request-ID when it is a plain token (so it
// cannot forge log lines) and otherwise makes one; it is returned on the
// response and attached to every log line of the request.
func requestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(echo.HeaderXRequestID)
			if !requestIDPattern.MatchString(id) {
				id = newRequestID()
			}
			c.Response().Header().Set(echo.HeaderXRequestID, id)
			c.SetRequest(c.Request().WithContext(supabase.WithRequestID(c.Request().Context(), id)))
			return next(c)
		}
	}
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// accessLog writes one line per request, with the time spent waiting for
// Supabase beside the total. The error is handed to Echo's error handler
// here, so the line carries the status the caller saw.
func accessLog(log *zap.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			ctx, upstream := supabase.WithCallStats(c.Request().Context())
			c.SetRequest(c.Request().WithContext(ctx))
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			res := c.Response()
			log.Info("request",
				zap.String("request_id", res.Header().Get(echo.HeaderXRequestID)),
				zap.String("method", c.Request().Method),
				zap.String("route", routeOf(c)),
				zap.Int("status", res.Status),
				zap.Duration("latency", time.Since(start)),
				zap.Duration("upstream_latency", upstream.Upstream()),
				zap.Int64("bytes", res.Size),
				zap.String("ip", c.RealIP()),
			)
			return nil
		}
	}
}

// routeOf is the route template (never the raw path, whose ids and query
// would blow up log and metric cardinality).
func routeOf(c echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return "unmatched"
}

// securityHeaders sets the headers every API response should carry; no
// Server header is ever sent.
func securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
			h.Set("Cache-Control", "no-store")
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
			return next(c)
		}
	}
}
