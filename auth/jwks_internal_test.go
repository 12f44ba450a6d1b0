package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/MicahParks/jwkset"
)

// serveJWKS starts a server answering every request with status and body.
func serveJWKS(tb testing.TB, status int, body string) *httptest.Server {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	tb.Cleanup(srv.Close)
	return srv
}

func TestFetchJWKS(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generate key: %v", err)
	}
	m := publicJWK(t, &k.PublicKey, "x", jwkset.AlgES256, jwkset.UseSig)
	// The shape Supabase publishes, including the WebCrypto "ext" member.
	supabaseShaped := `{"keys":[{"alg":"ES256","crv":"P-256","ext":true,"key_ops":["verify"],` +
		`"kid":"b81269f1-21d8-4f2e-b719-c2240a840d90","kty":"EC","use":"sig","x":"` + m.X + `","y":"` + m.Y + `"}]}`

	tests := []struct {
		name     string
		status   int
		body     string
		wantKIDs int // -1: the fetch must fail and keep the old keys
	}{
		{"Supabase-shaped document", http.StatusOK, supabaseShaped, 1},
		{"project without asymmetric keys", http.StatusOK, `{"keys":[]}`, 0},
		{"one odd key does not spoil the rest", http.StatusOK, strings.Replace(supabaseShaped, `{"alg"`, `{"kty":"XYZ","kid":"odd"},{"alg"`, 1), 1},
		{"server error", http.StatusServiceUnavailable, `{"keys":[]}`, -1},
		{"not JSON", http.StatusOK, `<html>maintenance</html>`, -1},
		{"JSON without keys", http.StatusOK, `{"error":"maintenance"}`, -1},
		{"null keys", http.StatusOK, `{"keys":null}`, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := serveJWKS(t, tt.status, tt.body)
			s := &jwksSource{url: srv.URL, client: srv.Client()}
			set, err := s.fetch(context.Background())
			if tt.wantKIDs < 0 {
				if err == nil {
					t.Fatalf("fetch: got %d keys and nil error, want an error", len(set.byKID))
				}
				return
			}
			if err != nil {
				t.Fatalf("fetch: got error %v, want nil", err)
			}
			if got := len(set.byKID); got != tt.wantKIDs {
				t.Errorf("keys: got %d, want %d", got, tt.wantKIDs)
			}
		})
	}
}
