package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCreateSession(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	r := s.user(t, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"session_1705312200123_abc123def","sesion_id":`+itoa(s.SesionID)+`}`)
	wantStatus(t, r, http.StatusCreated)
	got := r.session(t)
	if got.ID <= 0 || got.SessionID != "session_1705312200123_abc123def" || got.Status != "pending" || got.SesionID == nil || *got.SesionID != s.SesionID {
		t.Errorf("got %+v, want a pending row linked to sesion %d", got, s.SesionID)
	}
	if n := s.count(t, `select count(*) from public.whatsapp_sessions where session_id = 'session_1705312200123_abc123def'`); n != 1 {
		t.Errorf("got %d rows in the database, want 1", n)
	}
	if estado, _ := s.sesion(t, s.SesionID); estado != "inactivo" {
		t.Errorf("got sesiones estado %q after create, want inactivo until the webhook", estado)
	}
}

func TestCreateSessionConflictAndMissingSesion(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.create(t, "dup_1")
	r := s.user(t, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"dup_1","sesion_id":`+itoa(s.SesionID)+`}`)
	wantError(t, r, http.StatusConflict, "conflict")

	r = s.user(t, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"orphan_1","sesion_id":999999}`)
	wantError(t, r, http.StatusNotFound, "not_found")
	if n := s.count(t, `select count(*) from public.whatsapp_sessions`); n != 1 {
		t.Errorf("got %d rows, want 1: a refused create must write nothing", n)
	}
}

func TestCreateSessionRejectsBadBodies(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	sesion := itoa(s.SesionID)
	tests := []struct {
		name, body, contentType string
		status                  int
		code                    string
	}{
		{"not JSON", `{"session_id":`, "application/json", 400, "invalid_request"},
		{"unknown field", `{"session_id":"a1","sesion_id":` + sesion + `,"admin":true}`, "application/json", 400, "invalid_request"},
		{"field name in other case", `{"session_id":"a1","SESION_ID":` + sesion + `}`, "application/json", 400, "invalid_request"},
		{"repeated field", `{"session_id":"a1","session_id":"a2","sesion_id":` + sesion + `}`, "application/json", 400, "invalid_request"},
		{"sesion_id as string", `{"session_id":"a1","sesion_id":"` + sesion + `"}`, "application/json", 400, "invalid_request"},
		{"sesion_id fractional", `{"session_id":"a1","sesion_id":1.5}`, "application/json", 400, "invalid_request"},
		{"sesion_id zero", `{"session_id":"a1","sesion_id":0}`, "application/json", 400, "invalid_request"},
		{"sesion_id missing", `{"session_id":"a1"}`, "application/json", 400, "invalid_request"},
		{"session_id missing", `{"sesion_id":` + sesion + `}`, "application/json", 400, "invalid_request"},
		{"session_id empty", `{"session_id":"","sesion_id":` + sesion + `}`, "application/json", 400, "invalid_request"},
		{"session_id bad characters", `{"session_id":"a b/c","sesion_id":` + sesion + `}`, "application/json", 400, "invalid_request"},
		{"session_id too long", `{"session_id":"` + strings.Repeat("a", 129) + `","sesion_id":` + sesion + `}`, "application/json", 400, "invalid_request"},
		{"array body", `[{"session_id":"a1","sesion_id":` + sesion + `}]`, "application/json", 400, "invalid_request"},
		{"trailing data", `{"session_id":"a1","sesion_id":` + sesion + `} {}`, "application/json", 400, "invalid_request"},
		{"text body", `session_id=a1`, "text/plain", 415, "unsupported_media_type"},
		{"form body", `session_id=a1`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"too large", `{"session_id":"a1","sesion_id":` + sesion + `,"x":"` + strings.Repeat("x", 70<<10) + `"}`, "application/json", 413, "payload_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.user(t, http.MethodPost, "/api/whatsapp_sessions", tt.body, "Content-Type: "+tt.contentType)
			wantError(t, r, tt.status, tt.code)
		})
	}
	if n := s.count(t, `select count(*) from public.whatsapp_sessions`); n != 0 {
		t.Errorf("got %d rows, want 0 after only bad requests", n)
	}
}

func TestListSessionsFilters(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	other := s.newSesion(t)
	a := s.create(t, "session_1705312200123_abc123def")
	b := s.create(t, "list_b")
	c := s.create(t, "list_c")
	wantStatus(t, s.user(t, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"list_other","sesion_id":`+itoa(other)+`}`), http.StatusCreated)
	wantStatus(t, s.webhook(t, `{"session_id":"list_b","phone_number":"5215512345678","auth_folder_path":"/data/auth,b","server_port":3001}`), http.StatusOK)
	wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(c.ID), `{"status":"expired"}`), http.StatusOK)

	tests := []struct {
		query string
		want  []string // session_ids, in order when the query orders
	}{
		{"sesion_id=eq." + itoa(s.SesionID) + "&order=id.asc", []string{a.SessionID, b.SessionID, c.SessionID}},
		{"session_id=eq.session_1705312200123_abc123def", []string{a.SessionID}},
		{"status=eq.connected", []string{"list_b"}},
		{"status=neq.pending&order=id.asc", []string{"list_b", "list_c"}},
		{"status=in.(connected,expired)&order=id.desc", []string{"list_c", "list_b"}},
		{"status=not.in.(pending)&order=id.asc", []string{"list_b", "list_c"}},
		{"phone_number=is.null&sesion_id=eq." + itoa(s.SesionID) + "&order=id.asc", []string{a.SessionID, "list_c"}},
		{"phone_number=not.is.null", []string{"list_b"}},
		{"session_id=like.list_*&order=session_id.asc", []string{"list_b", "list_c", "list_other"}},
		{"session_id=ilike.LIST_O*", []string{"list_other"}},
		{"server_port=gte.3001", []string{"list_b"}},
		{"server_port=lt.3001", nil},
		{"id=gt." + itoa(a.ID) + "&id=lte." + itoa(c.ID) + "&order=id.asc", []string{"list_b", "list_c"}},
		{"auth_folder_path=eq./data/auth,b", []string{"list_b"}},
		{"auth_folder_path=eq./data/auth,b&auth_folder_path=like.*auth*", []string{"list_b"}},
		{"order=id.asc&limit=2", []string{a.SessionID, "list_b"}},
		{"order=id.asc&limit=2&offset=2", []string{"list_c", "list_other"}},
		{"created_at=gt.2000-01-01&order=id.asc&limit=1", []string{a.SessionID}},
		{"last_seen=lt." + url.QueryEscape("2000-01-01T00:00:00+00:00"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := s.user(t, http.MethodGet, "/api/whatsapp_sessions?"+tt.query, "")
			wantStatus(t, r, http.StatusOK)
			var got []string
			for _, row := range r.sessions(t) {
				got = append(got, row.SessionID)
			}
			ordered := strings.Contains(tt.query, "order=")
			if !sameIDs(got, tt.want, ordered) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func sameIDs(got, want []string, ordered bool) bool {
	if len(got) != len(want) {
		return false
	}
	if ordered {
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	seen := map[string]int{}
	for _, g := range got {
		seen[g]++
	}
	for _, w := range want {
		seen[w]--
	}
	for _, n := range seen {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestListSessionsSelectReturnsOnlyThoseColumns(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.create(t, "select_1")
	r := s.user(t, http.MethodGet, "/api/whatsapp_sessions?select=id,status", "")
	wantStatus(t, r, http.StatusOK)
	if !strings.Contains(string(r.Data), `"status":"pending"`) || strings.Contains(string(r.Data), "session_id") {
		t.Errorf("got %s, want rows with only id and status", r.Data)
	}
}

func TestListSessionsRejectsBadParameters(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	tests := []struct{ query, param string }{
		{"nope=eq.1", "nope"},
		{"status=eq.online", "status"},
		{"status=between.a", "status"},
		{"id=eq.one", "id"},
		{"sesion_id=eq.1%3Bdelete", "sesion_id"},
		{"select=id,sesiones(*)", "select"},
		{"order=id.sideways", "order"},
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"offset=-5", "offset"},
		{"or=(status.eq.pending)", "or"},
		{"apikey=x", "apikey"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := s.user(t, http.MethodGet, "/api/whatsapp_sessions?"+tt.query, "")
			wantError(t, r, http.StatusBadRequest, "invalid_request")
			if r.Error.Details["parameter"] != tt.param {
				t.Errorf("got details %v, want parameter %q", r.Error.Details, tt.param)
			}
		})
	}
}

func TestGetSession(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	created := s.create(t, "get_1")
	r := s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(created.ID), "")
	wantStatus(t, r, http.StatusOK)
	if got := r.session(t); got.ID != created.ID || got.SessionID != "get_1" {
		t.Errorf("got %+v, want session %d", got, created.ID)
	}
	wantError(t, s.user(t, http.MethodGet, "/api/whatsapp_sessions/987654", ""), http.StatusNotFound, "not_found")
	for _, bad := range []string{"abc", "0", "-1", "1.5", "9999999999999999999999", "1%20or%201=1"} {
		r := s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+bad, "")
		wantError(t, r, http.StatusBadRequest, "invalid_request")
	}
}

func TestUpdateSession(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	created := s.create(t, "patch_1")
	path := "/api/whatsapp_sessions/" + itoa(created.ID)

	r := s.user(t, http.MethodPatch, path, `{"status":"connected","phone_number":"5215512345678","server_port":3000,"last_seen":"2024-01-15T10:30:00Z","auth_folder_path":"/auth/1","whatsapp_user_id":"5215512345678@s.whatsapp.net"}`)
	wantStatus(t, r, http.StatusOK)
	got := r.session(t)
	if got.Status != "connected" || got.PhoneNumber == nil || *got.PhoneNumber != "5215512345678" || got.ServerPort == nil || *got.ServerPort != 3000 {
		t.Errorf("got %+v, want the patched fields", got)
	}
	if !got.UpdatedAt.After(created.UpdatedAt) {
		t.Errorf("got updated_at %v, want later than %v", got.UpdatedAt, created.UpdatedAt)
	}

	r = s.user(t, http.MethodPatch, path, `{"auth_folder_path":null}`)
	wantStatus(t, r, http.StatusOK)
	if got := r.session(t); got.AuthFolderPath != nil || got.Status != "connected" {
		t.Errorf("got %+v, want auth_folder_path cleared and the rest kept", got)
	}

	wantError(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/987654", `{"status":"connected"}`), http.StatusNotFound, "not_found")
}

func TestUpdateSessionRejectsBadBodies(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	created := s.create(t, "patch_bad")
	path := "/api/whatsapp_sessions/" + itoa(created.ID)
	for _, body := range []string{
		`{}`,
		`{"status":null}`,
		`{"status":"online"}`,
		`{"session_id":"other"}`,
		`{"sesion_id":2}`,
		`{"id":5}`,
		`{"phone_number":"+52 155"}`,
		`{"phone_number":"12345"}`,
		`{"server_port":0}`,
		`{"server_port":70000}`,
		`{"server_port":"3000"}`,
		`{"last_seen":"yesterday"}`,
		`{"created_at":"2024-01-01T00:00:00Z"}`,
		`not json`,
	} {
		t.Run(body, func(t *testing.T) {
			wantError(t, s.user(t, http.MethodPatch, path, body), http.StatusBadRequest, "invalid_request")
		})
	}
	r := s.user(t, http.MethodGet, path, "")
	if got := r.session(t); got.Status != "pending" || !got.UpdatedAt.Equal(created.UpdatedAt) {
		t.Errorf("got %+v, want the row untouched by refused patches", got)
	}
}

func TestStatusTransitions(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	statuses := []string{"pending", "connected", "disconnected", "expired"}
	allowed := map[string]bool{
		"pending>connected": true, "pending>disconnected": true, "pending>expired": true,
		"connected>disconnected": true,
		"disconnected>connected": true, "disconnected>expired": true,
	}
	// reach walks a fresh session from pending to status by allowed steps.
	reach := map[string][]string{"pending": nil, "connected": {"connected"}, "disconnected": {"disconnected"}, "expired": {"expired"}}
	for _, from := range statuses {
		for _, to := range statuses {
			name := from + ">" + to
			t.Run(name, func(t *testing.T) {
				row := s.create(t, "tr_"+from+"_"+to)
				path := "/api/whatsapp_sessions/" + itoa(row.ID)
				for _, step := range reach[from] {
					wantStatus(t, s.user(t, http.MethodPatch, path, `{"status":"`+step+`"}`), http.StatusOK)
				}
				r := s.user(t, http.MethodPatch, path, `{"status":"`+to+`"}`)
				switch {
				case from == to || allowed[name]:
					wantStatus(t, r, http.StatusOK)
					if got := r.session(t).Status; got != to {
						t.Errorf("got status %s, want %s", got, to)
					}
				default:
					wantError(t, r, http.StatusConflict, "invalid_transition")
					if got := s.user(t, http.MethodGet, path, "").session(t).Status; got != from {
						t.Errorf("got status %s after a refused transition, want %s", got, from)
					}
				}
			})
		}
	}
}

func TestDeleteSession(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	created := s.create(t, "delete_1")
	path := "/api/whatsapp_sessions/" + itoa(created.ID)
	r := s.user(t, http.MethodDelete, path, "")
	wantStatus(t, r, http.StatusOK)
	if string(r.Data) != `{"message":"Sesión de WhatsApp eliminada correctamente"}` {
		t.Errorf("got data %s, want the Spanish confirmation", r.Data)
	}
	if n := s.count(t, `select count(*) from public.whatsapp_sessions where id = $1`, created.ID); n != 0 {
		t.Errorf("got %d rows, want the row deleted", n)
	}
	wantError(t, s.user(t, http.MethodDelete, path, ""), http.StatusNotFound, "not_found")
	wantError(t, s.user(t, http.MethodDelete, "/api/whatsapp_sessions/x", ""), http.StatusBadRequest, "invalid_request")
}

func TestUnknownRouteIsEnvelope(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	wantError(t, s.user(t, http.MethodGet, "/api/nothing", ""), http.StatusNotFound, "not_found")
	wantError(t, s.user(t, http.MethodPut, "/api/whatsapp_sessions/1", `{}`), http.StatusMethodNotAllowed, "invalid_request")
}
