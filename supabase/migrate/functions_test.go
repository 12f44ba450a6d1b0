package migrate_test

import (
	"testing"
	"time"
)

func TestCreateWhatsappSession(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	ctx := testContext(t)

	t.Run("created", func(t *testing.T) {
		id := newSesion(t, pool)
		r := mustCreate(t, pool, "create_new", id)
		if r.Outcome != "created" {
			t.Fatalf("outcome: got %q, want created", r.Outcome)
		}
		s := r.Session
		if s.SessionID != "create_new" || s.SesionID == nil || *s.SesionID != id || s.Status != "pending" || s.ID <= 0 {
			t.Fatalf("session: got %v, want create_new linked to %d, pending", s, id)
		}
		if stored := readSession(t, pool, "create_new"); !same(stored, s) {
			t.Fatalf("returned row %v differs from the stored %v", s, stored)
		}
		if got := readSesion(t, pool, id); got.Estado != "inactivo" {
			t.Fatalf("sesiones estado: got %q, want inactivo until the session connects", got.Estado)
		}
	})

	t.Run("sesion_id that does not exist", func(t *testing.T) {
		_, err := createSession(ctx, pool, "create_orphan", 987654)
		pgErr := pgError(err)
		if pgErr == nil || pgErr.Code != "23503" || pgErr.Message != "sesion_id 987654 does not exist" {
			t.Fatalf("got %v, want 23503 sesion_id 987654 does not exist", err)
		}
		if n := count(t, pool, "select count(*) from public.whatsapp_sessions where session_id = 'create_orphan'"); n != 0 {
			t.Fatalf("got %d rows, want none", n)
		}
	})

	t.Run("sesion_id null", func(t *testing.T) {
		_, err := rpc(ctx, pool, "create_whatsapp_session", map[string]any{"p_session_id": "create_null", "p_sesion_id": nil})
		if got := sqlState(err); got != "23502" {
			t.Fatalf("got %q, want 23502", got)
		}
	})

	t.Run("bad session_id", func(t *testing.T) {
		_, err := createSession(ctx, pool, "has space", newSesion(t, pool))
		if got := sqlState(err); got != "23514" {
			t.Fatalf("got %q, want 23514", got)
		}
	})

	t.Run("already exists and linked", func(t *testing.T) {
		first, second := newSesion(t, pool), newSesion(t, pool)
		mustCreate(t, pool, "create_twice", first)
		for _, id := range []int64{first, second} {
			_, err := createSession(ctx, pool, "create_twice", id)
			pgErr := pgError(err)
			if pgErr == nil || pgErr.Code != "23505" || pgErr.Message != "session_id create_twice already exists" {
				t.Fatalf("create again for sesión %d: got %v, want 23505 session_id create_twice already exists", id, err)
			}
		}
		if got := readSession(t, pool, "create_twice"); *got.SesionID != first {
			t.Fatalf("sesion_id: got %d, want the first %d", *got.SesionID, first)
		}
	})

	t.Run("linked after the webhook connected it", func(t *testing.T) {
		id := newSesion(t, pool)
		before := readSesion(t, pool, id)
		early := mustConnect(t, pool, "create_after_webhook", map[string]any{
			"phone_number": "5215512345678", "server_port": 3001, "whatsapp_user_id": "5215512345678@s.whatsapp.net",
		})
		if early.Outcome != "early" {
			t.Fatalf("webhook outcome: got %q, want early", early.Outcome)
		}

		r := mustCreate(t, pool, "create_after_webhook", id)
		if r.Outcome != "linked" {
			t.Fatalf("outcome: got %q, want linked", r.Outcome)
		}
		s := r.Session
		if s.ID != early.Session.ID || s.SesionID == nil || *s.SesionID != id || s.Status != "connected" ||
			deref(s.PhoneNumber) != "5215512345678" || deref(s.ServerPort) != 3001 {
			t.Fatalf("session: got %v, want the webhook's row, linked to %d, connected", s, id)
		}
		got := readSesion(t, pool, id)
		if got.Estado != "activo" || deref(got.PhoneNumber) != "5215512345678" || !got.UpdatedAt.After(before.UpdatedAt) {
			t.Fatalf("sesiones: got %v, want activo with 5215512345678 and a new updated_at", got)
		}
	})

	t.Run("linked after the webhook reported a disconnection", func(t *testing.T) {
		id := newSesion(t, pool)
		mustConnect(t, pool, "create_after_disconnect", map[string]any{"status": "disconnected"})
		r := mustCreate(t, pool, "create_after_disconnect", id)
		if r.Outcome != "linked" || r.Session.Status != "disconnected" {
			t.Fatalf("got %s %s, want linked disconnected", r.Outcome, r.Session.Status)
		}
		if got := readSesion(t, pool, id); got.Estado != "inactivo" {
			t.Fatalf("sesiones estado: got %q, want inactivo (not connected)", got.Estado)
		}
	})

	t.Run("linking keeps a known phone when the session has none", func(t *testing.T) {
		id := newSesion(t, pool)
		mustExec(t, pool, "update public.sesiones set phone_number = '5511112222' where id = $1", id)
		mustConnect(t, pool, "create_no_phone", nil)
		mustCreate(t, pool, "create_no_phone", id)
		if got := readSesion(t, pool, id); got.Estado != "activo" || deref(got.PhoneNumber) != "5511112222" {
			t.Fatalf("sesiones: got %q %v, want activo 5511112222", got.Estado, deref(got.PhoneNumber))
		}
	})
}

func TestWhatsappSessionConnected(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	ctx := testContext(t)
	t0 := time.Date(2026, 1, 15, 10, 30, 0, 0, time.UTC)

	t.Run("early", func(t *testing.T) {
		r := mustConnect(t, pool, "wh_early", map[string]any{
			"phone_number": "5215512345678", "last_seen": t0, "auth_folder_path": "/auth/wh_early",
			"server_port": 3001, "whatsapp_user_id": "5215512345678@s.whatsapp.net",
		})
		if r.Outcome != "early" {
			t.Fatalf("outcome: got %q, want early", r.Outcome)
		}
		s := r.Session
		if s.SesionID != nil || s.Status != "connected" || deref(s.PhoneNumber) != "5215512345678" ||
			!s.LastSeen.Equal(t0) || deref(s.AuthFolderPath) != "/auth/wh_early" || deref(s.ServerPort) != 3001 ||
			deref(s.WhatsappUserID) != "5215512345678@s.whatsapp.net" {
			t.Fatalf("session: got %v, want every field kept, no sesion_id, connected", s)
		}
		if stored := readSession(t, pool, "wh_early"); !same(stored, s) {
			t.Fatalf("returned row %v differs from the stored %v", s, stored)
		}
	})

	t.Run("null status and last_seen mean connected and now", func(t *testing.T) {
		r := mustConnect(t, pool, "wh_defaults", map[string]any{"status": nil, "last_seen": nil})
		if r.Session.Status != "connected" || r.Session.LastSeen == nil || time.Since(*r.Session.LastSeen) > time.Minute {
			t.Fatalf("got status %q last_seen %v, want connected and about now", r.Session.Status, deref(r.Session.LastSeen))
		}
	})

	t.Run("applied activates the linked sesión", func(t *testing.T) {
		id := newSesion(t, pool)
		mustCreate(t, pool, "wh_applied", id)
		r := mustConnect(t, pool, "wh_applied", map[string]any{"phone_number": "5215512345678", "last_seen": t0, "server_port": 3002})
		if r.Outcome != "applied" || r.Session.Status != "connected" || deref(r.Session.ServerPort) != 3002 {
			t.Fatalf("got %s %v, want applied connected", r.Outcome, r.Session)
		}
		if got := readSesion(t, pool, id); got.Estado != "activo" || deref(got.PhoneNumber) != "5215512345678" {
			t.Fatalf("sesiones: got %q %v, want activo 5215512345678", got.Estado, deref(got.PhoneNumber))
		}
	})

	t.Run("duplicate changes nothing", func(t *testing.T) {
		id := newSesion(t, pool)
		mustCreate(t, pool, "wh_duplicate", id)
		args := map[string]any{
			"phone_number": "5215512345678", "last_seen": t0, "auth_folder_path": "/auth/d",
			"server_port": 3003, "whatsapp_user_id": "u@s.whatsapp.net",
		}
		first := mustConnect(t, pool, "wh_duplicate", args)
		sesionBefore := readSesion(t, pool, id)
		second := mustConnect(t, pool, "wh_duplicate", args)
		if first.Outcome != "applied" || second.Outcome != "duplicate" {
			t.Fatalf("outcomes: got %s then %s, want applied then duplicate", first.Outcome, second.Outcome)
		}
		if !same(second.Session, first.Session) {
			t.Fatalf("duplicate returned %v, want the stored %v", second.Session, first.Session)
		}
		if stored := readSession(t, pool, "wh_duplicate"); !stored.UpdatedAt.Equal(first.Session.UpdatedAt) {
			t.Fatalf("updated_at: got %v, want unchanged %v", stored.UpdatedAt, first.Session.UpdatedAt)
		}
		if got := readSesion(t, pool, id); !got.UpdatedAt.Equal(sesionBefore.UpdatedAt) {
			t.Fatalf("sesiones updated_at: got %v, want unchanged %v", got.UpdatedAt, sesionBefore.UpdatedAt)
		}
		// Omitted arguments keep what is stored, so a sparser redelivery
		// is a duplicate too.
		if r := mustConnect(t, pool, "wh_duplicate", map[string]any{"last_seen": t0}); r.Outcome != "duplicate" {
			t.Fatalf("sparse redelivery: got %s, want duplicate", r.Outcome)
		}
	})

	t.Run("stale does not roll back", func(t *testing.T) {
		id := newSesion(t, pool)
		mustCreate(t, pool, "wh_stale", id)
		newer := mustConnect(t, pool, "wh_stale", map[string]any{"phone_number": "5215512345678", "last_seen": t0.Add(time.Minute)})
		r := mustConnect(t, pool, "wh_stale", map[string]any{"status": "disconnected", "phone_number": "5511112222", "last_seen": t0})
		if r.Outcome != "stale" {
			t.Fatalf("outcome: got %q, want stale", r.Outcome)
		}
		stored := readSession(t, pool, "wh_stale")
		if !same(stored, newer.Session) || !same(r.Session, newer.Session) {
			t.Fatalf("after a stale report: stored %v, returned %v, want both %v", stored, r.Session, newer.Session)
		}
	})

	t.Run("omitted arguments keep stored values", func(t *testing.T) {
		mustConnect(t, pool, "wh_keep", map[string]any{
			"phone_number": "5215512345678", "last_seen": t0, "auth_folder_path": "/auth/k",
			"server_port": 3004, "whatsapp_user_id": "k@s.whatsapp.net",
		})
		r := mustConnect(t, pool, "wh_keep", map[string]any{"last_seen": t0.Add(time.Second), "status": "disconnected"})
		s := r.Session
		if r.Outcome != "applied" || s.Status != "disconnected" || !s.LastSeen.Equal(t0.Add(time.Second)) ||
			deref(s.PhoneNumber) != "5215512345678" || deref(s.AuthFolderPath) != "/auth/k" ||
			deref(s.ServerPort) != 3004 || deref(s.WhatsappUserID) != "k@s.whatsapp.net" {
			t.Fatalf("got %s %v, want applied, disconnected, the rest kept", r.Outcome, s)
		}
	})

	t.Run("applied bumps updated_at", func(t *testing.T) {
		first := mustConnect(t, pool, "wh_bump", map[string]any{"last_seen": t0})
		second := mustConnect(t, pool, "wh_bump", map[string]any{"last_seen": t0.Add(time.Second)})
		if second.Outcome != "applied" || !second.Session.UpdatedAt.After(first.Session.UpdatedAt) {
			t.Fatalf("got %s updated_at %v, want applied and later than %v", second.Outcome, second.Session.UpdatedAt, first.Session.UpdatedAt)
		}
	})

	t.Run("a disconnection does not activate the sesión", func(t *testing.T) {
		id := newSesion(t, pool)
		mustCreate(t, pool, "wh_disconnected", id)
		r := mustConnect(t, pool, "wh_disconnected", map[string]any{"status": "disconnected", "phone_number": "5215512345678"})
		if r.Outcome != "applied" {
			t.Fatalf("outcome: got %q, want applied", r.Outcome)
		}
		if got := readSesion(t, pool, id); got.Estado != "inactivo" || got.PhoneNumber != nil {
			t.Fatalf("sesiones: got %q %v, want inactivo without phone", got.Estado, deref(got.PhoneNumber))
		}
	})

	t.Run("a forbidden transition is refused and changes nothing", func(t *testing.T) {
		id := newSesion(t, pool)
		mustCreate(t, pool, "wh_expired", id)
		mustConnect(t, pool, "wh_expired", map[string]any{"status": "expired", "last_seen": t0})
		before := readSession(t, pool, "wh_expired")
		_, err := connected(ctx, pool, "wh_expired", map[string]any{"phone_number": "5215512345678", "last_seen": t0.Add(time.Minute)})
		wantInvalidTransition(t, err, "expired", "connected")
		if after := readSession(t, pool, "wh_expired"); !same(after, before) {
			t.Fatalf("after the refusal: got %v, want %v", after, before)
		}
		if got := readSesion(t, pool, id); got.Estado != "inactivo" {
			t.Fatalf("sesiones estado: got %q, want inactivo", got.Estado)
		}
	})

	t.Run("bad data is refused", func(t *testing.T) {
		tests := []struct {
			name string
			args map[string]any
			want string
		}{
			{"unknown status on a new row", map[string]any{"status": "online"}, "23514"},
			{"phone with plus", map[string]any{"phone_number": "+5215512345678"}, "23514"},
			{"port out of range", map[string]any{"server_port": 70000}, "23514"},
		}
		for _, tt := range tests {
			_, err := connected(ctx, pool, "wh_bad", tt.args)
			if got := sqlState(err); got != tt.want {
				t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
			}
		}
		mustConnect(t, pool, "wh_bad", nil)
		if _, err := connected(ctx, pool, "wh_bad", map[string]any{"status": "online"}); sqlState(err) != "23514" {
			t.Errorf("unknown status on an existing row: got %v, want 23514", err)
		}
	})
}
