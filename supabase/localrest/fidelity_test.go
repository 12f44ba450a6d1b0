package localrest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wasessions/gateway/supabase/localrest"
	"github.com/wasessions/gateway/supabase/supabasetest"
)

// typedSchema has columns and parameters whose type carries a length, the
// case where casting to the bare type name (char means char(1)) truncates.
const typedSchema = `
CREATE TABLE codes (
  id integer PRIMARY KEY,
  code character(5) NOT NULL,
  flags bit(3) NOT NULL,
  note text
);
INSERT INTO codes VALUES (1, 'abcde', B'101', NULL), (2, 'zz', B'010', '');
CREATE FUNCTION store_code(p_code character, p_id integer) RETURNS text LANGUAGE sql
  AS 'INSERT INTO codes (id, code, flags) VALUES (p_id, p_code, B''000'') RETURNING code';
CREATE FUNCTION whoami() RETURNS text LANGUAGE sql STABLE AS 'SELECT current_user::text';
CREATE FUNCTION write_note() RETURNS integer LANGUAGE sql
  AS 'UPDATE codes SET note = ''written''; SELECT 1';
CREATE FUNCTION sneaky_write() RETURNS integer LANGUAGE sql STABLE AS 'SELECT write_note()';
CREATE FUNCTION all_codes() RETURNS SETOF codes LANGUAGE sql STABLE AS 'SELECT * FROM codes ORDER BY id';
CREATE TABLE secrets (id integer PRIMARY KEY);
REVOKE ALL ON secrets FROM service_role;
`

// Filter and body values are resolved against the column's full type, as
// PostgREST's unknown-typed literals are: nothing is cut to one character.
func TestTypesKeepTheirLength(t *testing.T) {
	f := newFixtureWith(t, typedSchema)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantIDs                  []int64
		wantCode                 string
	}{
		{name: "char(5) filter matches the whole value", method: http.MethodGet, path: "/codes?code=eq.abcde", wantStatus: 200, wantIDs: []int64{1}},
		{name: "a longer value matches nothing", method: http.MethodGet, path: "/codes?code=eq.abcdefg", wantStatus: 200, wantIDs: []int64{}},
		{name: "a prefix matches nothing", method: http.MethodGet, path: "/codes?code=eq.a", wantStatus: 200, wantIDs: []int64{}},
		{name: "char(5) in list", method: http.MethodGet, path: "/codes?code=in.(abcde,zz)&order=id", wantStatus: 200, wantIDs: []int64{1, 2}},
		{name: "bit(3) filter", method: http.MethodGet, path: "/codes?flags=eq.101", wantStatus: 200, wantIDs: []int64{1}},
		{name: "in.() matches nothing", method: http.MethodGet, path: "/codes?note=in.()", wantStatus: 200, wantIDs: []int64{}},
		{name: `in.("") matches the empty string`, method: http.MethodGet, path: `/codes?note=in.("")`, wantStatus: 200, wantIDs: []int64{2}},
		{name: "bit(3) in list", method: http.MethodGet, path: "/codes?flags=in.(010)", wantStatus: 200, wantIDs: []int64{2}},
		{name: "body value too long is 22001", method: http.MethodPost, path: "/codes", body: `{"id":9,"code":"abcdefg","flags":"000"}`,
			wantStatus: 400, wantCode: "22001"},
		// PostgREST reads arguments through json_to_record with the
		// parameter's type, character, which holds one character.
		{name: "rpc argument too long is 22001", method: http.MethodPost, path: "/rpc/store_code", body: `{"p_code":"abcdefg","p_id":8}`,
			wantStatus: 400, wantCode: "22001"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, tc.method, tc.path, nil, tc.body)
			if tc.wantCode != "" {
				wantError(t, r, tc.wantStatus, tc.wantCode)
				return
			}
			if r.status != tc.wantStatus {
				t.Fatalf("got %d (%s), want %d", r.status, r.body, tc.wantStatus)
			}
			wantIDs(t, ids(t, r.body), tc.wantIDs)
		})
	}
	if n := f.count(t, "codes"); n != 2 {
		t.Errorf("got %d codes after refused writes, want 2", n)
	}

	r := f.do(t, http.MethodPatch, "/codes?code=eq.abcde", map[string]string{"Prefer": "return=representation"}, `{"note":"seen"}`)
	if r.status != http.StatusOK {
		t.Fatalf("PATCH on a char(5) filter: got %d (%s), want 200", r.status, r.body)
	}
	wantIDs(t, ids(t, r.body), []int64{1})
}

// PostgREST reads Range on GET (RFC 9110), intersects it with limit and
// offset, ignores what does not match first-[last], and refuses an
// inverted range with PGRST103 (RangeSpec in PostgREST's test suite).
func TestRangeHeader(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, method, rng, query string
		wantStatus               int
		wantRange                string
		wantIDs                  []int64
	}{
		{name: "window", rng: "1-2", query: "order=id", wantStatus: 200, wantRange: "1-2/*", wantIDs: []int64{2, 3}},
		{name: "open end", rng: "4-", query: "order=id", wantStatus: 200, wantRange: "4-5/*", wantIDs: []int64{5, 6}},
		{name: "intersects limit", rng: "0-5", query: "order=id&limit=2", wantStatus: 200, wantRange: "0-1/*", wantIDs: []int64{1, 2}},
		{name: "intersects offset", rng: "0-3", query: "order=id&offset=2", wantStatus: 200, wantRange: "2-3/*", wantIDs: []int64{3, 4}},
		{name: "other units are ignored", rng: "bytes=0-1", query: "order=id", wantStatus: 200, wantRange: "0-5/*", wantIDs: []int64{1, 2, 3, 4, 5, 6}},
		{name: "HEAD ignores it", method: http.MethodHead, rng: "0-1", query: "order=id", wantStatus: 200, wantRange: "0-5/*"},
		{name: "inverted", rng: "3-1", query: "order=id", wantStatus: 416},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			r := f.do(t, method, "/whatsapp_sessions?"+tc.query, map[string]string{"Range": tc.rng, "Range-Unit": "items"}, "")
			if tc.wantStatus == 416 {
				e := wantError(t, r, 416, "PGRST103")
				if !strings.Contains(strPtr(e.Details), "lower boundary") {
					t.Errorf("got details %q, want the lower-boundary explanation", strPtr(e.Details))
				}
				return
			}
			if r.status != tc.wantStatus {
				t.Fatalf("got %d (%s), want %d", r.status, r.body, tc.wantStatus)
			}
			if got := r.header.Get("Content-Range"); got != tc.wantRange {
				t.Errorf("got Content-Range %q, want %q", got, tc.wantRange)
			}
			if tc.wantIDs != nil {
				wantIDs(t, ids(t, r.body), tc.wantIDs)
			}
		})
	}
}

// Inputs PostgREST accepts and this server once refused or misread.
func TestPostgRESTLeniency(t *testing.T) {
	f := newFixture(t)
	t.Run("empty select is every column", func(t *testing.T) {
		r := f.do(t, http.MethodGet, "/whatsapp_sessions?select=&id=eq.2", nil, "")
		rows := decodeRows(t, r.body)
		if r.status != 200 || len(rows) != 1 || len(rows[0]) != 7 {
			t.Fatalf("got %d %s, want one row with all 7 columns", r.status, r.body)
		}
	})
	t.Run("negative offset is ignored", func(t *testing.T) {
		r := f.do(t, http.MethodGet, "/whatsapp_sessions?offset=-3&order=id", nil, "")
		if r.status != 200 {
			t.Fatalf("got %d (%s), want 200", r.status, r.body)
		}
		wantIDs(t, ids(t, r.body), []int64{1, 2, 3, 4, 5, 6})
	})
	t.Run("PATCH with an empty array changes nothing", func(t *testing.T) {
		r := f.do(t, http.MethodPatch, "/whatsapp_sessions?id=eq.1", nil, `[]`)
		if r.status != http.StatusNoContent {
			t.Fatalf("got %d (%s), want 204", r.status, r.body)
		}
		wantValue(t, f, "SELECT status FROM whatsapp_sessions WHERE id = 1", "pending")
	})
	// PostgREST's OptionsSpec: a table allows every method, a volatile
	// function POST only.
	for path, want := range map[string]string{
		"/whatsapp_sessions": "OPTIONS,GET,HEAD,POST,PUT,PATCH,DELETE",
		"/rpc/add":           "OPTIONS,POST",
	} {
		t.Run("OPTIONS "+path, func(t *testing.T) {
			r := f.do(t, http.MethodOptions, path, nil, "")
			if got := r.header.Get("Allow"); r.status != 200 || got != want {
				t.Fatalf("got %d Allow %q, want 200 %q", r.status, got, want)
			}
		})
	}
}

// Prefer is read as PostgREST reads it: unknown preferences are ignored
// unless handling=strict, and what is honoured is echoed back.
func TestPreferences(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, method, path, prefer string
		wantStatus                 int
		wantCode                   string
		wantApplied                string
	}{
		{name: "unknown ignored", path: "/whatsapp_sessions?id=eq.1", prefer: "foo, count=exact", wantStatus: 200, wantApplied: "count=exact"},
		{name: "strict refuses unknown", path: "/whatsapp_sessions?id=eq.1", prefer: "handling=strict, foo, bar", wantStatus: 400, wantCode: "PGRST122"},
		{name: "strict accepts known", path: "/whatsapp_sessions?id=eq.1", prefer: "handling=strict, count=exact", wantStatus: 200,
			wantApplied: "count=exact, handling=strict"},
		{name: "first one wins", path: "/whatsapp_sessions?id=eq.1", prefer: "count=exact, count=planned", wantStatus: 200, wantApplied: "count=exact"},
		{name: "planned count cannot be reproduced", path: "/whatsapp_sessions", prefer: "count=planned", wantStatus: 400, wantCode: "PGRST127"},
		{name: "estimated count cannot be reproduced", path: "/whatsapp_sessions", prefer: "count=estimated", wantStatus: 400, wantCode: "PGRST127"},
		{name: "unknown time zone ignored", path: "/whatsapp_sessions?id=eq.1", prefer: "timezone=Mars/Olympus", wantStatus: 200},
		{name: "max-affected exceeded under strict", method: http.MethodDelete, path: "/whatsapp_sessions?status=eq.connected",
			prefer: "handling=strict, max-affected=1", wantStatus: 400, wantCode: "PGRST124"},
		{name: "max-affected without strict is ignored", method: http.MethodPatch, path: "/whatsapp_sessions?status=eq.nothing",
			prefer: "max-affected=1", wantStatus: 204},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			body := ""
			if method == http.MethodPatch {
				body = `{"status":"expired"}`
			}
			r := f.do(t, method, tc.path, map[string]string{"Prefer": tc.prefer}, body)
			if tc.wantCode != "" {
				wantError(t, r, tc.wantStatus, tc.wantCode)
				return
			}
			if r.status != tc.wantStatus {
				t.Fatalf("got %d (%s), want %d", r.status, r.body, tc.wantStatus)
			}
			if got := r.header.Get("Preference-Applied"); got != tc.wantApplied {
				t.Errorf("got Preference-Applied %q, want %q", got, tc.wantApplied)
			}
		})
	}
	if n := f.count(t, "whatsapp_sessions WHERE status = 'connected'"); n != 2 {
		t.Errorf("got %d connected sessions after the refused delete, want 2 (rolled back)", n)
	}

	r := f.do(t, http.MethodGet, "/whatsapp_sessions?select=last_seen&id=eq.2", map[string]string{"Prefer": "timezone=America/Los_Angeles"}, "")
	if want := `[{"last_seen":"2024-01-15T02:30:00-08:00"}]`; r.body != want {
		t.Errorf("timezone preference: got %s, want %s", r.body, want)
	}
	if got, want := r.header.Get("Preference-Applied"), "timezone=America/Los_Angeles"; got != want {
		t.Errorf("got Preference-Applied %q, want %q", got, want)
	}
}

// What Supabase adds around PostgREST: the key's role, max-rows, read-only
// STABLE functions and the public JWKS.
func TestSupabaseSurroundings(t *testing.T) {
	f := newFixtureWith(t, typedSchema, localrest.WithMaxRows(2))

	t.Run("a secret key runs as service_role", func(t *testing.T) {
		r := f.do(t, http.MethodPost, "/rpc/whoami", nil, `{}`)
		if r.status != 200 || r.body != `"service_role"` {
			t.Fatalf("got %d %s, want 200 \"service_role\"", r.status, r.body)
		}
	})
	t.Run("a missing grant fails as on Supabase", func(t *testing.T) {
		wantError(t, f.do(t, http.MethodGet, "/secrets", nil, ""), http.StatusForbidden, "42501")
	})
	t.Run("max-rows caps a read silently", func(t *testing.T) {
		r := f.do(t, http.MethodGet, "/whatsapp_sessions?order=id&limit=5", map[string]string{"Prefer": "count=exact"}, "")
		if r.status != http.StatusPartialContent {
			t.Fatalf("got %d (%s), want 206", r.status, r.body)
		}
		wantIDs(t, ids(t, r.body), []int64{1, 2})
		if got, want := r.header.Get("Content-Range"), "0-1/6"; got != want {
			t.Errorf("got Content-Range %q, want %q", got, want)
		}
	})
	t.Run("max-rows caps a set-returning function", func(t *testing.T) {
		mustExec(t, f.pool, "INSERT INTO codes VALUES (3, 'c', B'000', NULL)")
		r := f.do(t, http.MethodPost, "/rpc/all_codes", map[string]string{"Prefer": "count=exact"}, `{}`)
		wantIDs(t, ids(t, r.body), []int64{1, 2})
		if got, want := r.header.Get("Content-Range"), "0-1/3"; got != want {
			t.Errorf("got Content-Range %q, want %q", got, want)
		}
	})
	t.Run("a STABLE function may also be read with GET", func(t *testing.T) {
		r := f.do(t, http.MethodOptions, "/rpc/whoami", nil, "")
		if got, want := r.header.Get("Allow"), "OPTIONS,GET,HEAD,POST"; got != want {
			t.Fatalf("got Allow %q, want %q", got, want)
		}
	})
	t.Run("a STABLE function that writes is 25006", func(t *testing.T) {
		wantError(t, f.do(t, http.MethodPost, "/rpc/sneaky_write", nil, `{}`), http.StatusMethodNotAllowed, "25006")
		wantValue(t, f, "SELECT count(*)::text FROM codes WHERE note = 'written'", "0")
	})
	t.Run("JWKS needs no apikey and is empty for an HS256 project", func(t *testing.T) {
		resp, err := http.Get(f.url + "/auth/v1/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != `{"keys":[]}` {
			t.Fatalf("got %d %s, want 200 {\"keys\":[]}", resp.StatusCode, body)
		}
	})
}

// Roles belong to the whole cluster and grants to each database: databases
// prepared at once, and one database prepared twice at once (replicas
// starting together), must not trip over each other.
func TestPrepareDatabaseConcurrently(t *testing.T) {
	pools := []*pgxpool.Pool{
		supabasetest.NewPool(t, supabasetest.NewDatabase(t)),
		supabasetest.NewPool(t, supabasetest.NewDatabase(t)),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() { errs <- localrest.PrepareDatabase(context.Background(), pools[i%2]) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("PrepareDatabase: got %v, want nil", err)
		}
	}
}
