package supabase

import (
	"embed"
	"io/fs"
)

// migrationFiles embeds the schema's SQL. The Supabase CLI owns
// supabase/migrations/ (it reads every file there as a migration), so the
// Go that applies them locally lives beside it, in supabase/migrate, and
// reaches the files through Migrations.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations returns the files of supabase/migrations, named as the
// Supabase CLI names them: <14-digit version>_<name>.sql.
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded at build time
	}
	return sub
}

// seedSQL is supabase/seed.sql: sample data for local runs, which the
// Supabase CLI also loads on `supabase db reset`.
//
//go:embed seed.sql
var seedSQL string

// Seed returns the SQL of supabase/seed.sql. Local mode runs it after the
// migrations; it is never part of them.
func Seed() string { return seedSQL }
