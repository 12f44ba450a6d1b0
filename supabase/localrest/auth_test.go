package localrest_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/wasessions/gateway/supabase/localrest"
	"github.com/wasessions/gateway/supabase/supabasetest"
)

func TestAPIKey(t *testing.T) {
	f := newFixture(t)
	const (
		missing = `{"message":"No API key found in request","hint":"No ` + "`apikey`" + ` request header or url param was found."}`
		invalid = `{"message":"Invalid API key","hint":"Double check your Supabase ` + "`anon`" + ` or ` + "`service_role`" + ` API key."}`
	)
	tests := []struct {
		name       string
		path       string
		headers    map[string]string
		wantStatus int
		wantBody   string
	}{
		{"missing", "/whatsapp_sessions", map[string]string{"apikey": ""}, 401, missing},
		{"bearer alone is not a key", "/whatsapp_sessions", map[string]string{"apikey": "", "Authorization": "Bearer " + f.key}, 401, missing},
		{"wrong", "/whatsapp_sessions", map[string]string{"apikey": "sb_secret_wrong"}, 401, invalid},
		{"prefix of the key", "/whatsapp_sessions", map[string]string{"apikey": f.key[:5]}, 401, invalid},
		{"wrong key checked before the path", "/nope", map[string]string{"apikey": "x"}, 401, invalid},
		{"right", "/whatsapp_sessions?id=eq.1", nil, 200, ""},
		{"right in both headers", "/whatsapp_sessions?id=eq.1", map[string]string{"Authorization": "Bearer " + f.key}, 200, ""},
		{"other bearer ignored", "/whatsapp_sessions?id=eq.1", map[string]string{"Authorization": "Bearer eyJhbGciOi.x.y"}, 200, ""},
		{"url parameter", "/whatsapp_sessions?id=eq.1&apikey=" + f.key, map[string]string{"apikey": ""}, 200, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, http.MethodGet, tc.path, tc.headers, "")
			if r.status != tc.wantStatus {
				t.Fatalf("got %d (%s), want %d", r.status, r.body, tc.wantStatus)
			}
			if tc.wantBody != "" && r.body != tc.wantBody {
				t.Errorf("got body %s, want %s", r.body, tc.wantBody)
			}
			if tc.wantStatus == 200 {
				wantIDs(t, ids(t, r.body), []int64{1})
			}
		})
	}
}

func TestNewRefusesEmptyKey(t *testing.T) {
	pool := supabasetest.NewPool(t, supabasetest.NewDatabase(t))
	if _, err := localrest.New(context.Background(), pool, "", nil); err == nil {
		t.Errorf("New with an empty key: got nil error, want one")
	}
}

func TestReload(t *testing.T) {
	f := newFixture(t)
	pool := f.pool
	srv, err := localrest.New(context.Background(), pool, "k", nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	mustExec(t, pool, "CREATE TABLE later (id int)")
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, "/rest/v1/later", nil)
		req.Header.Set("apikey", "k")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := get(); got != http.StatusNotFound {
		t.Fatalf("before Reload: got %d, want 404", got)
	}
	if err := srv.Reload(context.Background()); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got := get(); got != http.StatusOK {
		t.Errorf("after Reload: got %d, want 200", got)
	}
}
