package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wasessions/gateway/config"
	"github.com/wasessions/gateway/supabase/supabasetest"
)

// startRun runs the gateway with env until the test ends and returns its
// base URL and output.
func startRun(t *testing.T, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	port := freePort(t)
	env["PORT"] = fmt.Sprint(port)
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-config", ""}, func(k string) string { return env[k] }, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v, want a clean stop", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("run did not return after its context ended")
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	waitHealthy(t, base)
	return base, out
}

func call(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestRunLocalModeScopesSessionsToTheirOwner: local mode runs with
// sessions scoped to their owner, the sample sesión belongs to the user of
// the printed token (so the README's requests work), and another user
// sees none of it.
func TestRunLocalModeScopesSessionsToTheirOwner(t *testing.T) {
	const secret = "local-owner-test-jwt-secret-0123456789abcdef"
	base, out := startRun(t, map[string]string{"DATABASE_URL": supabasetest.NewDatabase(t), "LOG_LEVEL": "warn", "SUPABASE_JWT_SECRET": secret})
	if !strings.Contains(out.String(), "SESIONES_OWNER_COLUMN=user_id") {
		t.Errorf("got start-up output %q, want it to say sessions are scoped by user_id", out.String())
	}
	cfg := config.Config{SupabaseJWTSecret: secret}
	owner, other := userToken(cfg, sampleUser), userToken(cfg, "00000000-0000-0000-0000-000000000002")

	status, body := call(t, http.MethodPost, base+"/api/whatsapp_sessions", owner, `{"session_id":"local_owner_1","sesion_id":1}`)
	if status != http.StatusCreated {
		t.Fatalf("create as the printed token's user: got %d %s, want 201", status, body)
	}
	var created struct {
		Data struct{ ID int64 } `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	if status, body := call(t, http.MethodPost, base+"/api/whatsapp_sessions", other, `{"session_id":"local_other_1","sesion_id":1}`); status != http.StatusNotFound {
		t.Errorf("create as another user on the sample sesión: got %d %s, want 404", status, body)
	}
	if status, body := call(t, http.MethodGet, base+"/api/whatsapp_sessions", other, ""); status != http.StatusOK || body != `{"success":true,"data":[]}` {
		t.Errorf("list as another user: got %d %s, want 200 and no sessions", status, body)
	}
	if status, body := call(t, http.MethodGet, fmt.Sprintf("%s/api/whatsapp_sessions/%d", base, created.Data.ID), other, ""); status != http.StatusNotFound {
		t.Errorf("get as another user: got %d %s, want 404", status, body)
	}
	if status, body := call(t, http.MethodGet, fmt.Sprintf("%s/api/whatsapp_sessions/%d", base, created.Data.ID), owner, ""); status != http.StatusOK {
		t.Errorf("get as the owner: got %d %s, want 200", status, body)
	}
}

// TestRunRefusesAnOwnerColumnThatCannotHoldAUser: start-up stops with one
// line naming SESIONES_OWNER_COLUMN when the column is missing or of a
// type that cannot hold a user id, as the project answers through its
// Data API.
func TestRunRefusesAnOwnerColumnThatCannotHoldAUser(t *testing.T) {
	for column, want := range map[string]string{
		"owner_nope": `sesiones has no column "owner_nope"`,
		"created_at": "sesiones.created_at is timestamp with time zone; it must be uuid or text",
	} {
		env := map[string]string{"DATABASE_URL": supabasetest.NewDatabase(t), "LOG_LEVEL": "warn", "PORT": fmt.Sprint(freePort(t)), "SESIONES_OWNER_COLUMN": column}
		err := run(context.Background(), []string{"-config", ""}, func(k string) string { return env[k] }, io.Discard)
		if err == nil || !strings.HasPrefix(err.Error(), "SESIONES_OWNER_COLUMN: ") || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: got %v, want one line naming SESIONES_OWNER_COLUMN and saying %q", column, err, want)
		}
	}
}

// TestRunWarnsWhenSessionsHaveNoOwner: outside local mode, without
// SESIONES_OWNER_COLUMN, start-up says once that every signed-in user
// manages every session.
func TestRunWarnsWhenSessionsHaveNoOwner(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer upstream.Close()
	_, out := startRun(t, map[string]string{
		"SUPABASE_URL": upstream.URL, "SUPABASE_SECRET_KEY": "sb_secret_x", "WEBHOOK_SECRET": "0123456789abcdef0123",
		"SUPABASE_JWT_SECRET": testJWTSecret, "LOG_LEVEL": "warn",
	})
	if n := strings.Count(out.String(), "SESIONES_OWNER_COLUMN is not set"); n != 1 {
		t.Errorf("got %d warnings in %q, want 1", n, out.String())
	}
}
