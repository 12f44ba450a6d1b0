package localrest_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

func TestRPC(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name       string
		fn         string
		body       string
		headers    map[string]string
		wantStatus int
		wantBody   string // compared as JSON when set
		check      func(t *testing.T, r reply)
	}{
		{name: "jsonb result", fn: "connect_session", body: `{"p_session_id":"s1","p_last_seen":"2024-03-01T12:00:00+02:00"}`,
			wantStatus: 200, check: func(t *testing.T, r reply) {
				obj := decodeObject(t, r.body)
				if obj["status"] != "connected" || obj["id"] != float64(1) || obj["last_seen"] != "2024-03-01T10:00:00+00:00" {
					t.Errorf("got %v, want row 1 connected, last seen 10:00 UTC", obj)
				}
				wantValue(t, f, "SELECT status FROM whatsapp_sessions WHERE id = 1", "connected")
			}},
		{name: "default arguments", fn: "connect_session", body: `{"p_session_id":"s3","p_status":"expired"}`,
			wantStatus: 200, check: func(t *testing.T, r reply) {
				if obj := decodeObject(t, r.body); obj["status"] != "expired" {
					t.Errorf("got %v, want status expired", obj)
				}
			}},
		{name: "null jsonb result", fn: "connect_session", body: `{"p_session_id":"nobody"}`, wantStatus: 200, wantBody: `null`},
		{name: "scalar", fn: "add", body: `{"a":2,"b":3}`, wantStatus: 200, wantBody: `5`},
		{name: "string argument cast", fn: "add", body: `{"a":"2","b":3}`, wantStatus: 200, wantBody: `5`},
		{name: "representation tolerated", fn: "add", body: `{"a":1,"b":1}`,
			headers: map[string]string{"Prefer": "return=representation"}, wantStatus: 200, wantBody: `2`},
		{name: "setof composite", fn: "sessions_by_status", body: `{"p_status":"connected"}`, wantStatus: 200,
			check: func(t *testing.T, r reply) { wantIDs(t, ids(t, r.body), []int64{2, 5}) }},
		{name: "single composite", fn: "first_session", body: `{}`, wantStatus: 200,
			check: func(t *testing.T, r reply) {
				if obj := decodeObject(t, r.body); obj["session_id"] != "s1" {
					t.Errorf("got %v, want the object of row 1", obj)
				}
			}},
		{name: "empty body means no arguments", fn: "first_session", body: ``, wantStatus: 200},
		{name: "void", fn: "ping", body: `{}`, wantStatus: 204},
		{name: "array argument", fn: "count_tags", body: `{"p_tags":["a","b","c"]}`, wantStatus: 200, wantBody: `3`},
		{name: "single unnamed jsonb", fn: "echo", body: `{"x":[1,2]}`, wantStatus: 200, wantBody: `{"x":[1,2]}`},
		{name: "singular setof", fn: "sessions_by_status", body: `{"p_status":"expired"}`,
			headers: map[string]string{"Accept": "application/vnd.pgrst.object+json"}, wantStatus: 200,
			check: func(t *testing.T, r reply) {
				if obj := decodeObject(t, r.body); obj["id"] != float64(4) {
					t.Errorf("got %v, want row 4", obj)
				}
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.reset(t)
			r := f.do(t, http.MethodPost, "/rpc/"+tc.fn, tc.headers, tc.body)
			if r.status != tc.wantStatus {
				t.Fatalf("got %d (%s), want %d", r.status, r.body, tc.wantStatus)
			}
			if tc.wantBody != "" && !sameJSON(t, r.body, tc.wantBody) {
				t.Errorf("got body %s, want %s", r.body, tc.wantBody)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestRPCErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name        string
		method      string
		fn          string
		body        string
		headers     map[string]string
		wantStatus  int
		wantCode    string
		wantMessage string
		wantHint    string // "<null>" for null
		wantHeader  [2]string
	}{
		{name: "custom status from PTxyz", fn: "set_status", body: `{"p_id":4,"p_status":"connected"}`,
			wantStatus: 409, wantCode: "PT409", wantMessage: "cannot move an expired session to connected", wantHint: "invalid_transition"},
		{name: "RAISE PGRST", fn: "pay", body: `{}`, wantStatus: 402, wantCode: "123", wantMessage: "Payment Required",
			wantHint: "Upgrade your plan", wantHeader: [2]string{"X-Powered-By", "Nerd Rage"}},
		{name: "missing required argument", fn: "add", body: `{"a":1}`, wantStatus: 404, wantCode: "PGRST202",
			wantMessage: "Could not find the function public.add(a) in the schema cache",
			wantHint:    "Perhaps you meant to call the function public.add(a, b)"},
		{name: "unknown argument", fn: "add", body: `{"a":1,"b":2,"c":3}`, wantStatus: 404, wantCode: "PGRST202",
			wantMessage: "Could not find the function public.add(a, b, c) in the schema cache"},
		{name: "unknown function", fn: "nope", body: `{}`, wantStatus: 404, wantCode: "PGRST202",
			wantMessage: "Could not find the function public.nope without parameters in the schema cache", wantHint: "<null>"},
		{name: "misspelt function", fn: "set_statu", body: `{"p_id":1,"p_status":"x"}`, wantStatus: 404, wantCode: "PGRST202",
			wantHint: "Perhaps you meant to call the function public.set_status"},
		{name: "ambiguous overload", fn: "dup", body: `{"x":1}`, wantStatus: 300, wantCode: "PGRST203",
			wantMessage: "Could not choose the best candidate function between: public.dup(x => integer), public.dup(x => text)"},
		{name: "bad argument value", fn: "add", body: `{"a":"two","b":2}`, wantStatus: 400, wantCode: "22P02"},
		{name: "invalid json", fn: "add", body: `{"a":`, wantStatus: 400, wantCode: "PGRST102"},
		{name: "array body", fn: "add", body: `[1,2]`, wantStatus: 400, wantCode: "PGRST102"},
		{name: "singular on many rows", fn: "sessions_by_status", body: `{"p_status":"pending"}`,
			headers: map[string]string{"Accept": "application/vnd.pgrst.object+json"}, wantStatus: 406, wantCode: "PGRST116"},
		{name: "patch", method: http.MethodPatch, fn: "add", body: `{}`, wantStatus: 405, wantCode: "PGRST101",
			wantMessage: "Cannot use the PATCH method on RPC"},
		{name: "get", method: http.MethodGet, fn: "add", wantStatus: 400, wantCode: "PGRST127"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			r := f.do(t, method, "/rpc/"+tc.fn, tc.headers, tc.body)
			e := wantError(t, r, tc.wantStatus, tc.wantCode)
			if tc.wantMessage != "" && e.Message != tc.wantMessage {
				t.Errorf("got message %q, want %q", e.Message, tc.wantMessage)
			}
			if tc.wantHint != "" && strPtr(e.Hint) != tc.wantHint {
				t.Errorf("got hint %q, want %q", strPtr(e.Hint), tc.wantHint)
			}
			if tc.wantHeader[0] != "" && r.header.Get(tc.wantHeader[0]) != tc.wantHeader[1] {
				t.Errorf("got %s %q, want %q", tc.wantHeader[0], r.header.Get(tc.wantHeader[0]), tc.wantHeader[1])
			}
		})
	}
	// The PT409 function raised before writing; nothing may have changed.
	wantValue(t, f, "SELECT status FROM whatsapp_sessions WHERE id = 4", "expired")
}

// TestRPCErrorBody pins the exact body of a PTxyz error, which the gateway
// maps to invalid_transition.
func TestRPCErrorBody(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, http.MethodPost, "/rpc/set_status", nil, `{"p_id":4,"p_status":"pending"}`)
	want := `{"code":"PT409","details":null,"hint":"invalid_transition","message":"cannot move an expired session to pending"}`
	if r.status != http.StatusConflict || r.body != want {
		t.Errorf("got %d %s, want 409 %s", r.status, r.body, want)
	}
}

func sameJSON(tb testing.TB, a, b string) bool {
	tb.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		tb.Fatalf("decode %q: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		tb.Fatalf("decode %q: %v", b, err)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return string(ja) == string(jb)
}
