package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// historyEntry is one entry of GET /api/whatsapp_sessions/{id}/history.
type historyEntry struct {
	ID                int64     `json:"id"`
	WhatsappSessionID int64     `json:"whatsapp_session_id"`
	SessionID         string    `json:"session_id"`
	FromStatus        *string   `json:"from_status"`
	ToStatus          *string   `json:"to_status"`
	Changes           []string  `json:"changes"`
	Source            string    `json:"source"`
	RequestID         *string   `json:"request_id"`
	At                time.Time `json:"at"`
}

// step is what an entry says, for comparing a whole history at once.
type step struct {
	source, from, to string // "" for null
	changes          []string
	requestID        string // "" for null
}

func (e historyEntry) step() step {
	return step{source: e.Source, from: str(e.FromStatus), to: str(e.ToStatus), changes: e.Changes, requestID: str(e.RequestID)}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// history reads a session's history through the API.
func (s *stack) history(tb testing.TB, id int64, query string) []historyEntry {
	tb.Helper()
	r := s.user(tb, http.MethodGet, "/api/whatsapp_sessions/"+itoa(id)+"/history"+query, "")
	wantStatus(tb, r, http.StatusOK)
	var entries []historyEntry
	if err := json.Unmarshal(r.Data, &entries); err != nil {
		tb.Fatalf("data is not a history: %s", r.Raw)
	}
	for i := 1; i < len(entries); i++ {
		if entries[i].ID <= entries[i-1].ID && query == "" {
			tb.Fatalf("got ids %d then %d, want increasing", entries[i-1].ID, entries[i].ID)
		}
	}
	return entries
}

func wantSteps(tb testing.TB, entries []historyEntry, want ...step) {
	tb.Helper()
	got := make([]step, len(entries))
	for i, e := range entries {
		got[i] = e.step()
		if e.Changes == nil {
			got[i].changes = []string{}
		}
	}
	for i := range want {
		if want[i].changes == nil {
			want[i].changes = []string{}
		}
	}
	if !reflect.DeepEqual(got, want) {
		tb.Fatalf("got history\n\t%+v\nwant\n\t%+v", got, want)
	}
}

// Every outcome of every route leaves exactly the entries its writes made.
func TestHistoryRecordsOneEntryPerWrite(t *testing.T) {
	s := newStack(t)
	body := `{"session_id":"hist_1","sesion_id":` + itoa(s.SesionID) + `}`
	created := s.user(t, http.MethodPost, "/api/whatsapp_sessions", body, "X-Request-ID: req-create-1")
	wantStatus(t, created, http.StatusCreated)
	id := created.session(t).ID

	// applied, then the same report again (duplicate), then an older one (stale)
	wantStatus(t, s.webhook(t, `{"session_id":"hist_1","phone_number":"5215512345678","last_seen":"2024-01-15T10:30:00Z","server_port":3001}`), http.StatusOK)
	wantStatus(t, s.webhook(t, `{"session_id":"hist_1","phone_number":"5215512345678","last_seen":"2024-01-15T10:30:00Z","server_port":3001}`), http.StatusOK)
	wantStatus(t, s.webhook(t, `{"session_id":"hist_1","status":"disconnected","last_seen":"2024-01-15T09:00:00Z"}`), http.StatusOK)
	// a PATCH, and a refused one that must leave nothing
	wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(id), `{"status":"disconnected"}`, "X-Request-ID: req-patch-1"), http.StatusOK)
	wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(id), `{"status":"pending"}`), http.StatusConflict)
	// a PATCH that changes nothing writes only updated_at: no entry
	wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(id), `{"status":"disconnected"}`), http.StatusOK)
	// a write outside the gateway, as from the dashboard
	if _, err := s.Pool.Exec(context.Background(), `update public.whatsapp_sessions set auth_folder_path = '/tmp/auth' where id = $1`, id); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, s.user(t, http.MethodDelete, "/api/whatsapp_sessions/"+itoa(id), "", "X-Request-ID: req-delete-1"), http.StatusOK)

	entries := s.history(t, id, "")
	webhookID := str(entries[1].RequestID)
	if webhookID == "" {
		t.Fatalf("got no request id on the webhook's entry %+v, want the gateway's", entries[1])
	}
	wantSteps(t, entries,
		step{source: "create", to: "pending", changes: []string{"id", "session_id", "sesion_id", "status", "created_at"}, requestID: "req-create-1"},
		step{source: "webhook", from: "pending", to: "connected", changes: []string{"phone_number", "status", "last_seen", "server_port"}, requestID: webhookID},
		step{source: "patch", from: "connected", to: "disconnected", changes: []string{"status"}, requestID: "req-patch-1"},
		step{source: "other", from: "disconnected", to: "disconnected", changes: []string{"auth_folder_path"}},
		step{source: "delete", from: "disconnected", requestID: "req-delete-1"},
	)
	for _, e := range entries {
		if e.WhatsappSessionID != id || e.SessionID != "hist_1" || time.Since(e.At) > time.Minute {
			t.Errorf("got entry %+v, want session %d hist_1 written just now", e, id)
		}
	}

	// An id that never existed is 404; the deleted one above still answers.
	wantError(t, s.user(t, http.MethodGet, "/api/whatsapp_sessions/999999/history", ""), http.StatusNotFound, "not_found")
	wantError(t, s.user(t, http.MethodGet, "/api/whatsapp_sessions/abc/history", ""), http.StatusBadRequest, "invalid_request")
	if r := s.do(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(id)+"/history", ""); r.Status != http.StatusUnauthorized {
		t.Errorf("got %d without a token, want 401", r.Status)
	}
}

func TestHistoryOfAnEarlyConnectionAndItsLink(t *testing.T) {
	s := newStack(t)
	early := s.webhook(t, `{"session_id":"hist_early","phone_number":"5215512345678","last_seen":"2024-01-15T10:30:00Z"}`)
	wantStatus(t, early, http.StatusOK)
	linked := s.create(t, "hist_early")
	wantSteps(t, s.history(t, linked.ID, "")[:1],
		step{source: "webhook", to: "connected", changes: []string{"id", "session_id", "phone_number", "status", "last_seen", "created_at"}, requestID: str(s.history(t, linked.ID, "")[0].RequestID)})
	entries := s.history(t, linked.ID, "")
	if len(entries) != 2 {
		t.Fatalf("got %d entries, want the early insert and the link", len(entries))
	}
	wantSteps(t, entries[1:], step{source: "create", from: "connected", to: "connected", changes: []string{"sesion_id"}, requestID: str(entries[1].RequestID)})
}

func TestHistoryFiltersAndPages(t *testing.T) {
	s := newStack(t)
	sess := s.create(t, "hist_filters")
	for i, status := range []string{"connected", "disconnected", "connected", "disconnected"} {
		lastSeen := time.Date(2024, 1, 15, 10, i, 0, 0, time.UTC).Format(time.RFC3339)
		wantStatus(t, s.webhook(t, `{"session_id":"hist_filters","status":"`+status+`","last_seen":"`+lastSeen+`"}`), http.StatusOK)
	}
	all := s.history(t, sess.ID, "")
	if len(all) != 5 {
		t.Fatalf("got %d entries, want 5", len(all))
	}
	ids := func(entries []historyEntry) []int64 {
		out := make([]int64, len(entries))
		for i, e := range entries {
			out[i] = e.ID
		}
		return out
	}
	tests := []struct {
		query string
		want  []int64
	}{
		{"?source=eq.webhook", ids(all[1:])},
		{"?source=eq.create", ids(all[:1])},
		{"?to_status=eq.disconnected&order=id.desc", []int64{all[4].ID, all[2].ID}},
		{"?from_status=is.null", ids(all[:1])},
		{"?limit=2&offset=1", ids(all[1:3])},
		{"?order=at.desc,id.desc&limit=1", []int64{all[4].ID}},
		{"?id=gt." + itoa(all[3].ID), ids(all[4:])},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			if got := ids(s.history(t, sess.ID, tt.query)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got ids %v, want %v", got, tt.want)
			}
		})
	}

	t.Run("select", func(t *testing.T) {
		r := s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(sess.ID)+"/history?select=id,source&limit=1", "")
		wantStatus(t, r, http.StatusOK)
		want := `[{"id":` + itoa(all[0].ID) + `,"source":"create"}]`
		if string(r.Data) != want {
			t.Errorf("got %s, want %s", r.Data, want)
		}
	})

	for _, bad := range []struct{ query, param string }{
		{"?order=source.asc", "order"},
		{"?source=eq.dashboard", "source"},
		{"?status=eq.pending", "status"},
		{"?select=row_after", "select"},
		{"?limit=0", "limit"},
	} {
		t.Run(bad.query, func(t *testing.T) {
			r := s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(sess.ID)+"/history"+bad.query, "")
			wantError(t, r, http.StatusBadRequest, "invalid_request")
			if r.Error.Details["parameter"] != bad.param {
				t.Errorf("got details %v, want parameter %s", r.Error.Details, bad.param)
			}
		})
	}
}

// row_after is what the live stream sends as the session: it must be the
// very JSON GET /api/whatsapp_sessions/{id} answers as data.
func TestHistoryRowAfterIsTheRowAsServed(t *testing.T) {
	s := newStack(t)
	sess := s.create(t, "hist_row")
	wantStatus(t, s.webhook(t, `{"session_id":"hist_row","phone_number":"5215512345678","last_seen":"2024-01-15T10:30:00.123456+02:00","server_port":3001,"whatsapp_user_id":"5215512345678@s.whatsapp.net"}`), http.StatusOK)
	got := s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(sess.ID), "")
	wantStatus(t, got, http.StatusOK)
	var rowAfter string
	if err := s.Pool.QueryRow(context.Background(),
		`select row_after::text from public.whatsapp_session_events where whatsapp_session_id = $1 order by id desc limit 1`, sess.ID).Scan(&rowAfter); err != nil {
		t.Fatal(err)
	}
	if rowAfter != string(got.Data) {
		t.Fatalf("got row_after\n\t%s\nwant the served row\n\t%s", rowAfter, got.Data)
	}
}

// The entry is written in the writer's transaction: a rolled-back change
// leaves none, whoever made it.
func TestHistoryRolledBackWriteLeavesNoEntry(t *testing.T) {
	s := newStack(t)
	sess := s.create(t, "hist_rollback")
	ctx := context.Background()
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `update public.whatsapp_sessions set status = 'connected' where id = $1`, sess.ID); err != nil {
		t.Fatal(err)
	}
	var inside int
	if err := tx.QueryRow(ctx, `select count(*) from public.whatsapp_session_events where whatsapp_session_id = $1`, sess.ID).Scan(&inside); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if inside != 2 {
		t.Fatalf("got %d entries inside the transaction, want 2 (create, update)", inside)
	}
	wantSteps(t, s.history(t, sess.ID, ""), step{source: "create", to: "pending", changes: []string{"id", "session_id", "sesion_id", "status", "created_at"}, requestID: str(s.history(t, sess.ID, "")[0].RequestID)})
}

// TRUNCATE fires no row trigger; each session still gets its closing entry.
func TestHistoryTruncateClosesEverySession(t *testing.T) {
	s := newStack(t)
	a, b := s.create(t, "hist_trunc_a"), s.create(t, "hist_trunc_b")
	if _, err := s.Pool.Exec(context.Background(), `truncate public.whatsapp_sessions`); err != nil {
		t.Fatal(err)
	}
	for _, sess := range []session{a, b} {
		entries := s.history(t, sess.ID, "")
		if len(entries) != 2 {
			t.Fatalf("session %d: got %d entries, want create and the truncate's", sess.ID, len(entries))
		}
		wantSteps(t, entries[1:], step{source: "other", from: "pending"})
	}
}
