package supabase_test

import (
	"context"
	"testing"
	"time"

	"github.com/wasessions/gateway/supabase"
	"github.com/wasessions/gateway/supabase/localrest"
	"github.com/wasessions/gateway/supabase/migrate"
	"github.com/wasessions/gateway/supabase/supabasetest"
)

// A LIST_MAX_LIMIT above the project's Max Rows makes Supabase return short
// pages silently; the client must say so. Max Rows is 2 here and the list
// asks for 1001 of 3 rows.
func TestShortPageIsReported(t *testing.T) {
	ctx := context.Background()
	pool := supabasetest.NewPool(t, supabasetest.NewDatabase(t))
	if _, err := migrate.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `
		INSERT INTO sesiones (estado) VALUES ('inactivo');
		INSERT INTO whatsapp_sessions (session_id, sesion_id)
		SELECT 'short-' || n, (SELECT min(id) FROM sesiones) FROM generate_series(1, 3) n`); err != nil {
		t.Fatal(err)
	}
	restURL, key := supabasetest.NewLocalREST(t, pool, localrest.WithMaxRows(2))
	var pages []supabase.ShortPage
	client, err := supabase.NewClient(supabase.ClientConfig{URL: restURL, Key: key, Timeout: 10 * time.Second,
		OnShortPage: func(p supabase.ShortPage) { pages = append(pages, p) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Close)

	list := func(limit int) {
		t.Helper()
		b, err := client.ListSessions(ctx, supabase.ListQuery{Limit: limit})
		if err != nil {
			t.Fatalf("ListSessions(limit %d): %v", limit, err)
		}
		_ = b.Close()
	}
	list(1001)
	if len(pages) != 1 || pages[0] != (supabase.ShortPage{Asked: 1001, Returned: 2, Total: 3}) {
		t.Fatalf("got short pages %+v, want one {Asked:1001 Returned:2 Total:3}", pages)
	}
	// Within Supabase's default Max Rows no count is asked, so nothing is
	// reported (and nothing costs a count).
	list(1000)
	if len(pages) != 1 {
		t.Errorf("got %d short pages after a 1000-row list, want still 1", len(pages))
	}
}
