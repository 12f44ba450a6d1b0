// Package metrics holds the gateway's Prometheus instruments on a registry
// of its own (no global state), and the handler that serves them.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the gateway's instruments.
type Metrics struct {
	registry        *prometheus.Registry
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	upstream        *prometheus.CounterVec
	upstreamLatency *prometheus.HistogramVec
	webhooks        *prometheus.CounterVec
	expired         prometheus.Counter
	pruned          prometheus.Counter
	aborted         *prometheus.CounterVec
}

// New registers every instrument, with the Go runtime and process
// collectors, on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_requests_total",
			Help: "HTTP requests by route template, method and status.",
		}, []string{"route", "method", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_http_request_duration_seconds",
			Help:    "HTTP request latency by route template and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_upstream_calls_total",
			Help: "Calls to Supabase by operation and outcome (ok, an error code, or short_circuit).",
		}, []string{"operation", "outcome"}),
		upstreamLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gateway_upstream_call_duration_seconds",
			Help:    "Latency of calls to Supabase by operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"operation"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_webhook_deliveries_total",
			Help: "Orchestrator webhook deliveries by outcome: applied, duplicate, stale, early, refused.",
		}, []string{"outcome"}),
		aborted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gateway_http_answers_aborted_total",
			Help: "Answers cut off after their status went out, by route template and cause: upstream_unavailable, upstream_timeout, client_gone.",
		}, []string{"route", "cause"}),
	}
	m.expired = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gateway_sessions_expired_total",
		Help: "WhatsApp sessions this replica's sweep expired after PENDING_TTL pending.",
	})
	m.pruned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gateway_session_events_pruned_total",
		Help: "History entries this replica's sweep deleted after HISTORY_RETENTION.",
	})
	m.registry.MustRegister(m.expired, m.pruned)
	m.registry.MustRegister(m.requests, m.requestDuration, m.upstream, m.upstreamLatency, m.webhooks, m.aborted,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest counts one HTTP request.
func (m *Metrics) ObserveRequest(method, route string, status int, d time.Duration) {
	if !knownMethods[method] {
		// The caller picks the method: each new one would be a new series.
		method = "OTHER"
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// knownMethods are the methods counted under their own name.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// ObserveUpstream counts one call to Supabase.
func (m *Metrics) ObserveUpstream(operation, outcome string, d time.Duration) {
	m.upstream.WithLabelValues(operation, outcome).Inc()
	if outcome != "short_circuit" {
		m.upstreamLatency.WithLabelValues(operation).Observe(d.Seconds())
	}
}

// ObserveWebhook counts one webhook delivery.
func (m *Metrics) ObserveWebhook(outcome string) {
	m.webhooks.WithLabelValues(outcome).Inc()
}

// ObserveAbort counts one answer aborted mid-body.
func (m *Metrics) ObserveAbort(route, cause string) {
	m.aborted.WithLabelValues(route, cause).Inc()
}

// ObserveExpired counts sessions the sweep expired.
func (m *Metrics) ObserveExpired(n int) { m.expired.Add(float64(n)) }

// ObservePruned counts history entries the sweep deleted.
func (m *Metrics) ObservePruned(n int) { m.pruned.Add(float64(n)) }

// WatchStreams publishes gateway_live_streams, the live streams open on
// this replica, read from open at each scrape.
func (m *Metrics) WatchStreams(open func() int) {
	m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gateway_live_streams",
		Help: "Live status streams open on this replica.",
	}, func() float64 { return float64(open()) }))
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}
