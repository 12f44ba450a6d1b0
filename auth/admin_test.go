package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wasessions/gateway/auth"
)

func TestParseAdminClaim(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // empty: accepted
	}{
		{"", ""},
		{"app_metadata.role=admin", ""},
		{" app_metadata.roles = admin ", ""},
		{"user_role=operator", ""}, // a custom claim from an auth hook
		{"app_metadata.role", "want claim.path=value"},
		{"=admin", "want claim.path=value"},
		{"app_metadata..role=admin", "empty segment"},
		{"user_metadata.role=admin", "set by users"},
		{"user_metadata=admin", "set by users"},
		{"email=boss@example.com", "set by users"},
		{"phone=5215512345678", "set by users"},
		{"is_anonymous=false", "set by users"},
		{"amr.method=password", "set by users"},
		{"aal=aal2", "set by users"},
		{"app_metadata.provider=email", "set by users"},
		{"app_metadata.providers=email", "set by users"},
	}
	for _, tt := range tests {
		a, err := auth.ParseAdminClaim(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseAdminClaim(%q): got error %v, want none", tt.in, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseAdminClaim(%q): got %v, want an error saying %q", tt.in, err, tt.wantErr)
		case tt.wantErr == "" && (tt.in == "") == a.Enabled():
			t.Errorf("ParseAdminClaim(%q): got Enabled %v, want %v", tt.in, a.Enabled(), tt.in != "")
		}
	}
}

// TestVerifiedTokensCarryAdmin: Claims.Admin is set only for a token that
// holds the configured claim's value, as a string or in an array.
func TestVerifiedTokensCarryAdmin(t *testing.T) {
	const secret = "admin-test-secret-with-enough-bytes-0123456789"
	admin, err := auth.ParseAdminClaim("app_metadata.role=admin")
	if err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewTokenVerifier(context.Background(), auth.TokenVerifierConfig{HS256Secret: []byte(secret), Admin: admin})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tests := []struct {
		name  string
		extra map[string]any
		want  bool
	}{
		{"string value", map[string]any{"app_metadata": map[string]any{"role": "admin"}}, true},
		{"in an array", map[string]any{"app_metadata": map[string]any{"role": []any{"support", "admin"}}}, true},
		{"other value", map[string]any{"app_metadata": map[string]any{"role": "support"}}, false},
		{"wrong case", map[string]any{"app_metadata": map[string]any{"role": "Admin"}}, false},
		{"not a string", map[string]any{"app_metadata": map[string]any{"role": true}}, false},
		{"app_metadata not an object", map[string]any{"app_metadata": "role=admin"}, false},
		{"user_metadata", map[string]any{"user_metadata": map[string]any{"role": "admin"}}, false},
		{"absent", nil, false},
	}
	for _, tt := range tests {
		claims := jwt.MapClaims{"sub": "u", "aud": "authenticated", "exp": time.Now().Add(time.Hour).Unix()}
		for k, val := range tt.extra {
			claims[k] = val
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second answer comes from the cache
			got, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if got.Admin != tt.want {
				t.Errorf("%s: got Admin %v, want %v", tt.name, got.Admin, tt.want)
			}
		}
	}
}
