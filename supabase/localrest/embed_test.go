package localrest_test

import (
	"net/http"
	"slices"
	"testing"
)

const (
	ownerA = "00000000-0000-0000-0000-00000000000a"
	ownerB = "00000000-0000-0000-0000-00000000000b"
)

// newOwnedFixture is the usual fixture with an owner column on sesiones:
// sesión 1 (sessions 1 and 2) belongs to ownerA, sesión 2 (sessions 3 and
// 6) to ownerB; sessions 4 and 5 are linked to no sesión.
func newOwnedFixture(tb testing.TB) *fixture {
	tb.Helper()
	return newFixtureWith(tb, `ALTER TABLE sesiones ADD COLUMN owner uuid;
		UPDATE sesiones SET owner = '`+ownerA+`' WHERE id = 1;
		UPDATE sesiones SET owner = '`+ownerB+`' WHERE id = 2;`)
}

// TestToOneEmbedding reproduces PostgREST's resource embedding over a
// many-to-one foreign key (docs: references/api/resource_embedding): !inner
// keeps only rows whose related row passes the embedded filters ("Top-level
// filtering"), an empty embed adds no key ("Empty embed"), a plain (left)
// embed only blanks the related object, and a hint picks the foreign key by
// constraint or column name ("Hint").
func TestToOneEmbedding(t *testing.T) {
	f := newOwnedFixture(t)
	tests := []struct {
		name  string
		query string
		want  []int64
	}{
		{"inner with embedded filter", "select=id,sesiones!inner()&sesiones.owner=eq." + ownerA, []int64{1, 2}},
		{"inner, the other owner", "select=id,sesiones!inner()&sesiones.owner=eq." + ownerB, []int64{3, 6}},
		{"inner without filter drops unlinked rows", "select=id,sesiones!inner()", []int64{1, 2, 3, 6}},
		{"hint by constraint name", "select=*,sesiones!whatsapp_sessions_sesion_id_fkey!inner()&sesiones.owner=eq." + ownerA, []int64{1, 2}},
		{"hint by column name", "select=*,sesiones!sesion_id!inner()&sesiones.owner=eq." + ownerB, []int64{3, 6}},
		{"left embed does not filter rows", "select=id,sesiones()&sesiones.owner=eq." + ownerA, []int64{1, 2, 3, 4, 5, 6}},
		{"!left is the default", "select=id,sesiones!left()&sesiones.owner=eq." + ownerA, []int64{1, 2, 3, 4, 5, 6}},
		{"or= cannot widen an inner filter", "select=id,sesiones!inner()&sesiones.owner=eq." + ownerA + "&or=(id.eq.3,id.eq.1,id.eq.4)", []int64{1}},
		{"not. on the table's own filter stays inside the inner filter", "select=id,sesiones!inner()&sesiones.owner=eq." + ownerA + "&id=not.eq.1", []int64{2}},
		{"negated embedded filter", "select=id,sesiones!inner()&sesiones.owner=not.eq." + ownerA, []int64{3, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, http.MethodGet, "/whatsapp_sessions?"+tc.query, nil, "")
			if r.status != http.StatusOK {
				t.Fatalf("got status %d (%s), want 200", r.status, r.body)
			}
			got := ids(t, r.body)
			slices.Sort(got)
			wantIDs(t, got, tc.want)
			for _, row := range decodeRows(t, r.body) {
				if _, ok := row["sesiones"]; ok {
					t.Errorf("row %v: got a sesiones key, want none (an empty embed selects nothing)", row)
				}
			}
		})
	}
}

// TestEmbeddedObject checks the shape PostgREST gives a to-one embed with
// columns: an object, or null when there is no related row or, without
// !inner, when the embedded filters reject it.
func TestEmbeddedObject(t *testing.T) {
	f := newOwnedFixture(t)
	r := f.do(t, http.MethodGet, "/whatsapp_sessions?select=id,sesiones(id,estado)&sesiones.owner=eq."+ownerA+"&order=id", nil, "")
	if r.status != http.StatusOK {
		t.Fatalf("got status %d (%s), want 200", r.status, r.body)
	}
	want := `[{"id":1,"sesiones":{"id":1,"estado":"inactivo"}}, ` + "\n" +
		` {"id":2,"sesiones":{"id":1,"estado":"inactivo"}}, ` + "\n" +
		` {"id":3,"sesiones":null}, ` + "\n" +
		` {"id":4,"sesiones":null}, ` + "\n" +
		` {"id":5,"sesiones":null}, ` + "\n" +
		` {"id":6,"sesiones":null}]`
	if r.body != want {
		t.Errorf("got body\n%s\nwant\n%s", r.body, want)
	}
}

// TestEmbeddedSingular: a singular read (Accept: vnd.pgrst.object) of a row
// the inner filter excludes is PostgREST's 406 PGRST116, like a missing row.
func TestEmbeddedSingular(t *testing.T) {
	f := newOwnedFixture(t)
	object := map[string]string{"Accept": "application/vnd.pgrst.object+json"}
	r := f.do(t, http.MethodGet, "/whatsapp_sessions?select=*,sesiones!inner()&id=eq.3&sesiones.owner=eq."+ownerA, object, "")
	wantError(t, r, http.StatusNotAcceptable, "PGRST116")
	r = f.do(t, http.MethodGet, "/whatsapp_sessions?select=*,sesiones!inner()&id=eq.1&sesiones.owner=eq."+ownerA, object, "")
	if r.status != http.StatusOK || decodeObject(t, r.body)["session_id"] != "s1" {
		t.Errorf("own row: got %d %s, want 200 with session s1", r.status, r.body)
	}
}

// TestEmbeddingErrors pins the refusals: PostgREST's PGRST200 for a
// relationship it cannot find, PGRST108 for a filter on a resource select=
// does not embed, PostgreSQL's 22P02 for a value the embedded column's type
// refuses, and PGRST127 for what this server does not serve.
func TestEmbeddingErrors(t *testing.T) {
	f := newOwnedFixture(t)
	tests := []struct {
		name, method, query string
		status              int
		code                string
	}{
		{"no such table", http.MethodGet, "select=id,nothing!inner()", 400, "PGRST200"},
		{"hint matching no foreign key", http.MethodGet, "select=id,sesiones!no_such_fkey!inner()", 400, "PGRST200"},
		{"filter on a resource not embedded", http.MethodGet, "select=id&sesiones.owner=eq." + ownerA, 400, "PGRST108"},
		{"filter on a different embed", http.MethodGet, "select=id,sesiones!inner()&other.owner=eq." + ownerA, 400, "PGRST108"},
		{"bad value for the embedded column", http.MethodGet, "select=id,sesiones!inner()&sesiones.owner=eq.not-a-uuid", 400, "22P02"},
		{"unknown embedded column", http.MethodGet, "select=id,sesiones!inner()&sesiones.nope=eq.1", 400, "42703"},
		{"nested embed", http.MethodGet, "select=id,sesiones(whatsapp_sessions(id))", 400, "PGRST127"},
		{"embedded order", http.MethodGet, "select=id,sesiones()&sesiones.order=id", 400, "PGRST127"},
		{"embedded filter on a write", http.MethodDelete, "id=eq.3&select=id,sesiones!inner()&sesiones.owner=eq." + ownerA, 400, "PGRST127"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, tc.method, "/whatsapp_sessions?"+tc.query, nil, "")
			wantError(t, r, tc.status, tc.code)
		})
	}
	if n := f.count(t, "whatsapp_sessions"); n != 6 {
		t.Errorf("after the refused delete: got %d sessions, want 6", n)
	}
}

// TestInnerEmbedCounts: the exact count of a read with an inner embed
// counts only the rows the embed keeps, as PostgREST's EmbedInnerJoinSpec
// pins for HEAD with Prefer: count=exact (Content-Range 0-3/4 of 6 rows).
func TestInnerEmbedCounts(t *testing.T) {
	f := newOwnedFixture(t)
	r := f.do(t, http.MethodHead, "/whatsapp_sessions?select=id,sesiones!inner(id)", map[string]string{"Prefer": "count=exact"}, "")
	if r.status != http.StatusOK || r.header.Get("Content-Range") != "0-3/4" {
		t.Errorf("got %d with Content-Range %q, want 200 with 0-3/4", r.status, r.header.Get("Content-Range"))
	}
	r = f.do(t, http.MethodGet, "/whatsapp_sessions?select=id,sesiones!inner(id)&sesiones.owner=eq."+ownerA, map[string]string{"Prefer": "count=exact"}, "")
	if r.status != http.StatusOK || r.header.Get("Content-Range") != "0-1/2" {
		t.Errorf("filtered: got %d with Content-Range %q, want 200 with 0-1/2", r.status, r.header.Get("Content-Range"))
	}
}
