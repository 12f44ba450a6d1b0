package handlers_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/wasessions/gateway/supabase"
)

// listValues are filter operands chosen to trip PostgREST's grammar: its
// reserved characters, a leading { (an array literal inside and=(...)),
// quotes, escapes, spaces, wildcards, non-ASCII, and values that are valid
// for the typed columns so that many queries pass validation and reach the
// upstream.
var listValues = []string{
	"", "a", "{", "}", "{a}", "{a}b", "{a,b}", "a}b", "{}", "(", ")", "a,b", `"`, `"a"`, `\`, `a\"b`,
	" ", " a ", "*", "a*", "%", "%25", ".", "not.x", "null", "true", "é✓", "日本",
	"1", "-1", "0", "42", "9223372036854775807", "3001", "65535",
	"pending", "connected", "disconnected", "expired",
	"2024-01-15T10:30:00Z", "2024-01-15", "2024-01-15T10:30:00.123456789+02:00",
}

var listOps = []string{"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is"}

// randomListQuery builds one list query string: filters (often two on the
// same column, which become an and=(...) tree), and sometimes select,
// order, limit and offset.
func randomListQuery(r *rand.Rand) string {
	cols := supabase.SessionColumns()
	slices.Sort(cols)
	v := url.Values{}
	for range r.IntN(4) {
		col := cols[r.IntN(len(cols))]
		if r.IntN(3) == 0 && len(v) > 0 {
			for k := range v { // reuse a column already filtered
				col = k
				break
			}
		}
		op := listOps[r.IntN(len(listOps))]
		var operand string
		switch op {
		case "in":
			items := make([]string, 1+r.IntN(3))
			for i := range items {
				items[i] = listValues[r.IntN(len(listValues))]
				if r.IntN(2) == 0 {
					items[i] = `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(items[i]) + `"`
				}
			}
			operand = "(" + strings.Join(items, ",") + ")"
		case "is":
			operand = "null"
		default:
			operand = listValues[r.IntN(len(listValues))]
		}
		if r.IntN(4) == 0 {
			op = "not." + op
		}
		v.Add(col, op+"."+operand)
	}
	if r.IntN(3) == 0 {
		v.Set("select", strings.Join(cols[:1+r.IntN(len(cols))], ","))
	}
	if r.IntN(3) == 0 {
		dir := []string{"", ".asc", ".desc", ".desc.nullslast", ".nullsfirst"}[r.IntN(5)]
		v.Set("order", cols[r.IntN(len(cols))]+dir)
	}
	if r.IntN(3) == 0 {
		v.Set("limit", []string{"1", "2", "1000", "0", "-1"}[r.IntN(5)])
	}
	if r.IntN(3) == 0 {
		v.Set("offset", []string{"0", "1", "5", "-1"}[r.IntN(4)])
	}
	return v.Encode()
}

// TestListQueriesNeverFailUpstream is a differential test: random list
// queries through the gateway into the local PostgREST-protocol server.
// Whatever the gateway accepts, the upstream must accept too, so every
// answer is a 2xx or a 4xx, never a 5xx from a healthy upstream.
func TestListQueriesNeverFailUpstream(t *testing.T) {
	s := newStack(t)
	for i, text := range []string{"a", "s,2", "{a}b", `s"4`, "s 5"} {
		id := s.create(t, "s-"+itoa(int64(i))).ID
		if _, err := s.Pool.Exec(context.Background(),
			"UPDATE whatsapp_sessions SET whatsapp_user_id = $1, auth_folder_path = $1 WHERE id = $2", text, id); err != nil {
			t.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(11, 2026)) // fixed: a failure replays
	const n = 400
	ok := 0
	for range n {
		query := randomListQuery(r)
		resp := s.user(t, http.MethodGet, "/api/whatsapp_sessions?"+query, "")
		switch {
		case resp.Status >= 500:
			t.Fatalf("GET ?%s: got %d %s, want a 2xx or a 4xx", query, resp.Status, resp.Raw)
		case resp.Status < 300:
			ok++
		}
	}
	// Guard against a generator whose queries all fail validation, which
	// would prove nothing about the upstream.
	if ok < n/5 {
		t.Errorf("got %d of %d queries accepted, want at least %d to reach the upstream", ok, n, n/5)
	}
}

// FuzzListQuery feeds arbitrary query strings to the list endpoint over
// the real stack (make fuzz): any answer but a 5xx is acceptable.
func FuzzListQuery(f *testing.F) {
	s := newStack(f)
	s.create(f, "s-1")
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		f.Add(randomListQuery(r))
	}
	f.Add("session_id=eq.{a}b&session_id=neq.x")
	f.Add("status=in.(%22%22)")
	f.Fuzz(func(t *testing.T, query string) {
		req, err := http.NewRequest(http.MethodGet, s.URL+"/api/whatsapp_sessions?"+query, nil)
		if err != nil {
			t.Skip("not a URL")
		}
		req.Header.Set("Authorization", "Bearer "+s.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Skip("not sendable")
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("GET ?%s: got %d, want a 2xx or a 4xx", query, resp.StatusCode)
		}
	})
}

// Edges of the list query that once reached the upstream wrongly: a brace
// PostgREST reads as an array literal inside and=(...), pairs Echo drops
// silently (which would widen the list), invalid UTF-8 and an empty quoted
// in item.
func TestListQueryEdges(t *testing.T) {
	s := newStack(t)
	a := s.create(t, "edge-a")
	s.create(t, "edge-b")
	if _, err := s.Pool.Exec(context.Background(), "UPDATE whatsapp_sessions SET whatsapp_user_id = '' WHERE id = $1", a.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, query string
		wantStatus  int
		wantCount   int
	}{
		{name: "brace value in a tree", query: "whatsapp_user_id=neq.{a}b&whatsapp_user_id=neq.x", wantStatus: 200, wantCount: 1},
		{name: "empty quoted in item", query: `whatsapp_user_id=in.(%22%22)`, wantStatus: 200, wantCount: 1},
		{name: "bad escape would drop a filter", query: "session_id=eq.edge-a&limit=%zz", wantStatus: 400},
		{name: "semicolon would drop a filter", query: "session_id=eq.edge-a;limit=1", wantStatus: 400},
		{name: "invalid UTF-8", query: "whatsapp_user_id=eq.%ff", wantStatus: 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.user(t, http.MethodGet, "/api/whatsapp_sessions?"+tc.query, "")
			if tc.wantStatus == 400 {
				wantError(t, r, 400, "invalid_request")
				return
			}
			wantStatus(t, r, tc.wantStatus)
			if got := len(r.sessions(t)); got != tc.wantCount {
				t.Errorf("got %d sessions, want %d", got, tc.wantCount)
			}
		})
	}
}
