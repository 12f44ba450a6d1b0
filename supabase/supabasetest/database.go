// Package supabasetest gives tests a real, throw-away PostgreSQL database and,
// on top of it, the local PostgREST-protocol server, so that tests exercise
// the same stack the gateway runs in local mode.
package supabasetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wasessions/gateway/supabase/localrest"
)

// DefaultAdminURL is where tests find PostgreSQL when TEST_DATABASE_URL is unset.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// AdminURL returns the URL of the server tests create their databases on.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// NewDatabase creates an empty database with a random name, returns its URL,
// and drops it when the test ends, so two runs never see each other's rows.
func NewDatabase(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		tb.Fatalf("supabasetest: cannot reach PostgreSQL at %s (start it with `make test`, which starts it for you): %v", redact(AdminURL()), err)
	}
	defer admin.Close(ctx)

	name := "gwtest_" + randomHex(tb, 8)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("supabasetest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			tb.Logf("supabasetest: drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Logf("supabasetest: drop %s: %v", name, err)
		}
	})

	u, err := url.Parse(AdminURL())
	if err != nil {
		tb.Fatalf("supabasetest: parse admin URL: %v", err)
	}
	u.Path = "/" + name
	prepare(tb, ctx, u.String())
	return u.String()
}

// prepare gives the new database Supabase's API roles and default
// privileges before anything is created in it, as a Supabase project has.
func prepare(tb testing.TB, ctx context.Context, databaseURL string) {
	tb.Helper()
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		tb.Fatalf("supabasetest: connect to the new database: %v", err)
	}
	defer conn.Close(ctx)
	if err := localrest.PrepareDatabase(ctx, conn); err != nil {
		tb.Fatalf("supabasetest: %v", err)
	}
}

// NewPool opens a pgx pool on databaseURL and closes it when the test ends.
func NewPool(tb testing.TB, databaseURL string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), databaseURL)
	if err != nil {
		tb.Fatalf("supabasetest: open pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

func randomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatalf("supabasetest: random: %v", err)
	}
	return hex.EncodeToString(b)
}

// redact hides a password in a connection URL before it is printed.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return strings.Replace(u.String(), "xxxxx", "***", 1)
}
