package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/supabase"
)

// RequestObserver is told each request's route template, status and
// latency, e.g. to count them.
type RequestObserver func(method, route string, status int, latency time.Duration)

// instrument is the outermost middleware: it gives the request its id
// (returned in X-Request-ID, sent to Supabase, on every log line), hands
// any error to Echo's error handler so the status is final, then writes
// one access-log line, with the time spent waiting for Supabase, and
// reports the request to observe. It is one middleware, not three, because
// this runs on every request and each layer costs a closure and a copy of
// the request.
func instrument(log *zap.Logger, observe RequestObserver) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			req := c.Request()
			id := req.Header.Get(echo.HeaderXRequestID)
			if !validRequestID(id) {
				id = newRequestID()
			}
			c.Response().Header()[echo.HeaderXRequestID] = []string{id}
			ctx, upstream := supabase.WithCallStats(req.Context(), id)
			c.SetRequest(req.WithContext(ctx))

			if err := next(c); err != nil {
				c.Error(err)
			}
			res := c.Response()
			latency := time.Since(start)
			if ce := log.Check(zap.InfoLevel, "request"); ce != nil {
				ce.Write(
					zap.String("request_id", id),
					zap.String("method", req.Method),
					zap.String("route", routeOf(c)),
					zap.Int("status", res.Status),
					zap.Duration("latency", latency),
					zap.Duration("upstream_latency", upstream.Upstream()),
					zap.Int64("bytes", res.Size),
					zap.String("ip", c.RealIP()),
				)
			}
			if observe != nil {
				observe(req.Method, routeOf(c), res.Status, latency)
			}
			return nil
		}
	}
}

// validRequestID accepts a caller's id only when it is a plain token of
// letters, digits and ._:- (at most 128), so it cannot forge log lines.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// routeOf is the route template (never the raw path, whose ids and query
// would blow up log and metric cardinality).
func routeOf(c echo.Context) string {
	if p := c.Path(); p != "" {
		return p
	}
	return "unmatched"
}

// securityHeaderValues are set on every response; no Server header is ever
// sent. The slices are shared by all responses and never modified.
var securityHeaderValues = http.Header{
	"X-Content-Type-Options":    {"nosniff"},
	"X-Frame-Options":           {"DENY"},
	"Referrer-Policy":           {"no-referrer"},
	"Content-Security-Policy":   {"default-src 'none'; frame-ancestors 'none'"},
	"Cache-Control":             {"no-store"},
	"Strict-Transport-Security": {"max-age=31536000; includeSubDomains"},
}

func securityHeaders() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			for name, values := range securityHeaderValues {
				h[name] = values
			}
			return next(c)
		}
	}
}
