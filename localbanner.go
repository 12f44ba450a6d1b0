package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wasessions/gateway/config"
)

// fillLocalSecrets makes a webhook secret and a JWT secret for this run
// where local mode has none, so the API is never open, even locally.
func fillLocalSecrets(cfg *config.Config) {
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = randomSecret()
	}
	if cfg.SupabaseJWTSecret == "" {
		cfg.SupabaseJWTSecret = randomSecret()
	}
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// localUserToken mints a Supabase-shaped access token with the run's JWT
// secret, valid for a day, for the printed examples.
func localUserToken(secret string) string {
	now := time.Now()
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub":  "00000000-0000-0000-0000-000000000001",
		"aud":  "authenticated",
		"role": "authenticated",
		"iat":  now.Unix(),
		"exp":  now.Add(24 * time.Hour).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		return "<could not mint a token: " + err.Error() + ">"
	}
	return token
}

// printLocalBanner says plainly that this is local mode and prints the
// run's secrets with requests that can be pasted as they are.
func printLocalBanner(w io.Writer, cfg config.Config, port int, sesionID int64) {
	base := fmt.Sprintf("http://localhost:%d/api/whatsapp_sessions", port)
	token := localUserToken(cfg.SupabaseJWTSecret)
	fmt.Fprintf(w, `
LOCAL MODE: no SUPABASE_URL is set, so sessions are stored in the local PostgreSQL at DATABASE_URL.
Secrets for this run (set WEBHOOK_SECRET and SUPABASE_JWT_SECRET to keep them across runs):
  WEBHOOK_SECRET=%s
  SUPABASE_JWT_SECRET=%s

Try it (sample sesiones row id %d):
  TOKEN=%s
  curl -s -X POST %s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"session_id":"session_demo_1","sesion_id":%d}'
  curl -s -X POST %s/new-session-connected -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '{"session_id":"session_demo_1","phone_number":"5215512345678","status":"connected"}'
  curl -s '%s?status=eq.connected' -H "Authorization: Bearer $TOKEN"

`, cfg.WebhookSecret, cfg.SupabaseJWTSecret, sesionID, token, base, sesionID, base, cfg.WebhookSecret, base)
}

// printToken prints a day-long user access token signed with the configured
// SUPABASE_JWT_SECRET, so the README's requests work as written.
func printToken(cfg config.Config, w io.Writer) error {
	if cfg.SupabaseJWTSecret == "" {
		return errors.New("SUPABASE_JWT_SECRET must be set to mint a token (local mode makes a random one per run and prints a token itself)")
	}
	_, err := fmt.Fprintln(w, localUserToken(cfg.SupabaseJWTSecret))
	return err
}
