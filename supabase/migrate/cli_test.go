package migrate_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasessions/gateway/supabase/supabasetest"
)

// TestSupabaseCLIPushesAndLintsClean applies the migrations the way a user
// applies them to a Supabase project, with the real Supabase CLI, to a fresh
// database, and then lints it with the CLI's plpgsql_check lint. It needs
// SUPABASE_CLI (scripts/test.sh installs the pinned CLI and sets it).
func TestSupabaseCLIPushesAndLintsClean(t *testing.T) {
	cli := os.Getenv("SUPABASE_CLI")
	if cli == "" {
		t.Skip("SUPABASE_CLI is not set; `make test` installs the Supabase CLI and runs this check")
	}
	root, err := filepath.Abs("../..") // the directory holding supabase/
	if err != nil {
		t.Fatal(err)
	}
	dbURL := supabasetest.NewDatabase(t)

	push := runCLI(t, cli, root, "db", "push", "--db-url", dbURL, "--yes")
	if strings.Contains(push, "Skipping migration") {
		t.Errorf("got %q, want every file in supabase/migrations to be a migration", push)
	}
	if !strings.Contains(push, "Finished supabase db push") {
		t.Errorf("got %q, want the push to finish", push)
	}
	// The CLI records what it applied where migrate.Apply does: nothing left.
	if applied := mustApply(t, supabasetest.NewPool(t, dbURL)); len(applied) != 0 {
		t.Errorf("got %v applied after the CLI's push, want none", applied)
	}

	lint := runCLI(t, cli, root, "db", "lint", "--db-url", dbURL, "--level", "warning", "--fail-on", "warning")
	if !strings.Contains(lint, "No schema errors found") {
		t.Errorf("got lint output %q, want no schema errors", lint)
	}
}

// runCLI runs the Supabase CLI in root and returns its combined output,
// failing the test when it exits non-zero.
func runCLI(t *testing.T, cli, root string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, cli, append(args, "--workdir", root)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Stdin = strings.NewReader("")
	if err := cmd.Run(); err != nil {
		t.Fatalf("supabase %s: %v\n%s", strings.Join(args[:2], " "), err, out.String())
	}
	return out.String()
}
