package localrest_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
)

// The seed rows, and what each is for:
//
//	id session_id    sesion_id status       last_seen            server_port
//	1  s1            1         pending      null                 3001
//	2  s2            1         connected    2024-01-15 10:30 UTC 3002
//	3  s3            2         disconnected 2024-01-16 UTC       null
//	4  s,4           null      expired      2024-01-17 UTC       3004  (comma: needs quoting)
//	5  S5 (x)        null      connected    null                 3005  (parentheses, capital)
//	6  q"uote\back   2         pending      null                 3006  (quote and backslash escapes)
func TestFilters(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		query url.Values
		want  []int64
	}{
		{"eq", url.Values{"status": {"eq.connected"}}, []int64{2, 5}},
		{"neq", url.Values{"status": {"neq.connected"}}, []int64{1, 3, 4, 6}},
		{"gt", url.Values{"id": {"gt.3"}}, []int64{4, 5, 6}},
		{"gte", url.Values{"id": {"gte.3"}}, []int64{3, 4, 5, 6}},
		{"lt", url.Values{"id": {"lt.2"}}, []int64{1}},
		{"lte", url.Values{"id": {"lte.2"}}, []int64{1, 2}},
		{"like with * wildcard", url.Values{"session_id": {"like.s*"}}, []int64{1, 2, 3, 4}},
		{"ilike", url.Values{"session_id": {"ilike.s*"}}, []int64{1, 2, 3, 4, 5}},
		{"like inside", url.Values{"session_id": {"like.*uote*"}}, []int64{6}},
		{"in", url.Values{"sesion_id": {"in.(1,2)"}}, []int64{1, 2, 3, 6}},
		{"in with quoted items", url.Values{"session_id": {`in.("s,4","S5 (x)")`}}, []int64{4, 5}},
		{"in with escapes", url.Values{"session_id": {`in.("q\"uote\\back")`}}, []int64{6}},
		{"in empty", url.Values{"id": {"in.()"}}, []int64{}},
		{"is null", url.Values{"sesion_id": {"is.null"}}, []int64{4, 5}},
		{"is not_null", url.Values{"server_port": {"is.not_null"}}, []int64{1, 2, 4, 5, 6}},
		{"is case-insensitive", url.Values{"sesion_id": {"is.NULL"}}, []int64{4, 5}},
		{"not.is", url.Values{"sesion_id": {"not.is.null"}}, []int64{1, 2, 3, 6}},
		{"not.eq", url.Values{"status": {"not.eq.pending"}}, []int64{2, 3, 4, 5}},
		{"not.in", url.Values{"id": {"not.in.(1,2,3)"}}, []int64{4, 5, 6}},
		{"not.like", url.Values{"session_id": {"not.like.s*"}}, []int64{5, 6}},
		{"timestamp gt", url.Values{"last_seen": {"gt.2024-01-15T12:00:00Z"}}, []int64{3, 4}},
		{"timestamp lt", url.Values{"last_seen": {"lt.2024-01-16"}}, []int64{2}},
		{"top-level value keeps reserved characters", url.Values{"session_id": {"eq.S5 (x)"}}, []int64{5}},
		{"two filters on one column", url.Values{"id": {"gt.1", "lt.4"}}, []int64{2, 3}},
		{"or", url.Values{"or": {"(status.eq.pending,status.eq.expired)"}}, []int64{1, 4, 6}},
		{"and", url.Values{"and": {"(id.gt.1,id.lt.4)"}}, []int64{2, 3}},
		{"not.and", url.Values{"not.and": {"(id.gt.1,id.lt.4)"}}, []int64{1, 4, 5, 6}},
		{"not.or", url.Values{"not.or": {"(status.eq.pending,status.eq.connected)"}}, []int64{3, 4}},
		{"nested and", url.Values{"or": {"(id.eq.1,and(status.eq.connected,server_port.gt.3002))"}}, []int64{1, 5}},
		{"nested not.and", url.Values{"or": {"(id.eq.1,not.and(id.gt.1,id.lt.6))"}}, []int64{1, 6}},
		{"quoted values in tree", url.Values{"or": {`(session_id.eq."s,4",session_id.eq."S5 (x)")`}}, []int64{4, 5}},
		{"escaped values in tree", url.Values{"or": {`(session_id.eq."q\"uote\\back")`}}, []int64{6}},
		{"in and is inside tree", url.Values{"or": {"(sesion_id.in.(2),sesion_id.is.null)"}}, []int64{3, 4, 5, 6}},
		{"not operator inside tree", url.Values{"or": {"(status.not.eq.pending,id.eq.1)"}}, []int64{1, 2, 3, 4, 5}},
		{"spaces around tree items", url.Values{"or": {"( id.eq.1 ,id.eq.2)"}}, []int64{1, 2}},
		{"tree and filter together", url.Values{"and": {"(id.gte.2,id.lte.3)"}, "status": {"eq.connected"}}, []int64{2}},
		{"postgrest-go's combined filters", url.Values{"and": {"(id.gt.1,id.lt.4,id.neq.3)"}}, []int64{2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, http.MethodGet, "/whatsapp_sessions?"+tc.query.Encode(), nil, "")
			if r.status != http.StatusOK {
				t.Fatalf("got status %d (%s), want 200", r.status, r.body)
			}
			got := ids(t, r.body)
			slices.Sort(got)
			wantIDs(t, got, tc.want)
		})
	}
}

func TestSelectOrderAndPaging(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name         string
		query        string
		prefer       string
		wantStatus   int
		wantRange    string
		wantIDs      []int64
		wantExactly  string // the whole body, when set
		wantRowWidth int    // number of keys per row, when set
	}{
		{name: "select columns", query: "select=id,status&order=id.desc&limit=2", wantStatus: 200, wantRange: "0-1/*",
			wantExactly: `[{"id":6,"status":"pending"}, ` + "\n" + ` {"id":5,"status":"connected"}]`},
		{name: "select star", query: "select=*&id=eq.2", wantStatus: 200, wantRange: "0-0/*", wantIDs: []int64{2}, wantRowWidth: 7},
		{name: "select with spaces", query: "select=id,%20status&id=eq.2", wantStatus: 200, wantRange: "0-0/*", wantRowWidth: 2, wantIDs: []int64{2}},
		{name: "timestamps in UTC", query: "select=id,last_seen&id=eq.2", wantStatus: 200, wantRange: "0-0/*",
			wantExactly: `[{"id":2,"last_seen":"2024-01-15T10:30:00+00:00"}]`},
		{name: "order desc nullsfirst", query: "order=server_port.desc.nullsfirst,id", wantStatus: 200, wantRange: "0-5/*", wantIDs: []int64{3, 6, 5, 4, 2, 1}},
		{name: "order asc nullslast", query: "order=server_port.asc.nullslast", wantStatus: 200, wantRange: "0-5/*", wantIDs: []int64{1, 2, 4, 5, 6, 3}},
		{name: "order nulls without direction", query: "order=last_seen.nullsfirst,id.desc", wantStatus: 200, wantRange: "0-5/*", wantIDs: []int64{6, 5, 1, 2, 3, 4}},
		{name: "order two columns", query: "order=last_seen.desc.nullslast,id.asc", wantStatus: 200, wantRange: "0-5/*", wantIDs: []int64{4, 3, 2, 1, 5, 6}},
		{name: "limit and offset", query: "order=id&limit=2&offset=2", wantStatus: 200, wantRange: "2-3/*", wantIDs: []int64{3, 4}},
		{name: "offset alone", query: "order=id&offset=4", wantStatus: 200, wantRange: "4-5/*", wantIDs: []int64{5, 6}},
		{name: "empty result", query: "id=eq.99", wantStatus: 200, wantRange: "*/*", wantIDs: []int64{}},
		{name: "limit zero", query: "limit=0", wantStatus: 200, wantRange: "*/*", wantIDs: []int64{}},
		{name: "count, partial", query: "order=id&limit=2&offset=2", prefer: "count=exact", wantStatus: 206, wantRange: "2-3/6", wantIDs: []int64{3, 4}},
		{name: "count, everything", query: "order=id", prefer: "count=exact", wantStatus: 200, wantRange: "0-5/6", wantIDs: []int64{1, 2, 3, 4, 5, 6}},
		{name: "count with filter", query: "status=eq.connected&order=id", prefer: "count=exact", wantStatus: 200, wantRange: "0-1/2", wantIDs: []int64{2, 5}},
		{name: "count, empty", query: "id=eq.99", prefer: "count=exact", wantStatus: 200, wantRange: "*/0", wantIDs: []int64{}},
		{name: "count, offset at end", query: "offset=6", prefer: "count=exact", wantStatus: 206, wantRange: "*/6", wantIDs: []int64{}},
		{name: "exact count", query: "limit=1&order=id", prefer: "count=exact", wantStatus: 206, wantRange: "0-0/6", wantIDs: []int64{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, http.MethodGet, "/whatsapp_sessions?"+tc.query, map[string]string{"Prefer": tc.prefer}, "")
			if r.status != tc.wantStatus {
				t.Fatalf("got status %d (%s), want %d", r.status, r.body, tc.wantStatus)
			}
			if got := r.header.Get("Content-Range"); got != tc.wantRange {
				t.Errorf("got Content-Range %q, want %q", got, tc.wantRange)
			}
			if got, want := r.header.Get("Content-Type"), "application/json; charset=utf-8"; got != want {
				t.Errorf("got Content-Type %q, want %q", got, want)
			}
			if tc.wantExactly != "" && r.body != tc.wantExactly {
				t.Errorf("got body %q, want %q", r.body, tc.wantExactly)
			}
			if tc.wantIDs != nil {
				wantIDs(t, ids(t, r.body), tc.wantIDs)
			}
			if tc.wantRowWidth > 0 {
				rows := decodeRows(t, r.body)
				if len(rows) == 0 || len(rows[0]) != tc.wantRowWidth {
					t.Errorf("got rows %v, want %d keys per row", rows, tc.wantRowWidth)
				}
			}
		})
	}
}

func TestOutOfRangeOffset(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, http.MethodGet, "/whatsapp_sessions?offset=7", map[string]string{"Prefer": "count=exact"}, "")
	e := wantError(t, r, http.StatusRequestedRangeNotSatisfiable, "PGRST103")
	if got, want := strPtr(e.Details), "An offset of 7 was requested, but there are only 6 rows."; got != want {
		t.Errorf("got details %q, want %q", got, want)
	}
	// PostgREST's 416 says where the rows end.
	if got, want := r.header.Get("Content-Range"), "*/6"; got != want {
		t.Errorf("got Content-Range %q, want %q", got, want)
	}
}

func TestHead(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, http.MethodHead, "/whatsapp_sessions?status=eq.connected", map[string]string{"Prefer": "count=exact"}, "")
	if r.status != http.StatusOK || r.body != "" {
		t.Fatalf("got %d %q, want 200 and no body", r.status, r.body)
	}
	if got, want := r.header.Get("Content-Range"), "0-1/2"; got != want {
		t.Errorf("got Content-Range %q, want %q", got, want)
	}
}

func TestSingularObject(t *testing.T) {
	f := newFixture(t)
	const object = "application/vnd.pgrst.object+json"
	tests := []struct {
		name        string
		query       string
		accept      string
		wantStatus  int
		wantDetails string // for 406
	}{
		{"one row", "id=eq.1", object, 200, ""},
		{"object wins over json", "id=eq.1", object + ", application/json", 200, ""},
		{"quality decides", "id=eq.1", "application/json;q=0.5, " + object, 200, ""},
		{"no rows", "id=eq.99", object, 406, "The result contains 0 rows"},
		{"two rows", "status=eq.connected", object, 406, "The result contains 2 rows"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, http.MethodGet, "/whatsapp_sessions?"+tc.query, map[string]string{"Accept": tc.accept}, "")
			if tc.wantStatus != 200 {
				e := wantError(t, r, tc.wantStatus, "PGRST116")
				if e.Message != "Cannot coerce the result to a single JSON object" || strPtr(e.Details) != tc.wantDetails {
					t.Errorf("got %q / %q, want PostgREST's message / %q", e.Message, strPtr(e.Details), tc.wantDetails)
				}
				return
			}
			if r.status != 200 {
				t.Fatalf("got %d (%s), want 200", r.status, r.body)
			}
			if got, want := r.header.Get("Content-Type"), object+"; charset=utf-8"; got != want {
				t.Errorf("got Content-Type %q, want %q", got, want)
			}
			row := decodeObject(t, r.body)
			if row["id"] != float64(1) {
				t.Errorf("got %v, want the object of row 1", row)
			}
		})
	}
}
