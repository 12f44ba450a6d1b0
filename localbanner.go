package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wasessions/gateway/config"
)

// fillLocalSecrets makes a webhook secret and a JWT secret for this run
// where local mode has none, so the API is never open, even locally. It
// returns the names of the settings it made.
func fillLocalSecrets(cfg *config.Config) (generated []string) {
	if cfg.WebhookSecret == "" {
		cfg.WebhookSecret = randomSecret()
		generated = append(generated, "WEBHOOK_SECRET")
	}
	if cfg.SupabaseJWTSecret == "" {
		cfg.SupabaseJWTSecret = randomSecret()
		generated = append(generated, "SUPABASE_JWT_SECRET")
	}
	return generated
}

func randomSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sampleUser is the user of the token local mode prints; local mode's seed
// makes them the owner of the sample sesiones row.
const sampleUser = "00000000-0000-0000-0000-000000000001"

// userToken mints a Supabase-shaped access token for user sub with the
// configured JWT secret, valid for a day, carrying the project's issuer
// when there is one.
func userToken(cfg config.Config, sub string) string {
	now := time.Now()
	claims := jwt.MapClaims{
		"sub":  sub,
		"aud":  "authenticated",
		"role": "authenticated",
		"iat":  now.Unix(),
		"exp":  now.Add(24 * time.Hour).Unix(),
	}
	if cfg.SupabaseURL != "" {
		claims["iss"] = cfg.SupabaseURL + "/auth/v1"
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(cfg.SupabaseJWTSecret))
	if err != nil {
		return "<could not mint a token: " + err.Error() + ">"
	}
	return token
}

// printLocalBanner says plainly that this is local mode and prints the
// secrets made for this run (never ones the operator supplied) with
// requests that can be pasted as they are.
func printLocalBanner(w io.Writer, cfg config.Config, generated []string, port int, sesionID int64) {
	base := fmt.Sprintf("http://localhost:%d/api/whatsapp_sessions", port)
	webhookAuth := "Bearer $WEBHOOK_SECRET"
	fmt.Fprintln(w, "\nLOCAL MODE: no SUPABASE_URL is set, so sessions are stored in the local PostgreSQL at DATABASE_URL.")
	if len(generated) > 0 {
		fmt.Fprintln(w, "Secrets made for this run (set them in the environment to keep them across runs):")
		for _, name := range generated {
			value := cfg.WebhookSecret
			if name == "SUPABASE_JWT_SECRET" {
				value = cfg.SupabaseJWTSecret
			}
			fmt.Fprintf(w, "  %s=%s\n", name, value)
		}
	}
	for _, name := range generated {
		if name == "WEBHOOK_SECRET" {
			webhookAuth = "Bearer " + cfg.WebhookSecret
		}
	}
	if cfg.SesionesOwnerColumn != "" {
		fmt.Fprintf(w, "Each user sees only their own sessions (SESIONES_OWNER_COLUMN=%s); the token below is the sample row's owner (`gateway token -sub <uuid>` mints another user).\n", cfg.SesionesOwnerColumn)
	}
	fmt.Fprintf(w, `
Try it (sample sesiones row id %d):
  TOKEN=%s
  curl -s -X POST %s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"session_id":"session_demo_1","sesion_id":%d}'
  curl -s -X POST %s/new-session-connected -H "Authorization: %s" -H 'Content-Type: application/json' -d '{"session_id":"session_demo_1","phone_number":"5215512345678","status":"connected"}'
  curl -s '%s?status=eq.connected' -H "Authorization: Bearer $TOKEN"

`, sesionID, userToken(cfg, sampleUser), base, sesionID, base, webhookAuth, base)
}

// printToken prints a day-long user access token signed with the configured
// SUPABASE_JWT_SECRET, so the README's requests work as written; -sub
// names another user, to try ownership with two.
func printToken(cfg config.Config, args []string, w io.Writer) error {
	flags := flag.NewFlagSet("token", flag.ContinueOnError)
	sub := flags.String("sub", sampleUser, "the user id (a UUID) the token is for")
	if err := flags.Parse(args); err != nil {
		return err
	}
	if cfg.SupabaseJWTSecret == "" {
		return errors.New("SUPABASE_JWT_SECRET must be set to mint a token (local mode makes a random one per run and prints a token itself)")
	}
	_, err := fmt.Fprintln(w, userToken(cfg, *sub))
	return err
}
