package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wasessions/gateway/auth"
	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/supabase"
)

const (
	alice = "0a11ce00-0000-4000-8000-000000000001"
	bob   = "0b0b0000-0000-4000-8000-000000000002"
)

// owned is a gateway with SESIONES_OWNER_COLUMN=user_id and
// ADMIN_ROLE_CLAIM=app_metadata.role=admin, and one session of each kind
// the scoping must tell apart.
type owned struct {
	*stack
	aliceSesion, bobSesion int64
	// Session ids: alice's, bob's, one the webhook left unlinked, and one
	// that does not exist.
	mine, theirs, unlinked, missing int64
}

func newOwned(t *testing.T) *owned {
	t.Helper()
	admin, err := auth.ParseAdminClaim("app_metadata.role=admin")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokenVerifier(context.Background(), auth.TokenVerifierConfig{
		HS256Secret: []byte(testJWTSecret), Audience: "authenticated", Admin: admin,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tokens.Close)
	s := newStack(t, func(d *handlers.Deps, _ *supabase.ClientConfig) {
		d.Ownership = supabase.Ownership{Column: "user_id"}
		d.Tokens = tokens
	})
	o := &owned{stack: s, aliceSesion: s.ownedSesion(t, alice), bobSesion: s.ownedSesion(t, bob), missing: 999999}
	o.mine = o.createAs(t, alice, "alice_1", o.aliceSesion).ID
	o.theirs = o.createAs(t, bob, "bob_1", o.bobSesion).ID
	r := s.webhook(t, `{"session_id":"early_1","phone_number":"5215512345678","status":"connected"}`)
	wantStatus(t, r, http.StatusOK)
	o.unlinked = r.session(t).ID
	return o
}

// ownedSesion inserts a sesiones row owned by user.
func (s *stack) ownedSesion(tb testing.TB, user string) int64 {
	tb.Helper()
	var id int64
	if err := s.Pool.QueryRow(context.Background(), `insert into public.sesiones (estado, user_id) values ('inactivo', $1) returning id`, user).Scan(&id); err != nil {
		tb.Fatalf("insert sesiones: %v", err)
	}
	return id
}

// tokenFor mints an access token for sub with extra claims.
func tokenFor(tb testing.TB, sub any, extra map[string]any) string {
	tb.Helper()
	claims := jwt.MapClaims{"aud": "authenticated", "role": "authenticated", "exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix()}
	if sub != nil {
		claims["sub"] = sub
	}
	for k, v := range extra {
		claims[k] = v
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testJWTSecret))
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func (o *owned) as(tb testing.TB, token, method, path, body string) response {
	tb.Helper()
	return o.do(tb, method, path, body, "Authorization: Bearer "+token)
}

func (o *owned) createAs(tb testing.TB, user, sessionID string, sesion int64) session {
	tb.Helper()
	r := o.as(tb, tokenFor(tb, user, nil), http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"`+sessionID+`","sesion_id":`+itoa(sesion)+`}`)
	wantStatus(tb, r, http.StatusCreated)
	return r.session(tb)
}

// snapshot is both tables as JSON, to prove a refused write changed nothing.
func (o *owned) snapshot(tb testing.TB) string {
	tb.Helper()
	var out string
	err := o.Pool.QueryRow(context.Background(), `select json_build_object(
		'sessions', (select json_agg(w order by id) from public.whatsapp_sessions w),
		'sesiones', (select json_agg(s order by id) from public.sesiones s))::text`).Scan(&out)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// upstreamCalls counts the requests that reached the Data API so far.
func (o *owned) upstreamCalls() int { return len(o.Upstream.requests()) }

// TestOwnershipEveryRoute: alice may read and change her own session, and
// gets 404 not_found for bob's, for the unlinked one and for one that does
// not exist, with the database unchanged after every refused write and one
// upstream call per request (ownership decided in it, not before it).
func TestOwnershipEveryRoute(t *testing.T) {
	o := newOwned(t)
	token := tokenFor(t, alice, nil)
	targets := []struct {
		name string
		id   int64
		own  bool
	}{
		{"own", o.mine, true},
		{"other's", o.theirs, false},
		{"unlinked", o.unlinked, false},
		{"nonexistent", o.missing, false},
	}
	routes := []struct {
		method, suffix, body string
		status               int // for the caller's own session
	}{
		{http.MethodGet, "", "", http.StatusOK},
		{http.MethodGet, "/history", "", http.StatusOK},
		{http.MethodPatch, "", `{"status":"disconnected","server_port":3009}`, http.StatusOK},
		{http.MethodDelete, "", "", http.StatusOK},
	}
	for _, route := range routes {
		for _, target := range targets {
			t.Run(route.method+route.suffix+" "+target.name, func(t *testing.T) {
				before, calls := o.snapshot(t), o.upstreamCalls()
				r := o.as(t, token, route.method, "/api/whatsapp_sessions/"+itoa(target.id)+route.suffix, route.body)
				if got := o.upstreamCalls() - calls; got != 1 {
					t.Errorf("got %d upstream calls, want 1", got)
				}
				if !target.own {
					wantError(t, r, http.StatusNotFound, "not_found")
					if r.Error.Message != missingMessage(t, o, route.method, route.suffix) {
						t.Errorf("got message %q, want the same one as for a missing row", r.Error.Message)
					}
					if after := o.snapshot(t); after != before {
						t.Errorf("refused %s changed the database:\nbefore %s\nafter  %s", route.method, before, after)
					}
					return
				}
				wantStatus(t, r, route.status)
				if route.method == http.MethodPatch {
					if got := r.session(t); got.Status != "disconnected" || got.ServerPort == nil || *got.ServerPort != 3009 {
						t.Errorf("got %v, want status disconnected and port 3009", got)
					}
				}
			})
		}
	}
	if n := o.count(t, `select count(*) from public.whatsapp_sessions where id = $1`, o.mine); n != 0 {
		t.Errorf("alice's own delete: got %d rows left, want 0", n)
	}

	// A deleted session's history stays its owner's, and only theirs.
	r := o.as(t, token, http.MethodGet, "/api/whatsapp_sessions/"+itoa(o.mine)+"/history", "")
	wantStatus(t, r, http.StatusOK)
	var entries []map[string]any
	if err := json.Unmarshal(r.Data, &entries); err != nil || len(entries) < 3 {
		t.Errorf("history of alice's deleted session: got %s, want its create, patch and delete", r.Raw)
	}
	wantError(t, o.as(t, tokenFor(t, bob, nil), http.MethodGet, "/api/whatsapp_sessions/"+itoa(o.mine)+"/history", ""), http.StatusNotFound, "not_found")
	bobToken := tokenFor(t, bob, nil)
	wantStatus(t, o.as(t, bobToken, http.MethodDelete, "/api/whatsapp_sessions/"+itoa(o.theirs), ""), http.StatusOK)
	wantError(t, o.as(t, token, http.MethodGet, "/api/whatsapp_sessions/"+itoa(o.theirs)+"/history", ""), http.StatusNotFound, "not_found")
	wantStatus(t, o.as(t, bobToken, http.MethodGet, "/api/whatsapp_sessions/"+itoa(o.theirs)+"/history", ""), http.StatusOK)
}

// missingMessage is what the route answers for an id that never existed,
// which a refused id must not be told apart from.
func missingMessage(tb testing.TB, o *owned, method, suffix string) string {
	tb.Helper()
	admin := tokenFor(tb, alice, map[string]any{"app_metadata": map[string]any{"role": "admin"}})
	if method != http.MethodGet {
		method, suffix = http.MethodGet, ""
	}
	return o.as(tb, admin, method, "/api/whatsapp_sessions/"+itoa(o.missing+1)+suffix, "").Error.Message
}

// TestOwnershipList: whatever the filters, a list shows only the caller's
// sessions; the unlinked one is nobody's.
func TestOwnershipList(t *testing.T) {
	o := newOwned(t)
	second := o.createAs(t, alice, "alice_2", o.aliceSesion).ID
	token := tokenFor(t, alice, nil)
	tests := []struct {
		name  string
		query url.Values
		want  []int64
	}{
		{"no filter", nil, []int64{o.mine, second}},
		{"bob's sesion_id", url.Values{"sesion_id": {"eq." + itoa(o.bobSesion)}}, nil},
		{"bob's session by id", url.Values{"id": {"eq." + itoa(o.theirs)}}, nil},
		{"in with bob's id", url.Values{"id": {"in.(" + itoa(o.theirs) + "," + itoa(o.mine) + ")"}}, []int64{o.mine}},
		{"neq sesion_id", url.Values{"sesion_id": {"neq." + itoa(o.aliceSesion)}}, nil},
		{"not.eq", url.Values{"sesion_id": {"not.eq." + itoa(o.aliceSesion)}}, nil},
		{"not.is.null", url.Values{"sesion_id": {"not.is.null"}}, []int64{o.mine, second}},
		{"is.null finds no unlinked row", url.Values{"sesion_id": {"is.null"}}, nil},
		{"two filters on one column (an and= tree)", url.Values{"id": {"gt.0", "lt.999999"}}, []int64{o.mine, second}},
		{"select of one column", url.Values{"select": {"id"}}, []int64{o.mine, second}},
		{"select *", url.Values{"select": {"*"}}, []int64{o.mine, second}},
		{"order, limit, offset", url.Values{"order": {"id.desc"}, "limit": {"1"}, "offset": {"1"}}, []int64{o.mine}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := o.upstreamCalls()
			r := o.as(t, token, http.MethodGet, "/api/whatsapp_sessions?"+tc.query.Encode(), "")
			wantStatus(t, r, http.StatusOK)
			if got := o.upstreamCalls() - calls; got != 1 {
				t.Errorf("got %d upstream calls, want 1", got)
			}
			var rows []map[string]any
			if err := json.Unmarshal(r.Data, &rows); err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, row := range rows {
				got = append(got, int64(row["id"].(float64)))
				if _, ok := row["sesiones"]; ok {
					t.Errorf("row %v: got a sesiones key, want the row's own columns only", row)
				}
			}
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got ids %v, want %v", got, want)
			}
		})
	}
	// Tricks that would widen the scope on a plain PostgREST are not
	// parameters of this API at all.
	for _, q := range []string{
		"or=(id.eq." + itoa(o.theirs) + ")",
		"and=(id.gt.0)",
		"not.or=(id.eq.0)",
		"sesiones.user_id=eq." + bob,
		"select=id,sesiones(*)",
		"select=id,sesiones!left()",
		"select=*,whatsapp_sessions(*)",
		"sesion_id=eq.1,sesiones.user_id.eq." + bob,
	} {
		r := o.as(t, token, http.MethodGet, "/api/whatsapp_sessions?"+q, "")
		if r.Status != http.StatusBadRequest || r.Error.Code != "invalid_request" {
			t.Errorf("%s: got %d %s, want 400 invalid_request", q, r.Status, r.Raw)
		}
	}
}

// TestOwnershipCreate: a sesión of someone else's is refused exactly like
// one that does not exist, and changes nothing; an early webhook's row
// becomes the caller's when they link it to their own sesión.
func TestOwnershipCreate(t *testing.T) {
	o := newOwned(t)
	token := tokenFor(t, alice, nil)
	before := o.snapshot(t)
	others := o.as(t, token, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"alice_x","sesion_id":`+itoa(o.bobSesion)+`}`)
	missing := o.as(t, token, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"alice_x","sesion_id":999999}`)
	unowned := o.as(t, token, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"alice_x","sesion_id":`+itoa(o.SesionID)+`}`)
	for name, r := range map[string]response{"bob's sesión": others, "missing sesión": missing, "ownerless sesión": unowned} {
		wantError(t, r, http.StatusNotFound, "not_found")
		if r.Error.Message != missing.Error.Message {
			t.Errorf("%s: got message %q, want the missing sesión's %q", name, r.Error.Message, missing.Error.Message)
		}
	}
	// The unlinked row cannot be claimed through someone else's sesión.
	stolen := o.as(t, token, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"early_1","sesion_id":`+itoa(o.bobSesion)+`}`)
	wantError(t, stolen, http.StatusNotFound, "not_found")
	if after := o.snapshot(t); after != before {
		t.Errorf("refused creates changed the database:\nbefore %s\nafter  %s", before, after)
	}

	calls := o.upstreamCalls()
	linked := o.as(t, token, http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"early_1","sesion_id":`+itoa(o.aliceSesion)+`}`)
	wantStatus(t, linked, http.StatusCreated)
	if got := o.upstreamCalls() - calls; got != 1 {
		t.Errorf("create: got %d upstream calls, want 1", got)
	}
	if s := linked.session(t); s.ID != o.unlinked || s.Status != "connected" {
		t.Errorf("got %v, want the early row %d linked and connected", s, o.unlinked)
	}
	if r := o.as(t, token, http.MethodGet, "/api/whatsapp_sessions/"+itoa(o.unlinked), ""); r.Status != http.StatusOK {
		t.Errorf("linked row: got %d %s, want 200 for its new owner", r.Status, r.Raw)
	}
	if r := o.as(t, tokenFor(t, bob, nil), http.MethodGet, "/api/whatsapp_sessions/"+itoa(o.unlinked), ""); r.Status != http.StatusNotFound {
		t.Errorf("linked row as bob: got %d %s, want 404", r.Status, r.Raw)
	}
}

// TestOwnershipAdmin: a token holding ADMIN_ROLE_CLAIM sees and changes
// every session, unlinked ones too; the same value in user_metadata, which
// users set themselves, grants nothing.
func TestOwnershipAdmin(t *testing.T) {
	o := newOwned(t)
	admin := tokenFor(t, alice, map[string]any{"app_metadata": map[string]any{"provider": "email", "role": "admin"}})
	r := o.as(t, admin, http.MethodGet, "/api/whatsapp_sessions?order=id", "")
	wantStatus(t, r, http.StatusOK)
	if got := len(r.sessions(t)); got != 3 {
		t.Errorf("admin list: got %d sessions, want all 3", got)
	}
	for _, id := range []int64{o.theirs, o.unlinked} {
		wantStatus(t, o.as(t, admin, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(id), `{"server_port":4000}`), http.StatusOK)
	}
	wantStatus(t, o.as(t, admin, http.MethodDelete, "/api/whatsapp_sessions/"+itoa(o.theirs), ""), http.StatusOK)

	for name, claims := range map[string]map[string]any{
		"user_metadata":  {"user_metadata": map[string]any{"role": "admin"}},
		"top-level role": {"role": "admin"},
		"other value":    {"app_metadata": map[string]any{"role": "support"}},
	} {
		r := o.as(t, tokenFor(t, alice, claims), http.MethodGet, "/api/whatsapp_sessions/"+itoa(o.unlinked), "")
		if r.Status != http.StatusNotFound {
			t.Errorf("%s: got %d %s, want 404 (not an operator)", name, r.Status, r.Raw)
		}
	}
}

// TestOwnershipRefusesTokensWithoutAUser: with ownership on, a token whose
// sub is missing or not a user id is 401 on every route, before anything
// reaches Supabase.
func TestOwnershipRefusesTokensWithoutAUser(t *testing.T) {
	o := newOwned(t)
	for name, token := range map[string]string{
		"missing sub":     tokenFor(t, nil, nil),
		"empty sub":       tokenFor(t, "", nil),
		"not a uuid":      tokenFor(t, "user-1", nil),
		"uuid in braces":  tokenFor(t, "{"+alice+"}", nil),
		"numeric sub":     tokenFor(t, 12345, nil),
		"injection":       tokenFor(t, alice+",sesiones.user_id.neq.x", nil),
		"uuid with extra": tokenFor(t, alice+"0", nil),
	} {
		for _, route := range []struct{ method, path, body string }{
			{http.MethodGet, "/api/whatsapp_sessions", ""},
			{http.MethodGet, "/api/whatsapp_sessions/" + itoa(o.mine), ""},
			{http.MethodPatch, "/api/whatsapp_sessions/" + itoa(o.mine), `{"server_port":1}`},
			{http.MethodDelete, "/api/whatsapp_sessions/" + itoa(o.mine), ""},
			{http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"x","sesion_id":` + itoa(o.aliceSesion) + `}`},
		} {
			calls := o.upstreamCalls()
			r := o.as(t, token, route.method, route.path, route.body)
			if r.Status != http.StatusUnauthorized || r.Error.Code != "unauthorized" {
				t.Errorf("%s, %s %s: got %d %s, want 401 unauthorized", name, route.method, route.path, r.Status, r.Raw)
			}
			if o.upstreamCalls() != calls {
				t.Errorf("%s, %s %s: the request reached Supabase", name, route.method, route.path)
			}
		}
	}
}

// TestOwnershipUpperCaseSubject: a user id is the same user in any case.
func TestOwnershipUpperCaseSubject(t *testing.T) {
	o := newOwned(t)
	upper := "0A11CE00-0000-4000-8000-000000000001"
	wantStatus(t, o.as(t, tokenFor(t, upper, nil), http.MethodGet, "/api/whatsapp_sessions/"+itoa(o.mine), ""), http.StatusOK)
	wantStatus(t, o.as(t, tokenFor(t, upper, nil), http.MethodPatch, "/api/whatsapp_sessions/"+itoa(o.mine), `{"server_port":7}`), http.StatusOK)
}

// TestOwnershipStreamEveryKindOfSession completes the stream's own test
// (TestStreamIsScopedToTheOwner): the unlinked session and one that does
// not exist are 404 before the stream starts, with no other answer than
// someone else's session gets; an operator may follow any of them.
func TestOwnershipStreamEveryKindOfSession(t *testing.T) {
	t.Parallel()
	admin, err := auth.ParseAdminClaim("app_metadata.role=admin")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := auth.NewTokenVerifier(context.Background(), auth.TokenVerifierConfig{
		HS256Secret: []byte(testJWTSecret), Audience: "authenticated", Admin: admin,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tokens.Close)
	s, _ := newStreamStack(t, noPolling, func(d *handlers.Deps, _ *supabase.ClientConfig) {
		d.Ownership = supabase.Ownership{Column: "user_id"}
		d.Tokens = tokens
	})
	o := &owned{stack: s}
	theirs := o.createAs(t, bob, "stream_bob_2", s.ownedSesion(t, bob)).ID
	r := s.webhook(t, `{"session_id":"stream_early","status":"connected"}`)
	wantStatus(t, r, http.StatusOK)
	unlinked := r.session(t).ID

	aliceToken := tokenFor(t, alice, nil)
	want := s.do(t, http.MethodGet, eventsPath(theirs), "", "Authorization: Bearer "+aliceToken)
	wantError(t, want, http.StatusNotFound, "not_found")
	for name, id := range map[string]int64{"unlinked": unlinked, "nonexistent": 999999} {
		got := s.do(t, http.MethodGet, eventsPath(id), "", "Authorization: Bearer "+aliceToken)
		wantError(t, got, http.StatusNotFound, "not_found")
		if got.Error.Message != want.Error.Message {
			t.Errorf("%s: got message %q, want %q as for someone else's session", name, got.Error.Message, want.Error.Message)
		}
	}
	operator := tokenFor(t, alice, map[string]any{"app_metadata": map[string]any{"role": "admin"}})
	for _, id := range []int64{theirs, unlinked} {
		st := s.openStream(t, eventsPath(id), "Authorization: Bearer "+operator)
		if ev := st.next(t, eventWithin); ev.Event != "session" {
			t.Errorf("operator's stream of %d: got %+v, want the session", id, ev)
		}
	}
}

// TestOwnershipIsDecidedWithTheWrite: a PATCH racing a transfer of its
// sesión to another user waits for the transfer and is then refused,
// writing nothing, because the owner is checked under a lock in the same
// transaction as the write; a check made before the write could not see
// the transfer.
func TestOwnershipIsDecidedWithTheWrite(t *testing.T) {
	o := newOwned(t)
	ctx := context.Background()
	tx, err := o.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `update public.sesiones set user_id = $1 where id = $2`, bob, o.aliceSesion); err != nil {
		t.Fatal(err)
	}

	type answer struct {
		status int
		err    error
	}
	done := make(chan answer, 1)
	aliceToken := tokenFor(t, alice, nil)
	go func() {
		req, _ := http.NewRequest(http.MethodPatch, o.URL+"/api/whatsapp_sessions/"+itoa(o.mine), strings.NewReader(`{"server_port":4242}`))
		req.Header.Set("Authorization", "Bearer "+aliceToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{err: err}
			return
		}
		res.Body.Close()
		done <- answer{status: res.StatusCode}
	}()
	waitFor(t, 10*time.Second, func() bool {
		return o.count(t, `select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`) > 0
	})
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	a := <-done
	if a.err != nil || a.status != http.StatusNotFound {
		t.Fatalf("PATCH racing the transfer: got %d %v, want 404", a.status, a.err)
	}
	if n := o.count(t, `select count(*) from public.whatsapp_sessions where id = $1 and server_port is not distinct from 4242`, o.mine); n != 0 {
		t.Errorf("the refused PATCH wrote server_port")
	}
	wantStatus(t, o.as(t, tokenFor(t, bob, nil), http.MethodGet, "/api/whatsapp_sessions/"+itoa(o.mine), ""), http.StatusOK)
}
