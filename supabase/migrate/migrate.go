// Package migrate applies the schema's Supabase CLI migrations
// (supabase/migrations/*.sql) to a local database. Those files are the
// single source of the schema: `supabase db push` applies them to a
// Supabase project, and Apply applies the very same files in local mode and
// in tests, recording them where the Supabase CLI does, so either tool sees
// what the other applied.
package migrate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wasessions/gateway/supabase"
)

// FS holds the migration files, named like the Supabase CLI names them:
// <14-digit version>_<name>.sql.
var FS = supabase.Migrations()

// lockKey identifies the advisory lock Apply holds while it works, so that
// replicas starting together and tests sharing a database take turns.
// Advisory locks are per database; the value only has to be unlikely to
// collide with another application's lock in the same database.
const lockKey int64 = 0x7761_7365_7373_6d67 // "wasessmg"

// fileName is the Supabase CLI's migration file naming.
var fileName = regexp.MustCompile(`^([0-9]{14})_([A-Za-z0-9_]+)\.sql$`)

// migration is one file of FS.
type migration struct {
	version string // the 14-digit prefix, the key in schema_migrations
	name    string // the rest of the file name, without .sql
	sql     string
}

func (m migration) file() string { return m.version + "_" + m.name + ".sql" }

// historyDDL creates the Supabase CLI's history table the way the CLI does
// (create, then add columns), so it coexists with a table the CLI made.
const historyDDL = `
create schema if not exists supabase_migrations;
create table if not exists supabase_migrations.schema_migrations (version text not null primary key);
alter table supabase_migrations.schema_migrations add column if not exists statements text[];
alter table supabase_migrations.schema_migrations add column if not exists name text;
`

// Apply runs, in file-name order, every migration not yet recorded in
// supabase_migrations.schema_migrations, each in its own transaction, under
// a PostgreSQL advisory lock so that replicas and parallel tests cannot
// race. It returns the versions it applied, none when the database is
// already current. A migration that fails is rolled back and stops the run;
// the ones before it stay applied.
func Apply(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	return apply(ctx, pool, FS)
}

// apply is Apply for the migrations in fsys; tests hand it broken files.
func apply(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) ([]string, error) {
	all, err := load(fsys)
	if err != nil {
		return nil, err
	}

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: connect: %w", err)
	}
	defer conn.Release()

	// A session-level lock, because it must outlive the per-migration
	// transactions. It is released before the connection goes back to the
	// pool; if that fails the connection is closed, which releases it too.
	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", lockKey); err != nil {
		return nil, fmt.Errorf("migrations: wait for the migration lock: %w", err)
	}
	defer func() {
		unlockCtx := context.WithoutCancel(ctx)
		if _, err := conn.Exec(unlockCtx, "select pg_advisory_unlock($1)", lockKey); err != nil {
			_ = conn.Conn().Close(unlockCtx)
		}
	}()

	if _, err := conn.Exec(ctx, historyDDL); err != nil {
		return nil, fmt.Errorf("migrations: create supabase_migrations.schema_migrations: %w", err)
	}
	done, err := appliedVersions(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}

	var applied []string
	for _, m := range all {
		if done[m.version] {
			continue
		}
		if err := applyOne(ctx, conn.Conn(), m); err != nil {
			return applied, err
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}

// load reads the migrations of fsys in the order the Supabase CLI applies
// them: by file name, which begins with the version.
func load(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: list files: %w", err)
	}
	sort.Strings(names)
	all := make([]migration, 0, len(names))
	seen := make(map[string]string, len(names))
	for _, name := range names {
		parts := fileName.FindStringSubmatch(path.Base(name))
		if parts == nil {
			return nil, fmt.Errorf("migrations: %s is not named <14-digit version>_<name>.sql", name)
		}
		if other, ok := seen[parts[1]]; ok {
			return nil, fmt.Errorf("migrations: %s and %s share version %s", other, name, parts[1])
		}
		seen[parts[1]] = name
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("migrations: read %s: %w", name, err)
		}
		all = append(all, migration{version: parts[1], name: parts[2], sql: string(body)})
	}
	return all, nil
}

func appliedVersions(ctx context.Context, conn *pgx.Conn) (map[string]bool, error) {
	rows, err := conn.Query(ctx, "select version from supabase_migrations.schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrations: read applied versions: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("migrations: read applied versions: %w", err)
	}
	done := make(map[string]bool, len(versions))
	for _, v := range versions {
		done[v] = true
	}
	return done, nil
}

// applyOne runs one file and records it, in one transaction, so a file is
// either applied and recorded or neither. The file goes in as one
// simple-protocol query, which is how a file of many statements (and
// dollar-quoted function bodies) reaches the server intact. It is recorded
// as a single statement: the CLI only replays or prints statements, and the
// whole file is a faithful one.
func applyOne(ctx context.Context, conn *pgx.Conn, m migration) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrations: apply %s: begin: %w", m.file(), err)
	}
	// After a commit this does nothing; after a failure it must still run
	// when ctx is what failed.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	if _, err := tx.Exec(ctx, m.sql, pgx.QueryExecModeSimpleProtocol); err != nil {
		return describe(m, err)
	}
	if _, err := tx.Exec(ctx,
		"insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)",
		m.version, m.name, []string{m.sql}); err != nil {
		return fmt.Errorf("migrations: record %s: %w", m.file(), err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrations: apply %s: commit: %w", m.file(), err)
	}
	return nil
}

// describe names the file and, when PostgreSQL says where in it the error
// is, the line, so a broken migration can be found without a debugger.
func describe(m migration, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Position > 0 {
		return fmt.Errorf("migrations: apply %s, line %d: %w", m.file(), lineAt(m.sql, int(pgErr.Position)), err)
	}
	return fmt.Errorf("migrations: apply %s: %w", m.file(), err)
}

// lineAt turns PostgreSQL's error position (1-based, in characters) into a
// 1-based line number of sql.
func lineAt(sql string, position int) int {
	line, chars := 1, 0
	for _, r := range sql {
		chars++
		if chars >= position {
			break
		}
		if r == '\n' {
			line++
		}
	}
	return line
}
