package handlers_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/supabase"
)

// TestFrontendTypesCompile does what the README tells frontend developers
// to do: generate TypeScript types from the served /openapi.json with
// openapi-typescript and call the API through openapi-fetch. The example
// client (testdata/typescript/client.ts) must compile under tsc --strict,
// and a call with a status the API does not have (bad.ts) must not, so the
// types are the API's own rather than anything-goes. It skips only without
// node; scripts/ensure-tools.sh installs the pinned tools into .tools/.
func TestFrontendTypesCompile(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed; the frontend types check needs it")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, ".tools", "node_modules", ".bin")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	run := func(dir, name string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(root, "bash", "scripts/ensure-tools.sh", "typescript"); err != nil {
		t.Fatalf("install the TypeScript tools: %v\n%s", err, out)
	}

	s := newStack(t, func(d *handlers.Deps, _ *supabase.ClientConfig) { d.OpenAPI = handlers.OpenAPI })
	dir := t.TempDir()
	for _, name := range []string{"client.ts", "bad.ts"} {
		src, err := os.ReadFile(filepath.Join("testdata", "typescript", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(root, ".tools", "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
		t.Fatal(err)
	}
	if out, err := run(dir, filepath.Join(bin, "openapi-typescript"), s.URL+"/openapi.json", "-o", "api.ts"); err != nil {
		t.Fatalf("openapi-typescript %s/openapi.json: %v\n%s", s.URL, err, out)
	}
	tsc := func(file string) (string, error) {
		return run(dir, filepath.Join(bin, "tsc"), "--strict", "--noEmit", "--target", "es2022", "--module", "esnext",
			"--moduleResolution", "bundler", "--lib", "es2022,dom", file)
	}
	if out, err := tsc("client.ts"); err != nil {
		t.Errorf("tsc --strict client.ts: got %v, want it to compile\n%s", err, out)
	}
	if out, err := tsc("bad.ts"); err == nil || !strings.Contains(out, `"paused"`) {
		t.Errorf("tsc --strict bad.ts: got %v (%s), want a type error about \"paused\"", err, out)
	}
}
