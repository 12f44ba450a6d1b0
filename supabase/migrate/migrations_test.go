package migrate_test

import (
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/wasessions/gateway/supabase/migrate"
)

// versions lists the versions of the embedded files, in file-name order.
func versions(tb testing.TB) []string {
	tb.Helper()
	names, err := fs.Glob(migrate.FS, "*.sql")
	if err != nil {
		tb.Fatalf("list migrations: %v", err)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, name := range names {
		out[i] = name[:14]
	}
	return out
}

func TestFilesFollowSupabaseCLINaming(t *testing.T) {
	names, err := fs.Glob(migrate.FS, "*")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("FS holds no migrations")
	}
	cli := regexp.MustCompile(`^[0-9]{14}_[a-z0-9_]+\.sql$`)
	for _, name := range names {
		if !cli.MatchString(name) {
			t.Errorf("%s: want <14-digit timestamp>_<name>.sql", name)
		}
	}
}

func TestApplyIsIdempotent(t *testing.T) {
	t.Parallel()
	pool := newEmptyDatabase(t)
	ctx := testContext(t)

	first := mustApply(t, pool)
	if want := versions(t); !slices.Equal(first, want) {
		t.Fatalf("first Apply: got %v, want %v", first, want)
	}
	second := mustApply(t, pool)
	if len(second) != 0 {
		t.Fatalf("second Apply: got %v, want nothing applied", second)
	}

	rows, err := pool.Query(ctx, "select version, name, statements from supabase_migrations.schema_migrations order by version")
	if err != nil {
		t.Fatal(err)
	}
	type record struct {
		Version    string
		Name       string
		Statements []string
	}
	records, err := pgx.CollectRows(rows, pgx.RowToStructByPos[record])
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrate.FS, "*.sql")
	sort.Strings(names)
	if len(records) != len(names) {
		t.Fatalf("schema_migrations: got %d rows, want %d", len(records), len(names))
	}
	for i, rec := range records {
		body, _ := fs.ReadFile(migrate.FS, names[i])
		wantName := strings.TrimSuffix(names[i][15:], ".sql")
		if rec.Version != names[i][:14] || rec.Name != wantName {
			t.Errorf("row %d: got %s_%s, want %s", i, rec.Version, rec.Name, names[i])
		}
		if len(rec.Statements) != 1 || rec.Statements[0] != string(body) {
			t.Errorf("%s: statements do not hold the file", names[i])
		}
	}
}

// The SQL itself must survive being run twice, for people who paste it into
// the SQL editor or repair the history by hand.
func TestMigrationFilesRerunSafely(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	ctx := testContext(t)
	id := newSesion(t, pool)
	mustCreate(t, pool, "rerun", id)

	names, _ := fs.Glob(migrate.FS, "*.sql")
	sort.Strings(names)
	for _, name := range names {
		body, _ := fs.ReadFile(migrate.FS, name)
		if _, err := pool.Exec(ctx, string(body), pgx.QueryExecModeSimpleProtocol); err != nil {
			t.Fatalf("run %s again: %v", name, err)
		}
	}
	if got := readSession(t, pool, "rerun"); got.SesionID == nil || *got.SesionID != id {
		t.Fatalf("after re-run: got sesion_id %v, want %d", deref(got.SesionID), id)
	}
	var triggers int
	if err := pool.QueryRow(ctx, "select count(*) from pg_trigger where tgrelid = 'public.whatsapp_sessions'::regclass and not tgisinternal").Scan(&triggers); err != nil {
		t.Fatal(err)
	}
	if triggers != 4 {
		t.Fatalf("got %d triggers on whatsapp_sessions, want 4", triggers)
	}
}

func TestApplyConcurrently(t *testing.T) {
	t.Parallel()
	pool := newEmptyDatabase(t)
	ctx := testContext(t)

	const appliers = 8
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		applied []string
		errs    []error
	)
	start := make(chan struct{})
	for range appliers {
		wg.Go(func() {
			<-start
			got, err := migrate.Apply(ctx, pool)
			mu.Lock()
			defer mu.Unlock()
			applied = append(applied, got...)
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	close(start)
	wg.Wait()

	for _, err := range errs {
		t.Errorf("Apply: %v", err)
	}
	sort.Strings(applied)
	if want := versions(t); !slices.Equal(applied, want) {
		t.Fatalf("applied across %d callers: got %v, want each of %v exactly once", appliers, applied, want)
	}
	// The lock must be released: one more Apply, on whichever connection
	// the pool hands out, gets it at once.
	if again := mustApply(t, pool); len(again) != 0 {
		t.Fatalf("Apply after the race: got %v, want nothing", again)
	}
}

func TestApplyStopsAtABrokenMigration(t *testing.T) {
	t.Parallel()
	pool := newEmptyDatabase(t)
	ctx := testContext(t)
	files := fstest.MapFS{
		"20260101000001_good.sql":   {Data: []byte("create table public.good (id int);\n")},
		"20260101000002_broken.sql": {Data: []byte("create table public.half (id int);\n\nselect 1;\ncreate tabel public.typo (id int);\n")},
		"20260101000003_after.sql":  {Data: []byte("create table public.after (id int);\n")},
	}

	applied, err := migrate.ApplyFS(ctx, pool, files)
	if !slices.Equal(applied, []string{"20260101000001"}) {
		t.Fatalf("applied: got %v, want only 20260101000001", applied)
	}
	if err == nil || !strings.Contains(err.Error(), "20260101000002_broken.sql, line 4") || sqlState(err) != "42601" {
		t.Fatalf("got error %v, want a 42601 naming 20260101000002_broken.sql, line 4", err)
	}
	// The broken file is rolled back whole and not recorded; later files wait.
	for table, want := range map[string]bool{"good": true, "half": false, "after": false} {
		var exists bool
		if err := pool.QueryRow(ctx, "select to_regclass('public.' || $1) is not null", table).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists != want {
			t.Errorf("table %s exists: got %v, want %v", table, exists, want)
		}
	}
	if n := count(t, pool, "select count(*) from supabase_migrations.schema_migrations"); n != 1 {
		t.Fatalf("schema_migrations: got %d rows, want 1", n)
	}

	// Once fixed, the next run picks up where the last one stopped.
	files["20260101000002_broken.sql"] = &fstest.MapFile{Data: []byte("create table public.half (id int);\n")}
	applied, err = migrate.ApplyFS(ctx, pool, files)
	if err != nil || !slices.Equal(applied, []string{"20260101000002", "20260101000003"}) {
		t.Fatalf("after the fix: got %v, %v; want 20260101000002 and 20260101000003", applied, err)
	}
}

func TestApplyRefusesBadFileNames(t *testing.T) {
	t.Parallel()
	pool := newEmptyDatabase(t)
	tests := []struct {
		name  string
		files fstest.MapFS
	}{
		{"no version", fstest.MapFS{"init.sql": {Data: []byte("select 1;")}}},
		{"short version", fstest.MapFS{"2026_init.sql": {Data: []byte("select 1;")}}},
		{"no name", fstest.MapFS{"20260101000001.sql": {Data: []byte("select 1;")}}},
		{"shared version", fstest.MapFS{
			"20260101000001_a.sql": {Data: []byte("select 1;")},
			"20260101000001_b.sql": {Data: []byte("select 1;")},
		}},
	}
	for _, tt := range tests {
		if _, err := migrate.ApplyFS(testContext(t), pool, tt.files); err == nil {
			t.Errorf("%s: got no error, want the file name refused", tt.name)
		}
	}
	var exists bool
	if err := pool.QueryRow(testContext(t), "select to_regclass('supabase_migrations.schema_migrations') is not null").Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("a refused set of files still touched the database")
	}
}
