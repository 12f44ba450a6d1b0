package handlers_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/wasessions/gateway/supabase"
)

// expireAll runs the pending-expiry sweep's database call, as a replica's
// timer does, for every session pending until now.
func (s *stack) expireAll(tb testing.TB) int {
	tb.Helper()
	c, err := supabase.NewClient(supabase.ClientConfig{URL: s.Upstream.URL, Key: s.Key, UserAgent: "sweep", Timeout: 10 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	defer c.Close()
	time.Sleep(5 * time.Millisecond) // every session is older than the TTL below
	rows, err := c.ExpirePendingSessions(context.Background(), time.Millisecond, 1000)
	if err != nil {
		tb.Fatalf("expire: %v", err)
	}
	return len(rows)
}

// A QR scanned after the timer gave up is a real connection: the
// orchestrator's report connects the session again.
func TestLateScanConnectsATimerExpiredSession(t *testing.T) {
	s := newStack(t)
	sess := s.create(t, "late_scan")
	if n := s.expireAll(t); n != 1 {
		t.Fatalf("got %d sessions expired, want 1", n)
	}
	if got := s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(sess.ID), "").session(t); got.Status != "expired" {
		t.Fatalf("got status %s after the sweep, want expired", got.Status)
	}

	r := s.webhook(t, orchestratorBody("late_scan", "2024-01-15T10:30:00Z"))
	wantStatus(t, r, http.StatusOK)
	if got := r.session(t); got.Status != "connected" {
		t.Fatalf("got status %s after the late scan, want connected", got.Status)
	}
	if estado, phone := s.sesion(t, s.SesionID); estado != "activo" || phone == nil {
		t.Errorf("got sesiones estado %s phone %v, want activo with the phone", estado, phone)
	}
	entries := s.history(t, sess.ID, "")
	if len(entries) != 3 {
		t.Fatalf("got %d entries, want create, expiry, webhook", len(entries))
	}
	wantSteps(t, entries[1:],
		step{source: "expiry", from: "pending", to: "expired", changes: []string{"status"}},
		step{source: "webhook", from: "expired", to: "connected", changes: entries[2].Changes, requestID: str(entries[2].RequestID)})

	// Once connected, the usual rules hold again: expired by the user now is final.
	wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(sess.ID), `{"status":"disconnected"}`), http.StatusOK)
	wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(sess.ID), `{"status":"expired"}`), http.StatusOK)
	wantError(t, s.webhook(t, orchestratorBody("late_scan", "2024-01-15T11:30:00Z")), http.StatusConflict, "invalid_transition")
}

// Only the timer's expiry gives way, and only to the orchestrator.
func TestLateScanLimits(t *testing.T) {
	s := newStack(t)
	tests := []struct {
		name   string
		expire func(t *testing.T, id int64, sessionID string)
		scan   func(t *testing.T, id int64, sessionID string) response
	}{
		{"expired by the user", func(t *testing.T, id int64, _ string) {
			wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(id), `{"status":"expired"}`), http.StatusOK)
		}, func(t *testing.T, _ int64, sid string) response {
			return s.webhook(t, orchestratorBody(sid, "2024-01-15T10:30:00Z"))
		}},
		{"expired by the orchestrator", func(t *testing.T, _ int64, sid string) {
			wantStatus(t, s.webhook(t, `{"session_id":"`+sid+`","status":"expired","last_seen":"2024-01-15T10:00:00Z"}`), http.StatusOK)
		}, func(t *testing.T, _ int64, sid string) response {
			return s.webhook(t, orchestratorBody(sid, "2024-01-15T10:30:00Z"))
		}},
		{"timer-expired, connected by the user", func(t *testing.T, _ int64, _ string) {
			s.expireAll(t)
		}, func(t *testing.T, id int64, _ string) response {
			return s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(id), `{"status":"connected"}`)
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sid := "late_limit_" + itoa(int64(i))
			sess := s.create(t, sid)
			tt.expire(t, sess.ID, sid)
			before := len(s.history(t, sess.ID, ""))
			wantError(t, tt.scan(t, sess.ID, sid), http.StatusConflict, "invalid_transition")
			if got := s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(sess.ID), "").session(t); got.Status != "expired" {
				t.Errorf("got status %s, want still expired", got.Status)
			}
			if after := len(s.history(t, sess.ID, "")); after != before {
				t.Errorf("got %d entries after the refused scan, want %d", after, before)
			}
		})
	}

	t.Run("timer-expired, connected outside the gateway", func(t *testing.T) {
		sess := s.create(t, "late_limit_sql")
		s.expireAll(t)
		_, err := s.Pool.Exec(context.Background(), `update public.whatsapp_sessions set status = 'connected' where id = $1`, sess.ID)
		if err == nil {
			t.Fatal("got the dashboard's update accepted, want the transition refused")
		}
	})
}
