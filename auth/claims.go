package auth

import (
	"encoding/json"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Claims is what the gateway needs from a verified Supabase access token.
type Claims struct {
	// Subject is the user's id (the "sub" claim); never empty.
	Subject string
	// Role is Supabase's Postgres role for the user, normally "authenticated".
	Role string
	// Email is the user's email, empty for phone or anonymous users.
	Email string
	// SessionID is the Supabase Auth session the token belongs to ("session_id").
	SessionID string
	// ExpiresAt is the token's "exp".
	ExpiresAt time.Time
	// Admin is set when the token holds TokenVerifierConfig.Admin's claim:
	// an operator, who may see and change every session.
	Admin bool
}

// supabaseClaims is the wire shape of a Supabase access token, decoded by jwt.
// Registered claims (exp, nbf, iat, aud) are validated by the jwt parser.
type supabaseClaims struct {
	jwt.RegisteredClaims
	Role      string `json:"role"`
	Email     string `json:"email"`
	SessionID string `json:"session_id"`
	raw       map[string]any
}

// UnmarshalJSON decodes the known claims and keeps all of them, since
// ADMIN_ROLE_CLAIM may name any path (app_metadata, or an auth hook's claim).
func (c *supabaseClaims) UnmarshalJSON(b []byte) error {
	type known supabaseClaims // no methods: no recursion
	if err := json.Unmarshal(b, (*known)(c)); err != nil {
		return err
	}
	return json.Unmarshal(b, &c.raw)
}

// Validate adds the check jwt cannot express as an option: a token without a
// subject names no user, so it cannot authorise a user-facing request. The
// legacy anon and service-role keys are JWTs without "sub" (and without "aud").
func (c supabaseClaims) Validate() error {
	if c.Subject == "" {
		return errMissingSubject
	}
	return nil
}

// claims converts the wire shape into the exported Claims.
func (c supabaseClaims) claims() Claims {
	out := Claims{
		Subject:   c.Subject,
		Role:      c.Role,
		Email:     c.Email,
		SessionID: c.SessionID,
	}
	if c.ExpiresAt != nil {
		out.ExpiresAt = c.ExpiresAt.Time
	}
	return out
}
