package localrest

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
)

// The bodies Supabase's API gateway answers before a request reaches
// PostgREST; clients that handle Supabase handle exactly these.
const (
	missingKeyBody = `{"message":"No API key found in request","hint":"No ` + "`apikey`" + ` request header or url param was found."}`
	invalidKeyBody = `{"message":"Invalid API key","hint":"Double check your Supabase ` + "`anon`" + ` or ` + "`service_role`" + ` API key."}`
)

// authorize plays Supabase's API gateway: the apikey header (or url
// parameter) must carry the key. Authorization is not consulted: legacy
// service-role keys arrive in both headers, and there are no JWT roles
// locally, so a bearer token can neither grant nor take away access.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) bool {
	key := r.Header.Get("apikey")
	if key == "" {
		key = r.URL.Query().Get("apikey")
	}
	body := ""
	switch {
	case key == "":
		body = missingKeyBody
	default:
		// Hashing first makes the comparison constant-time in the key's
		// length as well as its content.
		sum := sha256.Sum256([]byte(key))
		if subtle.ConstantTimeCompare(sum[:], s.keyHash[:]) == 1 {
			return true
		}
		body = invalidKeyBody
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	_, _ = w.Write([]byte(body))
	return false
}
