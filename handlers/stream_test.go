package handlers_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wasessions/gateway/auth"
	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/supabase"
)

// The list and get answers pass the upstream body through as it arrives
// (envelope prefix, the bytes, suffix) instead of holding it whole. These
// tests drive the real handlers and the real Supabase client against a
// Data API stand-in that sends large, chunked, gzipped, broken and slow
// bodies.

const envelopePrefix, envelopeSuffix = `{"success":true,"data":`, `}`

// streamGateway is the gateway with the real client in front of upstream.
type streamGateway struct {
	URL    string
	token  string
	client *http.Client
	logs   *observer.ObservedLogs
	mu     sync.Mutex
	aborts []string // "route cause"
}

func newStreamGateway(tb testing.TB, upstreamURL string, timeout time.Duration, opts ...stackOption) *streamGateway {
	tb.Helper()
	core, logs := observer.New(zapcore.WarnLevel)
	g := &streamGateway{token: userToken(tb, testJWTSecret, time.Hour), logs: logs}
	clientCfg := supabase.ClientConfig{
		URL: upstreamURL, Key: "sb_secret_stream_test", UserAgent: "gateway-test", Timeout: timeout,
		Resilience: supabase.ResilienceConfig{ReadRetries: 1, RetryBackoff: time.Millisecond, BreakerFailures: 100, BreakerOpen: time.Second},
		Log:        zap.New(core),
	}
	deps := handlers.Deps{
		Log: zap.New(core), BodyLimit: 64 << 10, ListMaxLimit: 1000,
		ObserveAbort: func(route, cause string) {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.aborts = append(g.aborts, route+" "+cause)
		},
	}
	for _, opt := range opts {
		opt(&deps, &clientCfg)
	}
	client, err := supabase.NewClient(clientCfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(client.Close)
	tokens, err := auth.NewTokenVerifier(context.Background(), auth.TokenVerifierConfig{HS256Secret: []byte(testJWTSecret), Audience: "authenticated"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(tokens.Close)
	deps.Store, deps.Tokens = client, tokens
	srv := httptest.NewServer(handlers.New(deps))
	tb.Cleanup(srv.Close)
	// Compression off: the test reads exactly the bytes the gateway sent.
	transport := &http.Transport{DisableCompression: true}
	tb.Cleanup(transport.CloseIdleConnections)
	g.URL, g.client = srv.URL, &http.Client{Transport: transport}
	return g
}

// get starts a user request; the caller reads and closes the body.
func (g *streamGateway) get(tb testing.TB, path string) *http.Response {
	tb.Helper()
	req, err := http.NewRequest(http.MethodGet, g.URL+path, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+g.token)
	req.Header.Set("X-Request-ID", "stream-test-1")
	res, err := g.client.Do(req)
	if err != nil {
		tb.Fatalf("GET %s: %v", path, err)
	}
	tb.Cleanup(func() { res.Body.Close() })
	return res
}

func (g *streamGateway) abortsSeen() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.aborts...)
}

// bigList is a JSON array of n whatsapp_sessions rows of at least size bytes.
func bigList(size int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := 1; b.Len() < size; i++ {
		if i > 1 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":%d,"session_id":"session_1705312200123_%09d","sesion_id":1,"phone_number":"5215512345678","status":"connected","last_seen":"2025-01-15T10:00:00+00:00","auth_folder_path":"/data/auth/session_%09d","server_port":3001,"whatsapp_user_id":"5215512345678@s.whatsapp.net","created_at":"2025-01-15T09:59:00.123456+00:00","updated_at":"2025-01-15T10:00:00.654321+00:00"}`, i, i, i)
	}
	b.WriteByte(']')
	return b.Bytes()
}

func enveloped(body []byte) string { return envelopePrefix + string(body) + envelopeSuffix }

// TestLargeListIsTheBufferedAnswerByteForByte: 1,000 rows from the local
// Data API over PostgreSQL arrive exactly as the envelope around the body
// PostgREST sends for the same query, with the length announced.
func TestLargeListIsTheBufferedAnswerByteForByte(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	if _, err := s.Pool.Exec(context.Background(), `insert into public.whatsapp_sessions (session_id, sesion_id, status, phone_number, auth_folder_path, server_port)
		select 'session_1705312200123_' || lpad(g::text, 9, '0'), $1, 'connected', '5215512345678', '/data/auth/session_' || g, 3001
		from generate_series(1, 1000) g`, s.SesionID); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, s.Upstream.URL+"/rest/v1/whatsapp_sessions?select=*&order=id.asc&offset=0&limit=1000", nil)
	req.Header.Set("apikey", s.Key)
	direct, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	upstream, _ := io.ReadAll(direct.Body)
	direct.Body.Close()
	if direct.StatusCode != http.StatusOK || len(upstream) < 64<<10 {
		t.Fatalf("direct read: got %d with %d bytes, want 200 and a body past the in-call buffer", direct.StatusCode, len(upstream))
	}

	r := s.user(t, http.MethodGet, "/api/whatsapp_sessions?order=id.asc&limit=1000", "")
	wantStatus(t, r, http.StatusOK)
	if r.Raw != enveloped(upstream) {
		t.Fatalf("got %d bytes, want the %d-byte envelope around PostgREST's body, byte for byte", len(r.Raw), len(enveloped(upstream)))
	}
	if got := len(r.sessions(t)); got != 1000 {
		t.Errorf("got %d rows, want 1000", got)
	}
	if direct.ContentLength >= 0 && r.Header.Get("Content-Length") != strconv.Itoa(len(r.Raw)) {
		t.Errorf("got Content-Length %q, want %d (upstream's plus the envelope's)", r.Header.Get("Content-Length"), len(r.Raw))
	}
}

// TestOneMebibyteListArrivesWhole: a 1 MiB list with a length, chunked,
// and gzipped arrives as the envelope around exactly the upstream bytes;
// with a length the answer announces upstream's plus the envelope's,
// otherwise it is chunked.
func TestOneMebibyteListArrivesWhole(t *testing.T) {
	t.Parallel()
	list := bigList(1 << 20)
	for _, mode := range []string{"length", "chunked", "gzip"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			var acceptedGzip bool
			var mu sync.Mutex
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				acceptedGzip = strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
				mu.Unlock()
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				switch mode {
				case "length":
					w.Header().Set("Content-Length", strconv.Itoa(len(list)))
					_, _ = w.Write(list)
				case "chunked":
					for rest := list; len(rest) > 0; {
						n := min(len(rest), 48<<10)
						_, _ = w.Write(rest[:n])
						http.NewResponseController(w).Flush()
						rest = rest[n:]
					}
				case "gzip":
					w.Header().Set("Content-Encoding", "gzip")
					zw := gzip.NewWriter(w)
					_, _ = zw.Write(list)
					_ = zw.Close()
				}
			}))
			t.Cleanup(upstream.Close)
			g := newStreamGateway(t, upstream.URL, 10*time.Second)

			res := g.get(t, "/api/whatsapp_sessions")
			got, err := io.ReadAll(res.Body)
			if err != nil || res.StatusCode != http.StatusOK {
				t.Fatalf("got %d, %v, want a whole 200", res.StatusCode, err)
			}
			if string(got) != enveloped(list) {
				t.Fatalf("got %d bytes, want the %d-byte envelope around the upstream body", len(got), len(enveloped(list)))
			}
			wantLength := int64(-1)
			if mode == "length" {
				wantLength = int64(len(enveloped(list)))
			}
			if res.ContentLength != wantLength {
				t.Errorf("got Content-Length %d, want %d", res.ContentLength, wantLength)
			}
			mu.Lock()
			defer mu.Unlock()
			if !acceptedGzip {
				t.Error("got no Accept-Encoding: gzip upstream, want compression on")
			}
		})
	}
}

// TestLargeListIsPassedOnBeforeItEnds: the caller receives the first rows
// while upstream still holds back the rest, plain or gzipped, so the
// gateway never waits for (or holds) the whole body.
func TestLargeListIsPassedOnBeforeItEnds(t *testing.T) {
	t.Parallel()
	list := bigList(512 << 10)
	half := len(list) / 2
	for _, gzipped := range []bool{false, true} {
		t.Run(fmt.Sprintf("gzip=%v", gzipped), func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				var out io.Writer = w
				var zw *gzip.Writer
				if gzipped {
					w.Header().Set("Content-Encoding", "gzip")
					zw = gzip.NewWriter(w)
					out = zw
				}
				_, _ = out.Write(list[:half])
				if zw != nil {
					_ = zw.Flush()
				}
				http.NewResponseController(w).Flush()
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				_, _ = out.Write(list[half:])
				if zw != nil {
					_ = zw.Close()
				}
			}))
			t.Cleanup(upstream.Close)
			g := newStreamGateway(t, upstream.URL, 10*time.Second)

			res := g.get(t, "/api/whatsapp_sessions")
			first := make([]byte, len(envelopePrefix)+64<<10)
			read := make(chan error, 1)
			go func() {
				_, err := io.ReadFull(res.Body, first)
				read <- err
			}()
			select {
			case err := <-read:
				if err != nil {
					t.Fatalf("reading the first rows: %v", err)
				}
			case <-time.After(5 * time.Second):
				close(release)
				t.Fatal("got nothing while upstream held back the rest, want the first rows passed on at once")
			}
			close(release)
			rest, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(first) + string(rest); got != enveloped(list) {
				t.Fatalf("got %d bytes, want the %d-byte envelope around the upstream body", len(got), len(enveloped(list)))
			}
		})
	}
}

// brokenUpstream sends a 200 with part of a large body, then drops the
// connection: with a Content-Length, or chunked without the last chunk.
func brokenUpstream(tb testing.TB, chunked bool) *httptest.Server {
	tb.Helper()
	list := bigList(1 << 20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		part := list[:200<<10]
		if chunked {
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n", len(part), part)
		} else {
			fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(list), part)
		}
		_ = buf.Flush()
	}))
	tb.Cleanup(srv.Close)
	return srv
}

// TestUpstreamDyingMidBodyAbortsTheAnswer: once the status went out, a
// body that breaks must not end as a short (or, chunked, a well-formed but
// invalid) 200: the caller's connection is dropped, and the abort is
// counted and logged with the request id.
func TestUpstreamDyingMidBodyAbortsTheAnswer(t *testing.T) {
	t.Parallel()
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			t.Parallel()
			g := newStreamGateway(t, brokenUpstream(t, chunked).URL, 10*time.Second)
			res := g.get(t, "/api/whatsapp_sessions")
			got, err := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK || err == nil {
				t.Fatalf("got %d with %d bytes and no read error, want the 200 cut off by a dropped connection", res.StatusCode, len(got))
			}
			if !strings.HasPrefix(string(got), envelopePrefix+`[{"id":1,`) {
				t.Errorf("got %.60q, want the envelope and the first rows before the cut", got)
			}
			waitFor(t, 10*time.Second, func() bool { return len(g.abortsSeen()) == 1 })
			if a := g.abortsSeen(); a[0] != "/api/whatsapp_sessions upstream_unavailable" {
				t.Errorf("got abort %q, want route and cause upstream_unavailable", a[0])
			}
			logged := g.logs.FilterMessage("answer aborted mid-body").All()
			if len(logged) != 1 || logged[0].ContextMap()["request_id"] != "stream-test-1" {
				t.Errorf("got log entries %v, want one naming request stream-test-1", logged)
			}
		})
	}
}

// TestCallerHangingUpMidBodyIsNotAnUpstreamFailure: a caller that goes
// away mid-answer ends the upstream read too; it is counted as client_gone
// and not logged as a warning.
func TestCallerHangingUpMidBodyIsNotAnUpstreamFailure(t *testing.T) {
	t.Parallel()
	list := bigList(256 << 10)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(list)))
		_, _ = w.Write(list[:100<<10])
		http.NewResponseController(w).Flush()
		<-r.Context().Done() // holds the rest until the gateway gives up
	}))
	t.Cleanup(upstream.Close)
	g := newStreamGateway(t, upstream.URL, 10*time.Second)
	res := g.get(t, "/api/whatsapp_sessions")
	if _, err := io.ReadFull(res.Body, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	waitFor(t, 10*time.Second, func() bool { return len(g.abortsSeen()) == 1 })
	if a := g.abortsSeen(); a[0] != "/api/whatsapp_sessions client_gone" {
		t.Errorf("got abort %q, want cause client_gone", a[0])
	}
	if warned := g.logs.FilterMessage("answer aborted mid-body").Len(); warned != 0 {
		t.Errorf("got %d warnings, want none for a caller that left", warned)
	}
}

// TestUpstreamErrorBeforeTheBodyIsTheEnvelope: a status that says failure
// is translated as ever, even when its body is large.
func TestUpstreamErrorBeforeTheBodyIsTheEnvelope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status int
		body   string
		want   int
		code   string
	}{
		{503, `{"code":"08006","message":"connection to database failed","details":null,"hint":null}`, http.StatusBadGateway, "upstream_unavailable"},
		{500, `<html>` + strings.Repeat("x", 200<<10) + `</html>`, http.StatusBadGateway, "upstream_unavailable"},
		{400, `{"code":"PGRST100","message":"failed to parse filter","details":null,"hint":null}`, http.StatusInternalServerError, "internal"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			t.Parallel()
			upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(upstream.Close)
			g := newStreamGateway(t, upstream.URL, 10*time.Second)
			res := g.get(t, "/api/whatsapp_sessions")
			got, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"success":false,"error":{"code":"` + tt.code + `"`
			if res.StatusCode != tt.want || !strings.HasPrefix(string(got), want) {
				t.Errorf("got %d %.100s, want %d and the %s envelope", res.StatusCode, got, tt.want, tt.code)
			}
			if len(g.abortsSeen()) != 0 {
				t.Errorf("got aborts %v, want none before the status went out", g.abortsSeen())
			}
		})
	}
}

// TestDeadlineCutsASlowBody: the call's one deadline still bounds a body
// that stalls after its first part went out. The upstream holds the rest
// until the gateway gives up, so only the deadline can end the answer; the
// deadline is long enough for the first part to get out on a loaded
// machine (a 300ms one ran out before the status did, which answered a
// whole 504 instead).
func TestDeadlineCutsASlowBody(t *testing.T) {
	t.Parallel()
	const deadline = 2 * time.Second
	list := bigList(256 << 10)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(list)))
		_, _ = w.Write(list[:100<<10])
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	t.Cleanup(upstream.Close)
	g := newStreamGateway(t, upstream.URL, deadline)
	start := time.Now()
	res := g.get(t, "/api/whatsapp_sessions")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("got %d, want the 200 whose body the deadline cuts", res.StatusCode)
	}
	_, err := io.Copy(io.Discard, bufio.NewReader(res.Body))
	if took := time.Since(start); err == nil || took > deadline+10*time.Second {
		t.Fatalf("got read error %v after %v, want the answer cut by the %v deadline", err, took, deadline)
	}
	waitFor(t, 10*time.Second, func() bool { return len(g.abortsSeen()) == 1 })
	if a := g.abortsSeen(); a[0] != "/api/whatsapp_sessions upstream_timeout" {
		t.Errorf("got abort %q, want cause upstream_timeout", a[0])
	}
}

// TestListCutByMaxRowsIsLogged: a limit above the Data API's default Max
// Rows asks for an exact count, and when Supabase returns fewer rows than
// asked while more exist (Max Rows below LIST_MAX_LIMIT), the operator is
// told; a limit within it asks for no count.
func TestListCutByMaxRowsIsLogged(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var prefer []string
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		prefer = append(prefer, r.Header.Get("Prefer"))
		mu.Unlock()
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		rows := min(limit, 1000) // a project whose Max Rows is 1000
		total := "*"
		if strings.Contains(r.Header.Get("Prefer"), "count=exact") {
			total = "5000"
		}
		w.Header().Set("Content-Range", fmt.Sprintf("0-%d/%s", rows-1, total))
		_, _ = io.WriteString(w, "["+strings.TrimSuffix(strings.Repeat(`{"id":1},`, rows), ",")+"]")
	}))
	t.Cleanup(upstream.Close)
	g := newStreamGateway(t, upstream.URL, 10*time.Second, func(d *handlers.Deps, _ *supabase.ClientConfig) { d.ListMaxLimit = 5000 })

	for _, limit := range []string{"500", "2000"} {
		res := g.get(t, "/api/whatsapp_sessions?limit="+limit)
		if _, err := io.Copy(io.Discard, res.Body); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("limit=%s: got %d, %v, want 200", limit, res.StatusCode, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(prefer) != 2 || strings.Contains(prefer[0], "count=") || !strings.Contains(prefer[1], "count=exact") {
		t.Errorf("got Prefer headers %q, want no count for limit=500 and count=exact for limit=2000", prefer)
	}
	warned := g.logs.FilterMessageSnippet("Max Rows").All()
	if len(warned) != 1 {
		t.Fatalf("got %d Max Rows warnings, want 1 (for limit=2000 only)", len(warned))
	}
	if f := warned[0].ContextMap(); f["asked"] != int64(2000) || f["got"] != int64(1000) || f["total"] != int64(5000) || f["request_id"] != "stream-test-1" {
		t.Errorf("got fields %v, want asked 2000, got 1000, total 5000 and the request id", f)
	}
}
