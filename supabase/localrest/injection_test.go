package localrest_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestInjection sends SQL where identifiers and values go. Identifiers must
// be refused (they are only ever taken from the catalogue) and values must
// stay values (they are only ever bind parameters); afterwards both tables
// must be intact.
func TestInjection(t *testing.T) {
	f := newFixture(t)
	const drop = `'; DROP TABLE sesiones CASCADE; --`
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string // "" for a successful, empty answer
	}{
		{"select column", http.MethodGet, "/whatsapp_sessions?select=" + url.QueryEscape("id; DROP TABLE sesiones"), "", 400, "PGRST100"},
		{"quoted select column", http.MethodGet, "/whatsapp_sessions?select=" + url.QueryEscape(`"id; DROP TABLE sesiones"`), "", 400, "42703"},
		{"quote-breaking column", http.MethodGet, "/whatsapp_sessions?select=" + url.QueryEscape(`"id"" FROM sesiones; --"`), "", 400, "PGRST100"},
		{"filter key", http.MethodGet, "/whatsapp_sessions?" + url.QueryEscape(`id" = 1 OR "1"="1`) + "=eq.1", "", 400, "PGRST100"},
		{"order", http.MethodGet, "/whatsapp_sessions?order=" + url.QueryEscape("id; DELETE FROM sesiones"), "", 400, "PGRST100"},
		{"order direction", http.MethodGet, "/whatsapp_sessions?order=" + url.QueryEscape("id.desc, (SELECT 1)"), "", 400, "PGRST100"},
		{"tree column", http.MethodGet, "/whatsapp_sessions?or=" + url.QueryEscape("(id.eq.1,1=1 or id.eq.2)"), "", 400, "PGRST100"},
		{"text value", http.MethodGet, "/whatsapp_sessions?session_id=eq." + url.QueryEscape(drop), "", 200, ""},
		{"text value in list", http.MethodGet, "/whatsapp_sessions?session_id=in." + url.QueryEscape(`("`+drop+`")`), "", 200, ""},
		{"text value in tree", http.MethodGet, "/whatsapp_sessions?or=" + url.QueryEscape(`(session_id.eq."`+drop+`")`), "", 200, ""},
		{"like value", http.MethodGet, "/whatsapp_sessions?session_id=like." + url.QueryEscape(drop), "", 200, ""},
		{"number value", http.MethodGet, "/whatsapp_sessions?id=eq." + url.QueryEscape("1 OR 1=1"), "", 400, "22P02"},
		{"is value", http.MethodGet, "/whatsapp_sessions?id=is." + url.QueryEscape("null; DROP TABLE sesiones"), "", 400, "PGRST100"},
		{"limit", http.MethodGet, "/whatsapp_sessions?limit=" + url.QueryEscape("1; DROP TABLE sesiones"), "", 400, "PGRST100"},
		{"table", http.MethodGet, "/" + url.PathEscape("whatsapp_sessions; DROP TABLE sesiones"), "", 404, "PGRST205"},
		{"insert column", http.MethodPost, "/whatsapp_sessions", `{"session_id":"x","status\") VALUES ('x'); DROP TABLE sesiones; --":"y"}`, 400, "PGRST204"},
		{"insert value", http.MethodPost, "/whatsapp_sessions", `{"session_id":"` + drop + `"}`, 201, ""},
		{"patch column", http.MethodPatch, "/whatsapp_sessions?id=eq.1", `{"status = 'x'; DROP TABLE sesiones; --":1}`, 400, "PGRST204"},
		{"rpc argument name", http.MethodPost, "/rpc/add", `{"a":1,"b := 1); DROP TABLE sesiones; --":2}`, 404, "PGRST202"},
		{"rpc argument value", http.MethodPost, "/rpc/connect_session", `{"p_session_id":"` + drop + `"}`, 200, ""},
		{"rpc function name", http.MethodPost, "/rpc/" + url.PathEscape("add(1,2); DROP TABLE sesiones; --"), `{}`, 404, "PGRST202"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, tc.method, tc.path, nil, tc.body)
			if tc.wantCode != "" {
				wantError(t, r, tc.wantStatus, tc.wantCode)
			} else if r.status != tc.wantStatus {
				t.Fatalf("got %d (%s), want %d", r.status, r.body, tc.wantStatus)
			}
			if got := f.count(t, "sesiones"); got != 2 {
				t.Fatalf("sesiones: got %d rows, want 2", got)
			}
		})
	}
	// The one insert that succeeded stored the attack as plain text.
	wantValue(t, f, "SELECT count(*)::text FROM whatsapp_sessions WHERE session_id = '''; DROP TABLE sesiones CASCADE; --'", "1")
}
