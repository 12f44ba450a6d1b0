package handlers

import (
	"context"
	"crypto/subtle"
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/wasessions/gateway/supabase"
)

// Deps is everything the HTTP layer needs, passed in so tests can build it.
type Deps struct {
	Store SessionStore
	// History serves each session's history.
	History HistoryReader
	Tokens  TokenVerifier
	// Ownership scopes each user to the sessions they own; the zero value
	// lets every signed-in user manage every session.
	Ownership      supabase.Ownership
	Webhooks       WebhookVerifier
	Log            *zap.Logger
	BodyLimit      int64
	ListMaxLimit   int
	CORSOrigins    []string
	RateLimitRPS   float64 // 0 disables
	RateLimitBurst int
	// TrustedProxies are the networks whose X-Forwarded-For is believed for
	// the client IP (rate limiting, logs); empty means the peer address.
	TrustedProxies []*net.IPNet
	// Ready reports whether Supabase answers; nil means always ready.
	Ready func(ctx context.Context) error
	// ReadyCacheTTL is how long a Ready answer is reused, so frequent
	// probes from many load balancers do not load Supabase.
	ReadyCacheTTL time.Duration
	// Metrics serves /metrics; nil disables the route.
	Metrics      http.Handler
	MetricsToken string
	// ObserveRequest is told each request's route template, status and
	// latency, ObserveWebhook each webhook outcome; nil ignores them.
	ObserveRequest RequestObserver
	ObserveWebhook WebhookObserver
	// ObserveAbort is told each answer cut off after its status went out;
	// nil ignores them (they are logged either way).
	ObserveAbort AbortObserver
	// OpenAPI is the API description served at /openapi.json.
	OpenAPI []byte
	// Streams and Events serve the live status stream,
	// GET /api/whatsapp_sessions/{id}/events; a nil Streams leaves the
	// route out.
	Streams Streams
	Events  EventHistory
}

// New builds the Echo server with every route of the API.
func New(d Deps) *echo.Echo {
	if d.ObserveWebhook == nil {
		d.ObserveWebhook = func(string) {}
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(d.Log)
	e.IPExtractor = echo.ExtractIPDirect()
	if len(d.TrustedProxies) > 0 {
		// Only the listed proxies: Echo's default would also trust every
		// private address, letting anyone inside the network pick an IP.
		opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
		for _, n := range d.TrustedProxies {
			opts = append(opts, echo.TrustIPRange(n))
		}
		e.IPExtractor = echo.ExtractIPFromXFFHeader(opts...)
	}

	recoverPanics := middleware.RecoverWithConfig(middleware.RecoverConfig{
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			requestLogger(c, d.Log).Error("panic", zap.Error(err), zap.ByteString("stack", stack))
			return &supabase.Error{Code: supabase.CodeInternal, Message: "internal error", Err: err}
		},
	})
	e.Use(instrument(d.Log, d.ObserveRequest), recoverPanics, securityHeaders())
	if len(d.CORSOrigins) > 0 {
		e.Use(middleware.CORSWithConfig(middleware.CORSConfig{
			AllowOrigins:  d.CORSOrigins,
			AllowMethods:  []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
			AllowHeaders:  []string{echo.HeaderAuthorization, echo.HeaderContentType, echo.HeaderXRequestID},
			ExposeHeaders: []string{echo.HeaderXRequestID, "Retry-After"},
			MaxAge:        600,
		}))
	}
	e.Use(refuseQueryToken())
	if d.Streams != nil {
		e.Use(pokeOnWrite(d.Streams))
	}
	limited := rateLimit(d.RateLimitRPS, d.RateLimitBurst)

	e.GET("/healthz", func(c echo.Context) error { return writeData(c, http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", readiness(cachedCheck(d.Ready, d.ReadyCacheTTL)))
	if d.OpenAPI != nil {
		e.GET("/openapi.json", func(c echo.Context) error { return c.JSONBlob(http.StatusOK, d.OpenAPI) })
	}
	if d.Metrics != nil {
		e.GET("/metrics", echo.WrapHandler(d.Metrics), metricsGuard(d.MetricsToken, len(d.TrustedProxies) > 0))
	}

	// Middleware is attached per route, not per group: an Echo group with
	// middleware adds catch-all routes that turn a wrong method into 404.
	const base = "/api/whatsapp_sessions"
	user := requireUser(d.Tokens, d.Ownership, d.Log)
	out := bodyWriter{log: d.Log, observe: d.ObserveAbort}
	e.POST(base+"/new-session-connected", sessionConnected(d.Store, d.Webhooks, d.BodyLimit, d.ObserveWebhook, d.Log), limited)
	e.POST(base, createSession(d.Store, d.BodyLimit), limited, user)
	e.GET(base, listSessions(d.Store, d.ListMaxLimit, out), limited, user)
	e.GET(base+"/:id", getSession(d.Store, out), limited, user)
	e.PATCH(base+"/:id", updateSession(d.Store, d.BodyLimit, out), limited, user)
	e.DELETE(base+"/:id", deleteSession(d.Store), limited, user)
	if d.Streams != nil {
		// A stream counts against the rate limit once, when it opens.
		e.GET(eventsPath, sessionEvents(d.Store, d.Events, d.Streams), limited, requireStreamUser(d.Tokens, d.Ownership, d.Log))
	}
	e.GET(base+"/:id/history", sessionHistory(d.History, d.ListMaxLimit, out), limited, user)
	return e
}

// rateLimit limits each client IP to rps with burst, answering 429 with
// Retry-After; the webhook and the API share it.
func rateLimit(rps float64, burst int) echo.MiddlewareFunc {
	if rps <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Limit(rps), Burst: burst, ExpiresIn: 3 * time.Minute,
	})
	// One token comes back every 1/rps seconds.
	retryAfter := strconv.Itoa(int(math.Ceil(1 / rps)))
	deny := func(c echo.Context) error {
		c.Response().Header().Set("Retry-After", retryAfter)
		return supabase.Errorf(supabase.CodeRateLimited, "too many requests from this client; retry after the Retry-After seconds")
	}
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store:        store,
		DenyHandler:  func(c echo.Context, _ string, _ error) error { return deny(c) },
		ErrorHandler: func(c echo.Context, _ error) error { return deny(c) },
	})
}

// readiness answers 200 while Supabase (or local PostgreSQL) answers, 503
// otherwise.
func readiness(ready func(context.Context) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		if ready != nil {
			// The answer is cached and shared: one prober hanging up must not
			// cancel the check and leave a false "not ready" behind.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request().Context()), readinessDeadline)
			defer cancel()
			if err := ready(ctx); err != nil {
				return c.JSON(http.StatusServiceUnavailable, map[string]any{
					"success": false,
					"error":   map[string]string{"code": string(supabase.CodeUpstreamUnavailable), "message": "Supabase is not answering"},
				})
			}
		}
		return writeData(c, http.StatusOK, map[string]string{"status": "ready"})
	}
}

// metricsGuard serves /metrics to callers with the metrics token, or, when
// none is configured, only to loopback callers (a sidecar or local scrape)
// that did not come through a proxy: behind a proxy on the same host every
// outside caller would look like loopback.
func metricsGuard(token string, behindProxy bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if token != "" {
				got, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
				if ok && subtle.ConstantTimeCompare([]byte(got), []byte(token)) == 1 {
					return next(c)
				}
				return supabase.Errorf(supabase.CodeUnauthorized, "send Authorization: Bearer <METRICS_TOKEN> to read metrics")
			}
			h := c.Request().Header
			proxied := behindProxy || h.Get(echo.HeaderXForwardedFor) != "" || h.Get("Forwarded") != "" || h.Get(echo.HeaderXRealIP) != ""
			host, _, err := net.SplitHostPort(c.Request().RemoteAddr)
			if ip := net.ParseIP(host); !proxied && err == nil && ip != nil && ip.IsLoopback() {
				return next(c)
			}
			return supabase.Errorf(supabase.CodeUnauthorized, "metrics are served to direct loopback callers only unless METRICS_TOKEN is set")
		}
	}
}

// readinessDeadline bounds one readiness check: a probe must answer fast.
const readinessDeadline = 2 * time.Second

// cachedCheck reuses check's last answer for ttl. Concurrent probes while
// the answer is stale share one check.
func cachedCheck(check func(context.Context) error, ttl time.Duration) func(context.Context) error {
	if check == nil || ttl <= 0 {
		return check
	}
	var (
		mu      sync.Mutex
		checked time.Time
		last    error
	)
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(checked) < ttl {
			return last
		}
		last = check(ctx)
		checked = time.Now()
		return last
	}
}
