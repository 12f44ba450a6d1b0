package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wasessions/gateway/config"
	"github.com/wasessions/gateway/supabase/supabasetest"
)

// TestShutdownEndsLiveStreamsWithRetryHint: the signal that stops the
// gateway (its run context) ends each open live stream with a retry: hint,
// so EventSource reconnects to another replica, and the gateway stops well
// inside SHUTDOWN_GRACE instead of waiting for streams that never idle.
func TestShutdownEndsLiveStreamsWithRetryHint(t *testing.T) {
	dbURL := supabasetest.NewDatabase(t)
	port := freePort(t)
	env := map[string]string{
		"PORT": fmt.Sprint(port), "DATABASE_URL": dbURL, "LOG_LEVEL": "warn",
		"SUPABASE_JWT_SECRET": testJWTSecret, "WEBHOOK_SECRET": testWebhookSecret, "SHUTDOWN_GRACE": "60s",
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-config", ""}, func(k string) string { return env[k] }, io.Discard) }()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base)
	token := userToken(config.Config{SupabaseJWTSecret: testJWTSecret}, sampleUser)

	req, _ := http.NewRequest(http.MethodPost, base+"/api/whatsapp_sessions", strings.NewReader(`{"session_id":"shutdown-stream","sesion_id":1}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: got %d, want 201", res.StatusCode)
	}

	// The session is row 1 of a fresh database; EventSource's way in.
	res, err = http.Get(base + "/api/whatsapp_sessions/1/events?access_token=" + token)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("open stream: got %d, want 200", res.StatusCode)
	}
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	waitLine(t, lines, "event: session")
	if m := scrape(t, base); !strings.Contains(m, "\ngateway_live_streams 1\n") {
		t.Errorf("got metrics without gateway_live_streams 1 while one stream is open")
	}
	stopped := time.Now()
	cancel()
	waitLine(t, lines, "retry: ")
	for range lines { // the stream ends
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v, want a clean stop", err)
		}
	case <-time.After(70 * time.Second):
		t.Fatal("run did not return within SHUTDOWN_GRACE")
	}
	// Prompt means well inside the grace a stream that held shutdown would
	// use up; a loaded machine needs seconds for the rest of the stop.
	if took := time.Since(stopped); took > 20*time.Second {
		t.Errorf("shutdown took %v with a stream open, want it well inside the 60s grace", took)
	}
}

// lineWithin bounds the wait for a line: its arrival is checked, not its
// speed, so it is generous for a loaded machine.
const lineWithin = 15 * time.Second

// waitLine reads lines until one starts with prefix.
func waitLine(t *testing.T, lines <-chan string, prefix string) {
	t.Helper()
	deadline := time.After(lineWithin)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("the stream ended before a line %q", prefix)
			}
			if strings.HasPrefix(line, prefix) {
				return
			}
		case <-deadline:
			t.Fatalf("no line %q within %v", prefix, lineWithin)
		}
	}
}

// TestExpirySweepReachesStreamsAtOnce: a session the pending-expiry sweep
// expires reaches this replica's streams without waiting for a poll (the
// poll interval here is an hour): the sweep pokes the broker.
func TestExpirySweepReachesStreamsAtOnce(t *testing.T) {
	dbURL := supabasetest.NewDatabase(t)
	port := freePort(t)
	env := map[string]string{
		"PORT": fmt.Sprint(port), "DATABASE_URL": dbURL, "LOG_LEVEL": "warn",
		"SUPABASE_JWT_SECRET": testJWTSecret, "WEBHOOK_SECRET": testWebhookSecret,
		// A TTL of seconds, so the stream opens on the pending session
		// even on a loaded machine.
		"PENDING_TTL": "4s", "EXPIRY_INTERVAL": "500ms", "STREAM_POLL_INTERVAL": "1h",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-config", ""}, func(k string) string { return env[k] }, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run returned %v, want a clean stop", err)
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base)
	token := userToken(config.Config{SupabaseJWTSecret: testJWTSecret}, sampleUser)

	req, _ := http.NewRequest(http.MethodPost, base+"/api/whatsapp_sessions", strings.NewReader(`{"session_id":"expiring-stream","sesion_id":1}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("create: got %d, want 201", res.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/api/whatsapp_sessions/1/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(res.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	deadline := time.After(4*time.Second + lineWithin)
	first := true
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended before the expiry arrived")
			}
			if !strings.HasPrefix(line, "data: ") {
				continue
			}
			if first {
				first = false
				if !strings.Contains(line, `"status":"pending"`) {
					t.Skipf("the session expired before the stream opened (a slow machine): %s", line)
				}
				continue
			}
			if strings.Contains(line, `"status":"expired"`) {
				return
			}
		case <-deadline:
			t.Fatalf("the expiry did not reach the stream within %v, with polling every hour", 4*time.Second+lineWithin)
		}
	}
}

// scrape reads /metrics (served to loopback without METRICS_TOKEN).
func scrape(t *testing.T, base string) string {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
