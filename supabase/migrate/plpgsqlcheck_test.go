package migrate_test

import (
	"testing"
)

// Supabase's `db lint` runs plpgsql_check on plain functions only: a
// trigger function needs the table it fires on. This checks every trigger
// function of the schema with its table, at plpgsql_check's strictest
// useful level (extra, performance and security warnings), and expects
// nothing. It needs the plpgsql_check extension (Debian's
// postgresql-NN-plpgsql-check, which `make test` installs).
func TestPLpgSQLCheckFindsNothing(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	ctx := testContext(t)
	if count(t, pool, "select count(*) from pg_available_extensions where name = 'plpgsql_check'") == 0 {
		t.Skip("plpgsql_check is not installed; `make test` installs it")
	}
	mustExec(t, pool, "create extension if not exists plpgsql_check")

	rows, err := pool.Query(ctx, `
		select p.oid::regprocedure::text, tg.tgrelid::regclass::text, r.level, r.message, coalesce(r.lineno, 0)
		from pg_proc p
		join pg_language l on l.oid = p.prolang and l.lanname = 'plpgsql'
		join lateral (
		  select t.tgrelid from pg_trigger t where t.tgfoid = p.oid and not t.tgisinternal limit 1
		) tg on true
		cross join lateral plpgsql_check_function_tb(p.oid, tg.tgrelid,
		  extra_warnings => true, performance_warnings => true, security_warnings => true) r
		where p.pronamespace = 'public'::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var fn, rel, level, message string
		var line int
		if err := rows.Scan(&fn, &rel, &level, &message, &line); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s (on %s) line %d: %s: %s", fn, rel, line, level, message)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// Every trigger function was checked with its table.
	if n := count(t, pool, `
		select count(*) from pg_proc p join pg_trigger t on t.tgfoid = p.oid and not t.tgisinternal
		where p.pronamespace = 'public'::regnamespace`); n < 4 {
		t.Errorf("got %d trigger functions, want at least the 4 of whatsapp_sessions", n)
	}
}
