package localrest_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// PostgREST applies select, filters, order, limit and offset to the rows a
// function returns, as to a table's ("Functions as RPC: filters on
// table-valued functions" in PostgREST's API reference).
func TestRPCResultIsShapedLikeATable(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name       string
		fn, query  string
		body       string
		headers    map[string]string
		wantIDs    []int64
		wantRange  string
		wantStatus int
	}{
		{name: "setof table row, filtered and ordered", fn: "sessions_by_status", query: "?id=gt.1&order=id.desc",
			body: `{"p_status":"connected"}`, wantIDs: []int64{5, 2}, wantRange: "0-1/*", wantStatus: 200},
		{name: "returns table, filtered", fn: "sessions_since", query: "?status=eq.pending",
			body: `{"p_id":1}`, wantIDs: []int64{1, 6}, wantRange: "0-1/*", wantStatus: 200},
		{name: "limit and offset", fn: "sessions_since", query: "?order=id.asc&limit=2&offset=1",
			body: `{"p_id":2}`, wantIDs: []int64{3, 4}, wantRange: "1-2/*", wantStatus: 200},
		{name: "exact count over the filtered rows", fn: "sessions_since", query: "?status=neq.pending&limit=1",
			body: `{"p_id":1}`, headers: map[string]string{"Prefer": "count=exact"}, wantIDs: []int64{2}, wantRange: "0-0/4", wantStatus: 206},
		{name: "logic tree", fn: "sessions_since", query: "?or=(id.eq.2,id.eq.6)",
			body: `{"p_id":1}`, wantIDs: []int64{2, 6}, wantRange: "0-1/*", wantStatus: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, http.MethodPost, "/rpc/"+tc.fn+tc.query, tc.headers, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("got %d (%s), want %d", r.status, r.body, tc.wantStatus)
			}
			wantIDs(t, ids(t, r.body), tc.wantIDs)
			if got := r.header.Get("Content-Range"); got != tc.wantRange {
				t.Errorf("got Content-Range %q, want %q", got, tc.wantRange)
			}
		})
	}

	t.Run("select picks the columns", func(t *testing.T) {
		r := f.do(t, http.MethodPost, "/rpc/sessions_since?select=status,id&id=eq.3", nil, `{"p_id":1}`)
		if r.status != 200 || !sameJSON(t, r.body, `[{"status":"disconnected","id":3}]`) {
			t.Fatalf("got %d %s, want one row with status then id", r.status, r.body)
		}
	})
}

func TestRPCShapingErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, fn, query, body string
		wantStatus            int
		wantCode              string
	}{
		// What PostgreSQL answers PostgREST for a column the result lacks.
		{"unknown column", "sessions_since", "?nope=eq.1", `{"p_id":1}`, 400, "42703"},
		{"bad filter syntax", "sessions_since", "?id=zz.1", `{"p_id":1}`, 400, "PGRST100"},
		{"scalar result", "add", "?limit=1", `{"a":1,"b":2}`, 400, "PGRST127"},
		{"bad value for the column type", "sessions_since", "?id=eq.x", `{"p_id":1}`, 400, "22P02"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, f.do(t, http.MethodPost, "/rpc/"+tc.fn+tc.query, nil, tc.body), tc.wantStatus, tc.wantCode)
		})
	}
}

// PostgREST hands every request's method, path, headers (lower-case names,
// without Cookie) and cookies to the database as transaction settings
// ("Transaction-scoped settings" in PostgREST's transactions reference).
func TestRequestSettingsReachTheDatabase(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, http.MethodPost, "/rpc/request_settings", map[string]string{
		"X-Gateway-Source": "patch", "X-Request-ID": "req-1", "Cookie": "a=1; b=two",
	}, `{}`)
	if r.status != 200 {
		t.Fatalf("got %d %s, want 200", r.status, r.body)
	}
	var got struct {
		Method  string            `json:"method"`
		Path    string            `json:"path"`
		Headers map[string]string `json:"headers"`
		Cookies map[string]string `json:"cookies"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.Path != "/rpc/request_settings" {
		t.Errorf("got method %q path %q, want POST /rpc/request_settings", got.Method, got.Path)
	}
	if got.Headers["x-gateway-source"] != "patch" || got.Headers["x-request-id"] != "req-1" || got.Headers["apikey"] != f.key {
		t.Errorf("got headers %v, want lower-case names with their values", got.Headers)
	}
	if _, ok := got.Headers["cookie"]; ok {
		t.Errorf("got a cookie header in %v, want cookies only in request.cookies", got.Headers)
	}
	if got.Cookies["a"] != "1" || got.Cookies["b"] != "two" {
		t.Errorf("got cookies %v, want a=1 and b=two", got.Cookies)
	}

	// Settings are the transaction's own: the next request does not see them.
	r = f.do(t, http.MethodPost, "/rpc/request_settings", nil, `{}`)
	var next struct {
		Headers map[string]string `json:"headers"`
	}
	if json.Unmarshal([]byte(r.body), &next) != nil || next.Headers["x-gateway-source"] != "" {
		t.Errorf("got %s on a request without the header, want no x-gateway-source", r.body)
	}
}
