package localrest_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

func TestInsert(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name         string
		query        string
		body         string
		headers      map[string]string
		wantStatus   int
		wantBody     func(t *testing.T, r reply)
		wantRange    string
		wantLocation string
		wantRows     int // rows in the table afterwards
	}{
		{
			name: "object, representation", body: `{"session_id":"new1","sesion_id":1}`,
			headers:    map[string]string{"Prefer": "return=representation"},
			wantStatus: 201, wantRange: "*/*", wantRows: 7,
			wantBody: func(t *testing.T, r reply) {
				rows := decodeRows(t, r.body)
				if len(rows) != 1 || rows[0]["session_id"] != "new1" || rows[0]["status"] != "pending" || rows[0]["id"] != float64(7) {
					t.Errorf("got %v, want the new row with its defaults", rows)
				}
				if !strings.HasSuffix(rows[0]["created_at"].(string), "+00:00") {
					t.Errorf("got created_at %v, want a UTC offset of +00:00", rows[0]["created_at"])
				}
			},
		},
		{
			name: "array with count", body: `[{"session_id":"a","status":"connected"},{"session_id":"b","status":"expired"}]`,
			headers:    map[string]string{"Prefer": "return=representation,count=exact"},
			wantStatus: 201, wantRange: "*/2", wantRows: 8,
			wantBody: func(t *testing.T, r reply) { wantIDs(t, ids(t, r.body), []int64{7, 8}) },
		},
		{
			name: "minimal", body: `{"session_id":"m"}`, headers: map[string]string{"Prefer": "return=minimal"},
			wantStatus: 201, wantRange: "*/*", wantRows: 7,
			wantBody: func(t *testing.T, r reply) {
				if r.body != "" {
					t.Errorf("got body %q, want none", r.body)
				}
			},
		},
		{
			name: "headers-only", body: `{"session_id":"h"}`, headers: map[string]string{"Prefer": "return=headers-only"},
			wantStatus: 201, wantRange: "*/*", wantLocation: "/whatsapp_sessions?id=eq.7", wantRows: 7,
		},
		{
			name: "no preference", body: `{"session_id":"n"}`, wantStatus: 201, wantRange: "*/*", wantRows: 7,
		},
		{
			name: "singular object", body: `{"session_id":"o","last_seen":"2024-02-01T00:00:00-05:00"}`,
			headers:    map[string]string{"Prefer": "return=representation", "Accept": "application/vnd.pgrst.object+json"},
			wantStatus: 201, wantRange: "*/*", wantRows: 7,
			wantBody: func(t *testing.T, r reply) {
				if got := decodeObject(t, r.body)["last_seen"]; got != "2024-02-01T05:00:00+00:00" {
					t.Errorf("got last_seen %v, want 2024-02-01T05:00:00+00:00", got)
				}
			},
		},
		{
			name: "selected columns", query: "?select=id,status", body: `{"session_id":"sel"}`,
			headers:    map[string]string{"Prefer": "return=representation"},
			wantStatus: 201, wantRange: "*/*", wantRows: 7,
			wantBody: func(t *testing.T, r reply) {
				if r.body != `[{"id":7,"status":"pending"}]` {
					t.Errorf("got %s, want only id and status", r.body)
				}
			},
		},
		{name: "empty array", body: `[]`, headers: map[string]string{"Prefer": "return=representation"},
			wantStatus: 201, wantRange: "*/*", wantRows: 6,
			wantBody: func(t *testing.T, r reply) { wantIDs(t, ids(t, r.body), []int64{}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.reset(t)
			r := f.do(t, http.MethodPost, "/whatsapp_sessions"+tc.query, tc.headers, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("got %d (%s), want %d", r.status, r.body, tc.wantStatus)
			}
			if got := r.header.Get("Content-Range"); got != tc.wantRange {
				t.Errorf("got Content-Range %q, want %q", got, tc.wantRange)
			}
			if got := r.header.Get("Location"); got != tc.wantLocation {
				t.Errorf("got Location %q, want %q", got, tc.wantLocation)
			}
			if tc.wantBody != nil {
				tc.wantBody(t, r)
			}
			if got := f.count(t, "whatsapp_sessions"); got != tc.wantRows {
				t.Errorf("got %d rows, want %d", got, tc.wantRows)
			}
		})
	}
}

func TestInsertErrors(t *testing.T) {
	f := newFixture(t)
	rep := map[string]string{"Prefer": "return=representation"}
	tests := []struct {
		name        string
		body        string
		headers     map[string]string
		wantStatus  int
		wantCode    string
		wantMessage string
	}{
		{"unknown column", `{"session_id":"x","colour":"red"}`, rep, 400, "PGRST204",
			"Could not find the 'colour' column of 'whatsapp_sessions' in the schema cache"},
		{"duplicate", `{"session_id":"s1"}`, rep, 409, "23505", ""},
		{"missing foreign row", `{"session_id":"x","sesion_id":99}`, rep, 409, "23503", ""},
		{"not null", `{"session_id":null}`, rep, 400, "23502", ""},
		{"check", `{"session_id":"x","status":"flying"}`, rep, 400, "23514", ""},
		{"wrong type", `{"session_id":"x","sesion_id":"one"}`, rep, 400, "22P02", ""},
		{"invalid json", `{"session_id":`, rep, 400, "PGRST102", "Empty or invalid json"},
		{"empty body", ``, rep, 400, "PGRST102", "Empty or invalid json"},
		{"keys differ", `[{"session_id":"a"},{"session_id":"b","status":"expired"}]`, rep, 400, "PGRST102", "All object keys must match"},
		{"upsert", `{"session_id":"s1"}`, map[string]string{"Prefer": "resolution=merge-duplicates"}, 400, "PGRST127", ""},
		{"two rows as object", `[{"session_id":"a"},{"session_id":"b"}]`,
			map[string]string{"Prefer": "return=representation", "Accept": "application/vnd.pgrst.object+json"}, 406, "PGRST116", ""},
		{"not json", `session_id=x`, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400, "PGRST127", ""},
		{"unknown content type", `x`, map[string]string{"Content-Type": "image/png"}, 400, "PGRST102", "Content-Type not acceptable: image/png"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, http.MethodPost, "/whatsapp_sessions", tc.headers, tc.body)
			e := wantError(t, r, tc.wantStatus, tc.wantCode)
			if tc.wantMessage != "" && e.Message != tc.wantMessage {
				t.Errorf("got message %q, want %q", e.Message, tc.wantMessage)
			}
			if got := f.count(t, "whatsapp_sessions"); got != 6 {
				t.Errorf("got %d rows, want 6: a failed insert must write nothing", got)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	f := newFixture(t)
	big := `{"session_id":"` + strings.Repeat("x", 2<<20) + `"}`
	r := f.do(t, http.MethodPost, "/whatsapp_sessions", nil, big)
	wantError(t, r, http.StatusRequestEntityTooLarge, "PGRST102")
}

func TestUpdateAndDelete(t *testing.T) {
	f := newFixture(t)
	rep := "return=representation"
	object := "application/vnd.pgrst.object+json"
	tests := []struct {
		name       string
		method     string
		query      string
		body       string
		prefer     string
		accept     string
		wantStatus int
		wantCode   string // for errors
		wantIDs    []int64
		wantRange  string
		check      func(t *testing.T) // the database afterwards
	}{
		{name: "patch representation", method: http.MethodPatch, query: "id=eq.1", body: `{"status":"connected","server_port":"4000"}`,
			prefer: rep, wantStatus: 200, wantIDs: []int64{1}, wantRange: "0-0/*",
			check: func(t *testing.T) {
				wantValue(t, f, "SELECT status || server_port FROM whatsapp_sessions WHERE id = 1", "connected4000")
			}},
		{name: "patch minimal", method: http.MethodPatch, query: "status=eq.connected", body: `{"status":"disconnected"}`,
			prefer: "return=minimal", wantStatus: 204, wantRange: "0-1/*",
			check: func(t *testing.T) {
				wantValue(t, f, "SELECT count(*)::text FROM whatsapp_sessions WHERE status = 'disconnected'", "3")
			}},
		{name: "patch with count", method: http.MethodPatch, query: "or=(id.eq.1,id.eq.2)", body: `{"last_seen":null}`,
			prefer: "count=exact", wantStatus: 204, wantRange: "0-1/2"},
		{name: "patch matching nothing", method: http.MethodPatch, query: "id=eq.99", body: `{"status":"expired"}`,
			prefer: rep, wantStatus: 200, wantIDs: []int64{}, wantRange: "*/*"},
		{name: "patch nothing to set", method: http.MethodPatch, query: "id=eq.1", body: `{}`,
			prefer: rep, wantStatus: 200, wantIDs: []int64{}, wantRange: "*/*"},
		{name: "patch singular", method: http.MethodPatch, query: "id=eq.2", body: `{"status":"expired"}`,
			prefer: rep, accept: object, wantStatus: 200},
		{name: "patch singular on two rows rolls back", method: http.MethodPatch, query: "status=eq.connected", body: `{"status":"expired"}`,
			prefer: rep, accept: object, wantStatus: 406, wantCode: "PGRST116",
			check: func(t *testing.T) {
				wantValue(t, f, "SELECT count(*)::text FROM whatsapp_sessions WHERE status = 'connected'", "2")
			}},
		{name: "patch unknown column", method: http.MethodPatch, query: "id=eq.1", body: `{"colour":"red"}`,
			prefer: rep, wantStatus: 400, wantCode: "PGRST204"},
		// PostgREST defines no single row to apply from a longer array.
		{name: "patch array", method: http.MethodPatch, query: "id=eq.1", body: `[{"status":"expired"}]`,
			prefer: rep, wantStatus: 400, wantCode: "PGRST127"},
		{name: "patch check violation", method: http.MethodPatch, query: "id=eq.1", body: `{"server_port":70000}`,
			prefer: rep, wantStatus: 400, wantCode: "23514"},
		{name: "delete representation", method: http.MethodDelete, query: "id=eq.6", prefer: rep,
			wantStatus: 200, wantIDs: []int64{6}, wantRange: "*/*",
			check: func(t *testing.T) { wantValue(t, f, "SELECT count(*)::text FROM whatsapp_sessions", "5") }},
		{name: "delete minimal with count", method: http.MethodDelete, query: "sesion_id=is.null", prefer: "return=minimal, count=exact",
			wantStatus: 204, wantRange: "*/2",
			check: func(t *testing.T) { wantValue(t, f, "SELECT count(*)::text FROM whatsapp_sessions", "4") }},
		{name: "delete singular on two rows rolls back", method: http.MethodDelete, query: "sesion_id=eq.1", prefer: rep, accept: object,
			wantStatus: 406, wantCode: "PGRST116",
			check: func(t *testing.T) { wantValue(t, f, "SELECT count(*)::text FROM whatsapp_sessions", "6") }},
		{name: "delete blocked by foreign key", method: http.MethodDelete, query: "id=eq.1", prefer: rep, wantStatus: 409, wantCode: "23503",
			check: func(t *testing.T) { wantValue(t, f, "SELECT count(*)::text FROM sesiones", "2") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.reset(t)
			path := "/whatsapp_sessions?" + tc.query
			if tc.name == "delete blocked by foreign key" {
				path = "/sesiones?" + tc.query
			}
			r := f.do(t, tc.method, path, map[string]string{"Prefer": tc.prefer, "Accept": tc.accept}, tc.body)
			if tc.wantCode != "" {
				wantError(t, r, tc.wantStatus, tc.wantCode)
			} else {
				if r.status != tc.wantStatus {
					t.Fatalf("got %d (%s), want %d", r.status, r.body, tc.wantStatus)
				}
				if tc.wantStatus == 204 && r.body != "" {
					t.Errorf("got body %q, want none", r.body)
				}
				if tc.wantIDs != nil {
					wantIDs(t, ids(t, r.body), tc.wantIDs)
				}
				if tc.accept == object && decodeObject(t, r.body)["id"] == nil {
					t.Errorf("got %s, want one object", r.body)
				}
				if tc.wantRange != "" && r.header.Get("Content-Range") != tc.wantRange {
					t.Errorf("got Content-Range %q, want %q", r.header.Get("Content-Range"), tc.wantRange)
				}
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}

// wantValue checks one value read straight from the database.
func wantValue(tb testing.TB, f *fixture, sql, want string) {
	tb.Helper()
	var got string
	if err := f.pool.QueryRow(context.Background(), sql).Scan(&got); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	if got != want {
		tb.Errorf("%s: got %q, want %q", sql, got, want)
	}
}
