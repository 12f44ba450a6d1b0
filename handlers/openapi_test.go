package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go.uber.org/goleak"
	"io"
	"mime"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/live"
	"github.com/wasessions/gateway/supabase"
)

// apiSpec is openapi.json, loaded and validated once per test binary.
type apiSpec struct {
	doc      *openapi3.T
	router   routers.Router
	envelope *openapi3.Schema // ErrorEnvelope, for answers outside the document
}

var loadAPISpec = sync.OnceValues(func() (*apiSpec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(handlers.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load openapi.json: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.json is not a valid OpenAPI document: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route openapi.json: %w", err)
	}
	envelope := doc.Components.Schemas["ErrorEnvelope"]
	if envelope == nil || envelope.Value == nil {
		return nil, errors.New("openapi.json has no components.schemas.ErrorEnvelope")
	}
	return &apiSpec{doc: doc, router: router, envelope: envelope.Value}, nil
})

// responseValidation validates responses only: many tests send deliberately
// bad requests, and credentials are the handlers' business, not the
// document's. An undocumented status is an error.
var responseValidation = &openapi3filter.Options{
	IncludeResponseStatus: true,
	MultiError:            true,
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
}

// exercised records which documented operations ("GET /path/{id}") had a
// response validated in this run, for TestMain's coverage check.
var exercised = struct {
	sync.Mutex
	ops map[string]bool
}{ops: map[string]bool{}}

// checkAgainstOpenAPI fails tb unless a real response matches openapi.json:
// status, headers and body of the documented operation, or, for a request
// the document deliberately leaves out (unknown path, wrong method), the
// error envelope. It reports with Errorf, since tests call it from
// goroutines of their own.
func checkAgainstOpenAPI(tb testing.TB, req *http.Request, status int, header http.Header, body []byte) {
	tb.Helper()
	spec, err := loadAPISpec()
	if err != nil {
		tb.Errorf("%v", err)
		return
	}
	where := req.Method + " " + req.URL.RequestURI()
	route, params, err := spec.router.FindRoute(req)
	if err != nil {
		if reason := err.Error(); reason != routers.ErrPathNotFound.Error() && reason != routers.ErrMethodNotAllowed.Error() {
			tb.Errorf("%s: find the operation in openapi.json: %v", where, err)
			return
		}
		checkUndocumented(tb, spec, req, status, header, body)
		return
	}
	input := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request:    req,
			PathParams: params,
			Route:      route,
			Options:    responseValidation,
		},
		Status:  status,
		Header:  header,
		Options: responseValidation,
	}
	input.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(req.Context(), input); err != nil {
		tb.Errorf("%s: got a %d response that openapi.json does not allow (%s %s): %v\nbody: %s", where, status, route.Method, route.Path, err, shorten(body))
	}
	exercised.Lock()
	exercised.ops[route.Method+" "+route.Path] = true
	exercised.Unlock()
}

// checkUndocumented checks an answer to a request outside the document: an
// OPTIONS request (a CORS preflight, answered by middleware) must get 204
// with no body; anything else must be a failure in the error envelope, with
// a request id.
func checkUndocumented(tb testing.TB, spec *apiSpec, req *http.Request, status int, header http.Header, body []byte) {
	tb.Helper()
	where := req.Method + " " + req.URL.RequestURI()
	if req.Method == http.MethodOptions {
		if status != http.StatusNoContent || len(body) != 0 {
			tb.Errorf("%s: got status %d with %d bytes, want 204 with no body for OPTIONS", where, status, len(body))
		}
		return
	}
	if status < 400 {
		tb.Errorf("%s: got status %d for a path or method openapi.json does not document, want a 4xx error", where, status)
		return
	}
	if mt, _, err := mime.ParseMediaType(header.Get("Content-Type")); err != nil || mt != "application/json" {
		tb.Errorf("%s: got Content-Type %q, want application/json", where, header.Get("Content-Type"))
	}
	if header.Get("X-Request-ID") == "" {
		tb.Errorf("%s: got no X-Request-ID header, want one on every response", where)
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		tb.Errorf("%s: got body %s, want the error envelope: %v", where, shorten(body), err)
		return
	}
	if err := spec.envelope.VisitJSON(v, openapi3.MultiErrors()); err != nil {
		tb.Errorf("%s: got body %s, want the error envelope: %v", where, shorten(body), err)
	}
}

func shorten(b []byte) string {
	if len(b) > 512 {
		return string(b[:512]) + "…"
	}
	return string(b)
}

// TestMain runs the tests, checks that no goroutine leaked, then checks that every operation of openapi.json
// had at least one real response validated, so the document cannot keep an
// operation the tests never look at. The check is skipped when -run, -skip
// or -list select a part of the suite, and when the tests already failed.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// Every stack closes its servers, pools, verifiers and clients at
		// cleanup; a goroutine left behind is a leak in the gateway.
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: goroutines leaked: %v\n", err)
			code = 1
		}
	}
	if code == 0 && wholeSuiteRan() {
		if missing := unexercisedOperations(); len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: no test response was validated against these operations of openapi.json; exercise them through stack.do:\n\t%s\n", strings.Join(missing, "\n\t"))
			code = 1
		}
	}
	os.Exit(code)
}

func wholeSuiteRan() bool {
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}

func unexercisedOperations() []string {
	spec, err := loadAPISpec()
	if err != nil {
		return []string{err.Error()}
	}
	exercised.Lock()
	defer exercised.Unlock()
	var missing []string
	for _, op := range documentedOperations(spec.doc) {
		if !exercised.ops[op] {
			missing = append(missing, op)
		}
	}
	return missing
}

// documentedOperations lists the document's operations as "METHOD /path".
func documentedOperations(doc *openapi3.T) []string {
	var ops []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	sort.Strings(ops)
	return ops
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	spec, err := loadAPISpec()
	if err != nil {
		t.Fatal(err)
	}
	if got := spec.doc.OpenAPI; got != "3.0.3" {
		t.Errorf("got openapi %q, want 3.0.3", got)
	}
	// Hand-maintained: keep it formatted the way it is reviewed.
	if !bytes.HasSuffix(handlers.OpenAPI, []byte("}\n")) || bytes.Contains(handlers.OpenAPI, []byte("\t")) {
		t.Errorf("got openapi.json without a final newline or with tabs, want 2-space indentation and a final newline")
	}
}

// TestOpenAPIDocumentsEveryRoute compares the routes Echo serves with the
// operations of openapi.json, both ways.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	spec, err := loadAPISpec()
	if err != nil {
		t.Fatal(err)
	}
	e := handlers.New(handlers.Deps{
		Log:     zap.NewNop(),
		OpenAPI: handlers.OpenAPI,
		Metrics: http.NotFoundHandler(),
		Streams: live.New(live.Config{}),
	})
	served := map[string]bool{}
	for _, r := range e.Routes() {
		segments := strings.Split(r.Path, "/")
		for i, seg := range segments {
			if name, ok := strings.CutPrefix(seg, ":"); ok {
				segments[i] = "{" + name + "}"
			}
		}
		path := strings.Join(segments, "/")
		served[r.Method+" "+path] = true
	}
	documented := map[string]bool{}
	for _, op := range documentedOperations(spec.doc) {
		documented[op] = true
		if !served[op] {
			t.Errorf("openapi.json documents %s, but the gateway does not serve it", op)
		}
	}
	for op := range served {
		if !documented[op] {
			t.Errorf("the gateway serves %s, but openapi.json does not document it", op)
		}
	}
}

// TestOperationalRoutesMatchOpenAPI exercises the operators' routes that
// the other tests leave out: the document itself, and metrics.
func TestOperationalRoutesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	const metricsToken = "metrics-token-for-tests"
	s := newStack(t, func(d *handlers.Deps, _ *supabase.ClientConfig) {
		d.OpenAPI = handlers.OpenAPI
		d.Metrics = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			_, _ = io.WriteString(w, "# HELP gateway_up Whether the gateway is up.\n# TYPE gateway_up gauge\ngateway_up 1\n")
		})
		d.MetricsToken = metricsToken
	})

	r := s.do(t, http.MethodGet, "/openapi.json", "")
	wantStatus(t, r, http.StatusOK)
	if r.Raw != string(handlers.OpenAPI) {
		t.Errorf("got a different /openapi.json (%d bytes), want the embedded document (%d bytes)", len(r.Raw), len(handlers.OpenAPI))
	}

	// The metrics body is not JSON, which stack.do insists on.
	if status, body := s.getText(t, "/metrics", "Bearer "+metricsToken); status != http.StatusOK || !strings.Contains(body, "gateway_up 1") {
		t.Errorf("got %d %q, want 200 with the metrics", status, body)
	}
	wantError(t, s.do(t, http.MethodGet, "/metrics", ""), http.StatusUnauthorized, "unauthorized")
	wantError(t, s.do(t, http.MethodGet, "/metrics", "", "Authorization: Bearer wrong"), http.StatusUnauthorized, "unauthorized")
}

// getText sends a GET whose answer need not be JSON and checks it against
// openapi.json.
func (s *stack) getText(tb testing.TB, path, authorization string) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	checkAgainstOpenAPI(tb, req, res.StatusCode, res.Header, raw)
	return res.StatusCode, string(raw)
}

// TestRateLimitedAnswerMatchesOpenAPI checks the documented 429: envelope
// and Retry-After.
func TestRateLimitedAnswerMatchesOpenAPI(t *testing.T) {
	t.Parallel()
	s := newStack(t, func(d *handlers.Deps, _ *supabase.ClientConfig) {
		d.RateLimitRPS, d.RateLimitBurst = 0.001, 1
	})
	wantStatus(t, s.user(t, http.MethodGet, "/api/whatsapp_sessions", ""), http.StatusOK)
	r := s.user(t, http.MethodGet, "/api/whatsapp_sessions", "")
	wantError(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("got no Retry-After header, want one on a 429")
	}
}
