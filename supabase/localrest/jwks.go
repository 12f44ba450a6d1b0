package localrest

import "net/http"

// jwksPath is where Supabase Auth publishes the project's public signing
// keys. It is public on Supabase (no apikey needed), and a project that
// signs with the legacy HS256 secret only, as this server's does, has no
// public key to publish.
const jwksPath = "/auth/v1/.well-known/jwks.json"

func serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}
}
