package handlers_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/metrics"
	"github.com/wasessions/gateway/supabase"
)

func withMetrics(m *metrics.Metrics, token string) stackOption {
	return func(d *handlers.Deps, c *supabase.ClientConfig) {
		d.Metrics, d.MetricsToken = m.Handler(), token
		d.ObserveRequest, d.ObserveWebhook = m.ObserveRequest, m.ObserveWebhook
		c.Observe = m.ObserveUpstream
	}
}

// TestMetricsCountRequestsUpstreamAndWebhookOutcomes drives every webhook
// outcome and checks the counters by their labels.
func TestMetricsCountRequestsUpstreamAndWebhookOutcomes(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	s := newStack(t, withMetrics(m, ""))
	s.webhook(t, `{"session_id":"m_1","last_seen":"2024-01-15T10:00:00Z"}`)                          // early
	s.create(t, "m_1")                                                                               // links it
	s.webhook(t, `{"session_id":"m_1","last_seen":"2024-01-15T10:00:00Z"}`)                          // duplicate
	s.webhook(t, `{"session_id":"m_1","last_seen":"2024-01-15T09:00:00Z"}`)                          // stale
	s.webhook(t, `{"session_id":"m_1","status":"disconnected","last_seen":"2024-01-15T11:00:00Z"}`)  // applied
	s.do(t, http.MethodPost, "/api/whatsapp_sessions/new-session-connected", `{"session_id":"m_1"}`) // refused
	s.user(t, http.MethodGet, "/api/whatsapp_sessions/12345", "")

	r := s.do(t, http.MethodGet, "/metrics", "")
	wantStatus(t, r, http.StatusOK)
	for _, want := range []string{
		`gateway_webhook_deliveries_total{outcome="early"} 1`,
		`gateway_webhook_deliveries_total{outcome="duplicate"} 1`,
		`gateway_webhook_deliveries_total{outcome="stale"} 1`,
		`gateway_webhook_deliveries_total{outcome="applied"} 1`,
		`gateway_webhook_deliveries_total{outcome="refused"} 1`,
		`gateway_http_requests_total{method="GET",route="/api/whatsapp_sessions/:id",status="404"} 1`,
		`gateway_upstream_calls_total{operation="get",outcome="not_found"} 1`,
		`gateway_upstream_calls_total{operation="create",outcome="ok"} 1`,
	} {
		if !strings.Contains(r.Raw, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(r.Raw, `route="/api/whatsapp_sessions/12345"`) {
		t.Error("got a raw path as a route label, want only route templates")
	}
}

// TestMetricsLabelsAreBounded: an anonymous caller choosing methods and
// paths must not add series, which would grow memory and the scrape
// without limit.
func TestMetricsLabelsAreBounded(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	s := newStack(t, withMetrics(m, ""))
	for _, method := range []string{"BREW1", "BREW2", "get"} {
		s.do(t, method, "/api/whatsapp_sessions", "")
		s.do(t, method, "/no/such/path/"+method, "")
	}
	s.do(t, http.MethodGet, "/no/such/path/x", "")
	r := s.do(t, http.MethodGet, "/metrics", "")
	wantStatus(t, r, http.StatusOK)
	for _, bad := range []string{"BREW", `method="get"`, "/no/such"} {
		if strings.Contains(r.Raw, bad) {
			t.Errorf("metrics hold a caller's %q as a label, want a bounded set", bad)
		}
	}
	if !strings.Contains(r.Raw, `method="OTHER"`) {
		t.Error(`metrics lack method="OTHER" for the unknown methods`)
	}
}

func TestMetricsNeedTheTokenWhenOneIsSet(t *testing.T) {
	t.Parallel()
	s := newStack(t, withMetrics(metrics.New(), "metrics-secret"))
	wantError(t, s.do(t, http.MethodGet, "/metrics", ""), http.StatusUnauthorized, "unauthorized")
	wantError(t, s.do(t, http.MethodGet, "/metrics", "", "Authorization: Bearer "+s.Token), http.StatusUnauthorized, "unauthorized")
	wantStatus(t, s.do(t, http.MethodGet, "/metrics", "", "Authorization: Bearer metrics-secret"), http.StatusOK)
}
