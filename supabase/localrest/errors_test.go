package localrest_test

import (
	"net/http"
	"net/url"
	"testing"
)

func TestRequestErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name        string
		method      string
		path        string
		headers     map[string]string
		wantStatus  int
		wantCode    string
		wantMessage string // when set
	}{
		{name: "unknown column in select", path: "/whatsapp_sessions?select=id,nope",
			wantStatus: 400, wantCode: "42703", wantMessage: "column whatsapp_sessions.nope does not exist"},
		{name: "unknown column in filter", path: "/whatsapp_sessions?nope=eq.1",
			wantStatus: 400, wantCode: "42703", wantMessage: "column whatsapp_sessions.nope does not exist"},
		{name: "unknown column in order", path: "/whatsapp_sessions?order=nope.desc", wantStatus: 400, wantCode: "42703"},
		{name: "unknown column in tree", path: "/whatsapp_sessions?or=(id.eq.1,nope.eq.2)", wantStatus: 400, wantCode: "42703"},
		{name: "unknown operator", path: "/whatsapp_sessions?id=equals.1", wantStatus: 400, wantCode: "PGRST100",
			wantMessage: `"failed to parse filter (equals.1)" (line 1, column 1)`},
		{name: "no operator (unknown parameter)", path: "/whatsapp_sessions?id=1", wantStatus: 400, wantCode: "PGRST100"},
		{name: "missing delimiter", path: "/whatsapp_sessions?id=eq", wantStatus: 400, wantCode: "PGRST100",
			wantMessage: `"failed to parse filter (eq)" (line 1, column 3)`},
		{name: "bad is value", path: "/whatsapp_sessions?id=is.maybe", wantStatus: 400, wantCode: "PGRST100"},
		{name: "unterminated in", path: "/whatsapp_sessions?id=in.(1,2", wantStatus: 400, wantCode: "PGRST100"},
		{name: "unterminated tree", path: "/whatsapp_sessions?or=(id.eq.1", wantStatus: 400, wantCode: "PGRST100"},
		{name: "empty tree", path: "/whatsapp_sessions?or=()", wantStatus: 400, wantCode: "PGRST100"},
		{name: "bad logic operator", path: "/whatsapp_sessions?or=(id.eq.1,not.xor(id.eq.2))", wantStatus: 400, wantCode: "PGRST100"},
		{name: "bad order direction", path: "/whatsapp_sessions?order=id.sideways", wantStatus: 400, wantCode: "PGRST100",
			wantMessage: `"failed to parse order (id.sideways)" (line 1, column 4)`},
		{name: "one-to-many embedding", path: "/sesiones?select=id,whatsapp_sessions(*)", wantStatus: 400, wantCode: "PGRST127"},
		{name: "embedded filter", path: "/whatsapp_sessions?sesiones.id=eq.1", wantStatus: 400, wantCode: "PGRST108",
			wantMessage: "'sesiones' is not an embedded resource in this request"},
		{name: "embedded order", path: "/whatsapp_sessions?sesiones.order=id", wantStatus: 400, wantCode: "PGRST108"},
		{name: "unsupported operator", path: "/whatsapp_sessions?id=cs.{1}", wantStatus: 400, wantCode: "PGRST127"},
		{name: "operator modifier", path: "/whatsapp_sessions?id=eq(any).{1,2}", wantStatus: 400, wantCode: "PGRST127"},
		{name: "json path", path: "/whatsapp_sessions?select=id->x", wantStatus: 400, wantCode: "PGRST127"},
		{name: "alias", path: "/whatsapp_sessions?select=key:id", wantStatus: 400, wantCode: "PGRST127"},
		{name: "negative limit", path: "/whatsapp_sessions?limit=-1", wantStatus: 416, wantCode: "PGRST103"},
		{name: "non-numeric limit", path: "/whatsapp_sessions?limit=ten", wantStatus: 400, wantCode: "PGRST100"},
		{name: "bad bigint value", path: "/whatsapp_sessions?id=eq.abc", wantStatus: 400, wantCode: "22P02"},
		{name: "bad bigint in list", path: "/whatsapp_sessions?id=in.(1,x)", wantStatus: 400, wantCode: "22P02"},
		{name: "bad timestamp", path: "/whatsapp_sessions?last_seen=gt.yesterday-ish", wantStatus: 400, wantCode: "22007"},
		{name: "like on integer is PostgREST's 404", path: "/whatsapp_sessions?server_port=like.30*", wantStatus: 404, wantCode: "42883"},
		{name: "is true on text", path: "/whatsapp_sessions?status=is.true", wantStatus: 400, wantCode: "42804"},
		{name: "unknown table", path: "/whatsapp_session", wantStatus: 404, wantCode: "PGRST205",
			wantMessage: "Could not find the table 'public.whatsapp_session' in the schema cache"},
		{name: "root", path: "/", wantStatus: 404, wantCode: "PGRST126"},
		{name: "nested path", path: "/whatsapp_sessions/1", wantStatus: 404, wantCode: "PGRST125"},
		{name: "other schema", path: "/whatsapp_sessions", headers: map[string]string{"Accept-Profile": "private"},
			wantStatus: 406, wantCode: "PGRST106", wantMessage: "Invalid schema: private"},
		{name: "other schema on write", method: http.MethodDelete, path: "/whatsapp_sessions?id=eq.1",
			headers: map[string]string{"Content-Profile": "private"}, wantStatus: 406, wantCode: "PGRST106"},
		{name: "unavailable media type", path: "/whatsapp_sessions", headers: map[string]string{"Accept": "text/csv"},
			wantStatus: 406, wantCode: "PGRST107", wantMessage: "None of these media types are available: text/csv"},
		{name: "unsupported method", method: "TRACE", path: "/whatsapp_sessions", wantStatus: 405, wantCode: "PGRST117"},
		{name: "put", method: http.MethodPut, path: "/whatsapp_sessions?id=eq.1", wantStatus: 400, wantCode: "PGRST127"},
		{name: "limit on delete", method: http.MethodDelete, path: "/whatsapp_sessions?limit=1", wantStatus: 400, wantCode: "PGRST127"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			r := f.do(t, method, tc.path, tc.headers, "")
			e := wantError(t, r, tc.wantStatus, tc.wantCode)
			if tc.wantMessage != "" && e.Message != tc.wantMessage {
				t.Errorf("got message %q, want %q", e.Message, tc.wantMessage)
			}
			if got, want := r.header.Get("Proxy-Status"), "PostgREST; error="+tc.wantCode; got != want {
				t.Errorf("got Proxy-Status %q, want %q", got, want)
			}
		})
	}
	if got := f.count(t, "whatsapp_sessions"); got != 6 {
		t.Errorf("after failed requests: got %d rows, want 6 untouched", got)
	}
}

func TestSchemaProfileAccepted(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, http.MethodGet, "/whatsapp_sessions?id=eq.1", map[string]string{"Accept-Profile": "public"}, "")
	if r.status != http.StatusOK {
		t.Fatalf("got %d (%s), want 200", r.status, r.body)
	}
	if got := r.header.Get("Content-Profile"); got != "public" {
		t.Errorf("got Content-Profile %q, want %q", got, "public")
	}
}

func TestParseErrorDetails(t *testing.T) {
	f := newFixture(t)
	q := url.Values{"id": {"noop.0"}}
	e := wantError(t, f.do(t, http.MethodGet, "/whatsapp_sessions?"+q.Encode(), nil, ""), 400, "PGRST100")
	if got, want := strPtr(e.Details), `unexpected "n" expecting operator (eq, gt, ...)`; got != want {
		t.Errorf("got details %q, want %q", got, want)
	}
}
