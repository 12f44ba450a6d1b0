package handlers_test

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/metrics"
	"github.com/wasessions/gateway/supabase"
)

func TestCORSOnlyForConfiguredOrigins(t *testing.T) {
	t.Parallel()
	s := newStack(t, func(d *handlers.Deps, _ *supabase.ClientConfig) { d.CORSOrigins = []string{"https://app.example.com"} })

	pre := s.do(t, http.MethodOptions, "/api/whatsapp_sessions", "",
		"Origin: https://app.example.com", "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: authorization,content-type")
	if pre.Status != http.StatusNoContent || pre.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("preflight from the allowed origin: got %d allow-origin %q, want 204 and the origin", pre.Status, pre.Header.Get("Access-Control-Allow-Origin"))
	}
	if !strings.Contains(strings.ToLower(pre.Header.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("got allowed headers %q, want Authorization among them", pre.Header.Get("Access-Control-Allow-Headers"))
	}
	evil := s.user(t, http.MethodGet, "/api/whatsapp_sessions", "", "Origin: https://evil.example.com")
	if got := evil.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("got allow-origin %q for an unlisted origin, want none", got)
	}
}

func TestNoCORSByDefault(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	r := s.user(t, http.MethodGet, "/api/whatsapp_sessions", "", "Origin: https://app.example.com")
	if got := r.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("got allow-origin %q, want none when no origin is configured", got)
	}
}

func TestRateLimitAppliesToAPIAndWebhook(t *testing.T) {
	t.Parallel()
	s := newStack(t, func(d *handlers.Deps, _ *supabase.ClientConfig) { d.RateLimitRPS, d.RateLimitBurst = 1, 3 })
	var limited response
	for i := 0; i < 10 && limited.Status == 0; i++ {
		if r := s.user(t, http.MethodGet, "/api/whatsapp_sessions", ""); r.Status == http.StatusTooManyRequests {
			limited = r
		}
	}
	wantError(t, limited, http.StatusTooManyRequests, "rate_limited")
	if limited.Header.Get("Retry-After") == "" {
		t.Error("got no Retry-After header, want one on 429")
	}
	// The same client is limited on the webhook too, before anything is written.
	wantError(t, s.webhook(t, orchestratorBody("rl_1", "2024-01-15T10:30:00Z")), http.StatusTooManyRequests, "rate_limited")
	if n := s.count(t, `select count(*) from public.whatsapp_sessions`); n != 0 {
		t.Errorf("got %d rows, want 0 after a rate-limited webhook", n)
	}
	// Health checks are not rate limited.
	wantStatus(t, s.do(t, http.MethodGet, "/healthz", ""), http.StatusOK)
}

// TestLogsHoldNoSecretsOrPhoneNumbers runs traffic full of credentials and
// phone numbers, including failures, and searches every log entry.
func TestLogsHoldNoSecretsOrPhoneNumbers(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	s := newStack(t, func(d *handlers.Deps, _ *supabase.ClientConfig) { d.Log = zap.New(core) })
	row := s.create(t, "log_1")
	s.webhook(t, orchestratorBody("log_1", "2024-01-15T10:30:00Z"))
	s.do(t, http.MethodPost, "/api/whatsapp_sessions/new-session-connected", orchestratorBody("log_1", "x"), "Authorization: Bearer wrong-"+testWebhookSecret)
	s.do(t, http.MethodGet, "/api/whatsapp_sessions", "", "Authorization: Bearer "+s.Token+"x")
	s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(row.ID), `{"phone_number":"5215599999999","status":"pending"}`)

	access := logs.FilterMessage("request").FilterField(zap.String("route", "/api/whatsapp_sessions/:id")).All()
	if len(access) == 0 {
		t.Fatal("got no access line for the PATCH, want one per request")
	}
	fields := access[0].ContextMap()
	for _, name := range []string{"request_id", "method", "status", "latency", "upstream_latency", "ip"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("access line lacks %s: %v", name, fields)
		}
	}
	if up, _ := fields["upstream_latency"].(time.Duration); up <= 0 {
		t.Errorf("got upstream_latency %v, want the time spent in Supabase", fields["upstream_latency"])
	}
	for _, e := range logs.All() {
		line := e.Message + " " + fmt.Sprint(e.ContextMap())
		for _, secret := range []string{s.Token, testWebhookSecret, s.Key, testJWTSecret, "5215512345678", "5215599999999"} {
			if strings.Contains(line, secret) {
				t.Errorf("log entry %q contains a secret or phone number", line)
			}
		}
	}
}

func TestMetricsRefuseProxiedLoopbackCallers(t *testing.T) {
	t.Parallel()
	s := newStack(t, withMetrics(metrics.New(), ""))
	wantStatus(t, s.do(t, http.MethodGet, "/metrics", ""), http.StatusOK)
	for _, h := range []string{"X-Forwarded-For: 8.8.8.8", "Forwarded: for=8.8.8.8", "X-Real-IP: 8.8.8.8"} {
		wantError(t, s.do(t, http.MethodGet, "/metrics", "", h), http.StatusUnauthorized, "unauthorized")
	}
}

// TestRateLimitKeysOnTrustedProxyHeaderOnly: behind a listed proxy each
// forwarded client has its own budget; without one, X-Forwarded-For is
// ignored, so a client cannot get a fresh budget by inventing addresses.
func TestRateLimitKeysOnTrustedProxyHeaderOnly(t *testing.T) {
	t.Parallel()
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	limited := func(d *handlers.Deps) { d.RateLimitRPS, d.RateLimitBurst = 0.01, 2 }
	trusting := newStack(t, func(d *handlers.Deps, _ *supabase.ClientConfig) {
		limited(d)
		d.TrustedProxies = []*net.IPNet{loopback}
	})
	direct := newStack(t, func(d *handlers.Deps, _ *supabase.ClientConfig) { limited(d) })

	for i := 0; i < 4; i++ {
		xff := fmt.Sprintf("X-Forwarded-For: 203.0.113.%d", i)
		wantStatus(t, trusting.user(t, http.MethodGet, "/api/whatsapp_sessions", "", xff), http.StatusOK)
	}
	statuses := []int{}
	for i := 0; i < 4; i++ {
		xff := fmt.Sprintf("X-Forwarded-For: 203.0.113.%d", i)
		statuses = append(statuses, direct.user(t, http.MethodGet, "/api/whatsapp_sessions", "", xff).Status)
	}
	if statuses[2] != http.StatusTooManyRequests || statuses[3] != http.StatusTooManyRequests {
		t.Errorf("got %v, want the third and fourth refused: untrusted X-Forwarded-For must not split the budget", statuses)
	}
	r := direct.user(t, http.MethodGet, "/api/whatsapp_sessions", "")
	if r.Header.Get("Retry-After") != "100" {
		t.Errorf("got Retry-After %q, want 100 for 0.01 requests per second", r.Header.Get("Retry-After"))
	}
}
