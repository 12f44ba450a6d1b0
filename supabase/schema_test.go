package supabase_test

import (
	"context"
	"sort"
	"strings"
	"testing"

	"github.com/wasessions/gateway/supabase"
	"github.com/wasessions/gateway/supabase/migrate"
	"github.com/wasessions/gateway/supabase/supabasetest"
)

// TestSessionColumnsMatchMigrations keeps the query validator's column
// list equal to the table the migrations create: a column added to one
// and not the other would be refused, or forwarded unchecked.
func TestSessionColumnsMatchMigrations(t *testing.T) {
	pool := supabasetest.NewPool(t, supabasetest.NewDatabase(t))
	ctx := context.Background()
	if _, err := migrate.Apply(ctx, pool); err != nil {
		t.Fatal(err)
	}
	rows, err := pool.Query(ctx, `select column_name from information_schema.columns
		where table_schema = 'public' and table_name = $1 order by column_name`, supabase.SessionTable)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	want := supabase.SessionColumns()
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("got table columns %v, want the validator's %v", got, want)
	}
}
