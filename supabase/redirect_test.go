package supabase

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// A redirect from upstream is refused, not followed: postgrest-go puts the
// key on every request it sends, so following Location would hand the
// secret key to whatever host the redirect names.
func TestRedirectIsNotFollowed(t *testing.T) {
	const key = "sb_secret_redirect_test_key"
	var reached atomic.Int32
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		if r.Header.Get("apikey") == key || r.Header.Get("Authorization") != "" {
			t.Errorf("the secret key reached the redirect's target: apikey=%q", r.Header.Get("apikey"))
		}
		_, _ = w.Write([]byte(`[]`))
	}))
	defer elsewhere.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusTemporaryRedirect)
	}))
	defer origin.Close()

	c, err := NewClient(ClientConfig{URL: origin.URL, Key: key, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.GetSession(context.Background(), Everyone, 1)
	if err == nil {
		t.Fatal("got a session through a redirect, want an error")
	}
	if got := ErrorCode(err); got != CodeInternal {
		t.Errorf("got code %s, want %s (SUPABASE_URL is ours to fix)", got, CodeInternal)
	}
	if n := reached.Load(); n != 0 {
		t.Errorf("the redirect's target got %d requests, want 0", n)
	}
}
