package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/wasessions/gateway/config"
	"github.com/wasessions/gateway/supabase/supabasetest"
)

const (
	testJWTSecret     = "main-test-jwt-secret-0123456789abcdef"
	testWebhookSecret = "main-test-webhook-secret"
)

// TestMain fails the run if run() leaves a goroutine behind after its
// context ends: the local data API, pools and verifiers must all stop.
func TestMain(m *testing.M) {
	before := goleak.IgnoreCurrent()
	code := m.Run()
	// The tests' own client keeps idle connections; they are not the gateway's.
	http.DefaultClient.CloseIdleConnections()
	if code == 0 {
		if err := goleak.Find(before); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitListenerClosed polls until addr refuses connections: the gateway has
// begun shutting down.
func waitListenerClosed(tb testing.TB, addr string) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			tb.Fatalf("%s still accepts connections 20s after SIGTERM, want the listener closed", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitHealthy polls /healthz until the gateway answers.
func waitHealthy(tb testing.TB, base string) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		res, err := http.Get(base + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("gateway at %s never became healthy", base)
}

// syncBuffer is a bytes.Buffer safe for the server's and the test's use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestRunLocalMode starts the whole service in local mode, as `go run .`
// does, against a fresh database, and checks that it migrates, seeds,
// announces local mode, serves, and stops cleanly when its context ends.
func TestRunLocalMode(t *testing.T) {
	dbURL := supabasetest.NewDatabase(t)
	port := freePort(t)
	env := map[string]string{"PORT": fmt.Sprint(port), "DATABASE_URL": dbURL, "LOG_LEVEL": "warn"}
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-config", ""}, func(k string) string { return env[k] }, &out) }()

	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base)
	banner := out.String()
	for _, want := range []string{"LOCAL MODE", "WEBHOOK_SECRET=", "curl -s -X POST"} {
		if !strings.Contains(banner, want) {
			t.Errorf("got start-up output %q, want it to contain %q", banner, want)
		}
	}
	for path, want := range map[string]int{"/readyz": http.StatusOK, "/api/whatsapp_sessions": http.StatusUnauthorized} {
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("GET %s: got %d, want %d", path, res.StatusCode, want)
		}
	}

	// A client that never finishes its headers is cut off by the server's
	// read-header timeout instead of holding a connection forever.
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Errorf("got %v from a slow client's connection, want it closed by the server", err)
	}
	conn.Close()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v, want a clean stop", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestRunRefusesBadConfigNamingIt(t *testing.T) {
	err := run(context.Background(), []string{"-config", ""}, func(k string) string {
		return map[string]string{"SUPABASE_URL": "https://abcd.supabase.co", "SUPABASE_SERVICE_ROLE_KEY": "sb_secret_x"}[k]
	}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "WEBHOOK_SECRET") {
		t.Errorf("got %v, want an error naming WEBHOOK_SECRET", err)
	}
}

// TestSIGTERMFinishesInFlightRequests builds the binary, loads it with
// requests that a slow Supabase keeps in flight, sends SIGTERM, and checks
// that every accepted request completed and the process exited 0.
func TestSIGTERMFinishesInFlightRequests(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "gateway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// The test's requests are held upstream until the gateway has begun
	// shutting down, so each is in flight at SIGTERM however slow the
	// machine is; a fixed sleep instead let a request that had not yet
	// been accepted meet the closed listener.
	const inFlight = 12
	arrived := make(chan struct{}, inFlight)
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/jwks.json"):
			_, _ = w.Write([]byte(`{"keys":[]}`))
		case strings.HasSuffix(r.URL.Path, "/rpc/whatsapp_session_connected"): // not the sweeper's
			arrived <- struct{}{}
			<-release
			_, _ = w.Write([]byte(`{"outcome":"applied","session":{"id":1,"session_id":"s1","status":"connected"}}`))
		case r.URL.Query().Get("status") == "eq.connected":
			arrived <- struct{}{}
			<-release
			_, _ = w.Write([]byte(`[]`))
		default:
			_, _ = w.Write([]byte(`[]`))
		}
	}))
	defer upstream.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release) // a failed test must not leave handlers blocked
		}
	}()

	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	cmd := exec.Command(bin, "-config", "")
	cmd.Env = append(os.Environ(),
		"PORT="+fmt.Sprint(port), "SUPABASE_URL="+upstream.URL, "SUPABASE_SERVICE_ROLE_KEY=sb_secret_test",
		"SUPABASE_JWT_SECRET="+testJWTSecret, "WEBHOOK_SECRET="+testWebhookSecret, "RATE_LIMIT_RPS=0",
		"SHUTDOWN_GRACE=10s", "LOG_LEVEL=warn")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	waitHealthy(t, base)

	token := userToken(config.Config{SupabaseURL: upstream.URL, SupabaseJWTSecret: testJWTSecret}, sampleUser)
	statuses := make(chan int, inFlight)
	for i := 0; i < inFlight; i++ {
		go func(i int) {
			var req *http.Request
			if i%4 == 0 {
				req, _ = http.NewRequest(http.MethodPost, base+"/api/whatsapp_sessions/new-session-connected", strings.NewReader(`{"session_id":"s1"}`))
				req.Header.Set("Authorization", "Bearer "+testWebhookSecret)
				req.Header.Set("Content-Type", "application/json")
			} else {
				req, _ = http.NewRequest(http.MethodGet, base+"/api/whatsapp_sessions?status=eq.connected", nil)
				req.Header.Set("Authorization", "Bearer "+token)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Logf("in-flight request: %v", err)
				statuses <- -1
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}(i)
	}
	for i := 0; i < inFlight; i++ {
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatalf("%d of %d requests reached the upstream, want all in flight before SIGTERM", i, inFlight)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitListenerClosed(t, fmt.Sprintf("127.0.0.1:%d", port))
	close(release)
	for i := 0; i < inFlight; i++ {
		if got := <-statuses; got != http.StatusOK {
			t.Errorf("in-flight request %d: got %d, want 200 (completed despite SIGTERM); logs:\n%s", i, got, logs.String())
		}
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("got exit %v, want 0; logs:\n%s", err, logs.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("gateway did not exit after SIGTERM; logs:\n%s", logs.String())
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("got an answer after shutdown, want the listener closed")
	}
}
