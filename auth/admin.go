package auth

import (
	"fmt"
	"strings"
)

// AdminClaim is the ADMIN_ROLE_CLAIM setting: a dotted path into a user
// access token's claims and the value that marks an operator, such as
// app_metadata.role=admin. The zero AdminClaim matches no token.
type AdminClaim struct {
	path  []string
	value string
}

// userEditable are claim paths a user can set for themselves (through
// supabase.auth.updateUser, or by choosing how to sign in), so they can
// never grant anything: user_metadata, the contact details, and what
// describes the sign-in itself.
var userEditable = []string{
	"user_metadata", "email", "phone", "is_anonymous", "amr", "aal",
	"app_metadata.provider", "app_metadata.providers", "session_id",
}

// ParseAdminClaim reads "path=value". Empty means no operators. A path a
// user could set for themselves is refused.
func ParseAdminClaim(s string) (AdminClaim, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return AdminClaim{}, nil
	}
	path, value, ok := strings.Cut(s, "=")
	path, value = strings.TrimSpace(path), strings.TrimSpace(value)
	if !ok || path == "" || value == "" {
		return AdminClaim{}, fmt.Errorf("want claim.path=value, such as app_metadata.role=admin; got %q", s)
	}
	parts := strings.Split(path, ".")
	for _, p := range parts {
		if p == "" {
			return AdminClaim{}, fmt.Errorf("claim path %q has an empty segment", path)
		}
	}
	for _, bad := range userEditable {
		if path == bad || strings.HasPrefix(path, bad+".") {
			return AdminClaim{}, fmt.Errorf("claim %q can be set by users themselves and cannot mark operators; use one under app_metadata (set only with the service key) or a custom claim from an auth hook", path)
		}
	}
	return AdminClaim{path: parts, value: value}, nil
}

// Enabled reports whether some tokens can be operators' tokens.
func (a AdminClaim) Enabled() bool { return len(a.path) > 0 }

// String gives the setting back as it was written.
func (a AdminClaim) String() string {
	if !a.Enabled() {
		return ""
	}
	return strings.Join(a.path, ".") + "=" + a.value
}

// matches reports whether the claims hold the value at the path: as a
// string, or as one string of an array (app_metadata.roles=["admin","x"]).
func (a AdminClaim) matches(claims map[string]any) bool {
	if !a.Enabled() {
		return false
	}
	var v any = claims
	for _, p := range a.path {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		v = m[p]
	}
	switch v := v.(type) {
	case string:
		return v == a.value
	case []any:
		for _, item := range v {
			if s, ok := item.(string); ok && s == a.value {
				return true
			}
		}
	}
	return false
}
