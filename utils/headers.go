package utils

import "strings"

// SecretKeyPrefix marks Supabase's new-style secret API keys. They are opaque,
// not JWTs, and the Data API accepts them only in the apikey header.
const SecretKeyPrefix = "sb_secret_"

// SupabaseHeaders returns the headers that authenticate the gateway to the
// Supabase Data API with key. A new-style secret key goes in apikey only;
// a legacy service-role key is a JWT and must also be the bearer token,
// because PostgREST reads the role from Authorization.
func SupabaseHeaders(key, userAgent string) map[string]string {
	h := map[string]string{"apikey": key}
	if !strings.HasPrefix(key, SecretKeyPrefix) && looksLikeJWT(key) {
		h["Authorization"] = "Bearer " + key
	}
	if userAgent != "" {
		h["User-Agent"] = userAgent
	}
	return h
}

// looksLikeJWT reports whether key has the three dot-separated parts of a JWT.
func looksLikeJWT(key string) bool {
	return strings.Count(key, ".") == 2 && strings.HasPrefix(key, "eyJ")
}
