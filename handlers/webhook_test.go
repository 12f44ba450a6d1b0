package handlers_test

import (
	"net/http"
	"strings"
	"testing"
)

// orchestratorBody is a delivery as the orchestrator sends it.
func orchestratorBody(sessionID, lastSeen string) string {
	return `{"session_id":"` + sessionID + `","phone_number":"5215512345678","status":"connected","last_seen":"` + lastSeen + `",` +
		`"auth_folder_path":"/app/auth_info_baileys/` + sessionID + `","server_port":3001,"whatsapp_user_id":"5215512345678:12@s.whatsapp.net",` +
		`"created_at":"2024-01-15T10:30:00.123Z","updated_at":"2024-01-15T10:30:00.123Z"}`
}

func TestWebhookConnectsSessionAndActivatesSesion(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	created := s.create(t, "wh_1")
	r := s.webhook(t, orchestratorBody("wh_1", "2024-01-15T10:30:00Z"))
	wantStatus(t, r, http.StatusOK)
	got := r.session(t)
	if got.ID != created.ID || got.Status != "connected" || got.PhoneNumber == nil || *got.PhoneNumber != "5215512345678" ||
		got.ServerPort == nil || *got.ServerPort != 3001 || got.WhatsappUserID == nil || got.LastSeen == nil {
		t.Errorf("got %+v, want the connected session with the orchestrator's data", got)
	}
	estado, phone := s.sesion(t, s.SesionID)
	if estado != "activo" || phone == nil || *phone != "5215512345678" {
		t.Errorf("got sesiones estado %q phone %v, want activo with the phone", estado, phone)
	}
}

func TestWebhookDeliveredTwiceIsIdempotent(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.create(t, "wh_twice")
	body := orchestratorBody("wh_twice", "2024-01-15T10:30:00Z")
	first := s.webhook(t, body)
	wantStatus(t, first, http.StatusOK)
	second := s.webhook(t, body)
	wantStatus(t, second, http.StatusOK)
	a, b := first.session(t), second.session(t)
	if a.ID != b.ID || a.Status != b.Status || !a.UpdatedAt.Equal(b.UpdatedAt) {
		t.Errorf("got %+v then %+v, want the same row unchanged by the repeat", a, b)
	}
	if n := s.count(t, `select count(*) from public.whatsapp_sessions where session_id = 'wh_twice'`); n != 1 {
		t.Errorf("got %d rows, want 1", n)
	}
}

func TestWebhookBeforeCreateIsKeptAndLinkedLater(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	r := s.webhook(t, orchestratorBody("wh_early", "2024-01-15T10:30:00Z"))
	wantStatus(t, r, http.StatusOK)
	if early := r.session(t); early.SesionID != nil || early.Status != "connected" {
		t.Errorf("got %+v, want a connected row with no sesion_id yet", early)
	}
	if estado, _ := s.sesion(t, s.SesionID); estado != "inactivo" {
		t.Errorf("got estado %q before the create, want inactivo", estado)
	}

	r = s.user(t, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"wh_early","sesion_id":`+itoa(s.SesionID)+`}`)
	wantStatus(t, r, http.StatusCreated)
	linked := r.session(t)
	if linked.Status != "connected" || linked.SesionID == nil || *linked.SesionID != s.SesionID {
		t.Errorf("got %+v, want the early row linked and connected", linked)
	}
	estado, phone := s.sesion(t, s.SesionID)
	if estado != "activo" || phone == nil || *phone != "5215512345678" {
		t.Errorf("got estado %q phone %v, want activo with the phone", estado, phone)
	}
	if n := s.count(t, `select count(*) from public.whatsapp_sessions where session_id = 'wh_early'`); n != 1 {
		t.Errorf("got %d rows, want 1", n)
	}
	// The session is now linked: a second create is a conflict.
	wantError(t, s.user(t, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"wh_early","sesion_id":`+itoa(s.SesionID)+`}`), http.StatusConflict, "conflict")
}

func TestWebhookStaleDeliveryDoesNotRollBack(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.create(t, "wh_stale")
	wantStatus(t, s.webhook(t, `{"session_id":"wh_stale","status":"connected","last_seen":"2024-01-15T12:00:00Z","server_port":4000}`), http.StatusOK)
	wantStatus(t, s.webhook(t, `{"session_id":"wh_stale","status":"disconnected","last_seen":"2024-01-15T12:05:00Z"}`), http.StatusOK)

	r := s.webhook(t, `{"session_id":"wh_stale","status":"connected","last_seen":"2024-01-15T11:00:00Z","server_port":5000}`)
	wantStatus(t, r, http.StatusOK)
	got := r.session(t)
	if got.Status != "disconnected" || *got.ServerPort != 4000 || !got.LastSeen.Equal(mustTime(t, "2024-01-15T12:05:00Z")) {
		t.Errorf("got %+v, want the newer stored state kept", got)
	}
}

func TestWebhookForbiddenTransitionIsConflict(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	created := s.create(t, "wh_expired")
	wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(created.ID), `{"status":"expired"}`), http.StatusOK)
	r := s.webhook(t, orchestratorBody("wh_expired", "2024-01-15T10:30:00Z"))
	wantError(t, r, http.StatusConflict, "invalid_transition")
	if estado, _ := s.sesion(t, s.SesionID); estado != "inactivo" {
		t.Errorf("got estado %q, want inactivo: a refused delivery changes nothing", estado)
	}
}

func TestWebhookRejectsBadBodies(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	for _, body := range []string{
		`{}`,
		`{"session_id":""}`,
		`{"session_id":"bad id"}`,
		`{"session_id":"ok_1","status":"online"}`,
		`{"session_id":"ok_1","phone_number":"+52 1 55"}`,
		`{"session_id":"ok_1","server_port":0}`,
		`{"session_id":"ok_1","last_seen":"not a time"}`,
		`{"session_id":"ok_1","unexpected":1}`,
		`{"session_id":"ok_1"`,
	} {
		t.Run(body, func(t *testing.T) {
			wantError(t, s.webhook(t, body), http.StatusBadRequest, "invalid_request")
		})
	}
	if n := s.count(t, `select count(*) from public.whatsapp_sessions`); n != 0 {
		t.Errorf("got %d rows, want 0", n)
	}
}

func TestWebhookAcceptsBearerSecret(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	r := s.do(t, http.MethodPost, "/api/whatsapp_sessions/new-session-connected", orchestratorBody("wh_bearer", "2024-01-15T10:30:00Z"),
		"Authorization: Bearer "+testWebhookSecret)
	wantStatus(t, r, http.StatusOK)
}

// TestWebhookChecksBodyOnlyAfterCredentials: an authenticated orchestrator
// gets the precise 413 or 415, an unauthenticated caller only ever 401.
func TestWebhookChecksBodyOnlyAfterCredentials(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	bearer := "Authorization: Bearer " + testWebhookSecret
	wantError(t, s.do(t, http.MethodPost, "/api/whatsapp_sessions/new-session-connected", "session_id=x", bearer, "Content-Type: text/plain"), http.StatusUnsupportedMediaType, "unsupported_media_type")
	wantError(t, s.do(t, http.MethodPost, "/api/whatsapp_sessions/new-session-connected", `{"session_id":"`+strings.Repeat("x", 70<<10)+`"}`, bearer), http.StatusRequestEntityTooLarge, "payload_too_large")
}
