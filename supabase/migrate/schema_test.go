package migrate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestConstraints(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	ctx := testContext(t)
	sesionID := newSesion(t, pool)

	// Each case inserts one row whose other columns are valid; want is the
	// SQLSTATE, "" when the row must be accepted.
	tests := []struct {
		name   string
		column string
		value  any
		want   string
	}{
		{"session_id allowed characters", "session_id", "session_1705312200123_abc.DEF:9-x", ""},
		{"session_id 128 characters", "session_id", strings.Repeat("a", 128), ""},
		{"session_id 129 characters", "session_id", strings.Repeat("a", 129), "23514"},
		{"session_id empty", "session_id", "", "23514"},
		{"session_id with a space", "session_id", "abc def", "23514"},
		{"session_id with a slash", "session_id", "abc/def", "23514"},
		{"session_id with a trailing newline", "session_id", "abc\n", "23514"},
		{"session_id with a non-ASCII letter", "session_id", "sesión", "23514"},
		{"session_id null", "session_id", nil, "23502"},
		{"sesion_id that exists", "sesion_id", sesionID, ""},
		{"sesion_id null", "sesion_id", nil, ""},
		{"sesion_id that does not exist", "sesion_id", sesionID + 1000, "23503"},
		{"phone_number 6 digits", "phone_number", "123456", ""},
		{"phone_number 15 digits", "phone_number", "123456789012345", ""},
		{"phone_number null", "phone_number", nil, ""},
		{"phone_number 5 digits", "phone_number", "12345", "23514"},
		{"phone_number 16 digits", "phone_number", "1234567890123456", "23514"},
		{"phone_number with plus", "phone_number", "+5215512345678", "23514"},
		{"phone_number with spaces", "phone_number", "55 1234 5678", "23514"},
		{"phone_number with letters", "phone_number", "55abc45678", "23514"},
		{"status pending", "status", "pending", ""},
		{"status connected", "status", "connected", ""},
		{"status disconnected", "status", "disconnected", ""},
		{"status expired", "status", "expired", ""},
		{"status unknown", "status", "active", "23514"},
		{"status in capitals", "status", "CONNECTED", "23514"},
		{"status null", "status", nil, "23502"},
		{"server_port 1", "server_port", 1, ""},
		{"server_port 65535", "server_port", 65535, ""},
		{"server_port null", "server_port", nil, ""},
		{"server_port 0", "server_port", 0, "23514"},
		{"server_port -1", "server_port", -1, "23514"},
		{"server_port 65536", "server_port", 65536, "23514"},
		{"created_at null", "created_at", nil, "23502"},
		{"updated_at null", "updated_at", nil, "23502"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.column == "session_id" {
				_, err = pool.Exec(ctx, "insert into public.whatsapp_sessions (session_id) values ($1)", tt.value)
			} else {
				sql := fmt.Sprintf("insert into public.whatsapp_sessions (session_id, %s) values ($1, $2)", tt.column)
				_, err = pool.Exec(ctx, sql, fmt.Sprintf("constraint_case_%d", i), tt.value)
			}
			if got := sqlState(err); got != tt.want {
				t.Fatalf("insert %s = %#v: got SQLSTATE %q, want %q (error: %v)", tt.column, tt.value, got, tt.want, err)
			}
		})
	}

	t.Run("session_id unique", func(t *testing.T) {
		mustExec(t, pool, "insert into public.whatsapp_sessions (session_id) values ('twice')")
		_, err := pool.Exec(ctx, "insert into public.whatsapp_sessions (session_id) values ('twice')")
		if got := sqlState(err); got != "23505" {
			t.Fatalf("second insert of the same session_id: got %q, want 23505", got)
		}
	})

	t.Run("status defaults to pending", func(t *testing.T) {
		mustExec(t, pool, "insert into public.whatsapp_sessions (session_id) values ('defaults')")
		got := readSession(t, pool, "defaults")
		if got.Status != "pending" || got.CreatedAt.IsZero() || !got.UpdatedAt.Equal(got.CreatedAt) {
			t.Fatalf("defaults: got status %q created_at %v updated_at %v, want pending and both the insert time", got.Status, got.CreatedAt, got.UpdatedAt)
		}
	})

	t.Run("sesiones estado defaults to inactivo", func(t *testing.T) {
		if got := readSesion(t, pool, newSesion(t, pool)); got.Estado != "inactivo" || got.PhoneNumber != nil {
			t.Fatalf("new sesiones row: got estado %q phone %v, want inactivo and no phone", got.Estado, deref(got.PhoneNumber))
		}
	})
}

func TestDeletingALinkedSesionIsRefused(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	ctx := testContext(t)
	id := newSesion(t, pool)
	mustCreate(t, pool, "linked", id)

	_, err := pool.Exec(ctx, "delete from public.sesiones where id = $1", id)
	if got := sqlState(err); got != "23503" {
		t.Fatalf("delete a sesión that has a WhatsApp session: got %q, want 23503", got)
	}
	if got := readSession(t, pool, "linked"); got.SesionID == nil || *got.SesionID != id {
		t.Fatalf("after the refused delete: got sesion_id %v, want %d", deref(got.SesionID), id)
	}
	mustExec(t, pool, "delete from public.whatsapp_sessions where session_id = 'linked'")
	mustExec(t, pool, "delete from public.sesiones where id = $1", id)
}

func TestUpdatedAtFollowsEveryUpdate(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	mustExec(t, pool, "insert into public.whatsapp_sessions (session_id) values ('stamped')")
	before := readSession(t, pool, "stamped")

	mustExec(t, pool, "update public.whatsapp_sessions set phone_number = '5215512345678' where session_id = 'stamped'")
	after := readSession(t, pool, "stamped")
	if !after.UpdatedAt.After(before.UpdatedAt) {
		t.Fatalf("updated_at: got %v after an update, want later than %v", after.UpdatedAt, before.UpdatedAt)
	}
	if !after.CreatedAt.Equal(before.CreatedAt) {
		t.Fatalf("created_at: got %v, want unchanged %v", after.CreatedAt, before.CreatedAt)
	}

	// A writer cannot choose it.
	mustExec(t, pool, "update public.whatsapp_sessions set updated_at = '2000-01-01' where session_id = 'stamped'")
	forced := readSession(t, pool, "stamped")
	if forced.UpdatedAt.Before(after.UpdatedAt) || forced.UpdatedAt.Year() == 2000 {
		t.Fatalf("updated_at set by hand: got %v, want the time of the update", forced.UpdatedAt)
	}
	if time.Since(forced.UpdatedAt) > time.Minute {
		t.Fatalf("updated_at: got %v, want about now", forced.UpdatedAt)
	}
}

func TestRowLevelSecurityWithoutPolicies(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	for _, table := range []string{"sesiones", "whatsapp_sessions", "whatsapp_session_events"} {
		if !relRowSecurity(t, pool, table) {
			t.Errorf("%s: relrowsecurity is false, want RLS enabled", table)
		}
		if n := count(t, pool, "select count(*) from pg_policy where polrelid = to_regclass('public.' || $1)", table); n != 0 {
			t.Errorf("%s: got %d policies, want none", table, n)
		}
	}
}

func TestEverythingIsCommented(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	ctx := testContext(t)
	for _, table := range []string{"sesiones", "whatsapp_sessions", "whatsapp_session_events"} {
		var comment *string
		if err := pool.QueryRow(ctx, "select obj_description(to_regclass('public.' || $1), 'pg_class')", table).Scan(&comment); err != nil {
			t.Fatal(err)
		}
		if comment == nil || *comment == "" {
			t.Errorf("table %s has no comment", table)
		}
		for _, column := range columns(t, pool, table) {
			if err := pool.QueryRow(ctx, `
				select col_description(a.attrelid, a.attnum) from pg_attribute a
				where a.attrelid = to_regclass('public.' || $1) and a.attname = $2`, table, column).Scan(&comment); err != nil {
				t.Fatal(err)
			}
			if comment == nil || *comment == "" {
				t.Errorf("column %s.%s has no comment", table, column)
			}
		}
	}
	rows, err := pool.Query(ctx, `
		select p.oid::regprocedure::text from pg_proc p
		where p.pronamespace = 'public'::regnamespace and obj_description(p.oid, 'pg_proc') is null`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var fn string
		if err := rows.Scan(&fn); err != nil {
			t.Fatal(err)
		}
		t.Errorf("function %s has no comment", fn)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// Supabase's database linter flags functions whose search_path the caller
// can change; every function here pins it empty and qualifies every name.
func TestFunctionsPinAnEmptySearchPath(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	ctx := testContext(t)
	rows, err := pool.Query(ctx, `
		select p.oid::regprocedure::text, coalesce(array_to_string(p.proconfig, ','), '')
		from pg_proc p where p.pronamespace = 'public'::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var fn, config string
		if err := rows.Scan(&fn, &config); err != nil {
			t.Fatal(err)
		}
		n++
		// Other settings may follow (the expiry function names its writer).
		if !strings.HasPrefix(config+",", `search_path="",`) {
			t.Errorf("%s: got proconfig %q, want search_path=\"\" first", fn, config)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The session and history functions (9), the lifecycle ones (3) and
	// the ownership ones (7): a smaller count means the query missed some.
	if n < 19 {
		t.Errorf("got %d functions in public, want at least 19", n)
	}
}

func TestIndexesForTheDocumentedLookups(t *testing.T) {
	t.Parallel()
	pool := newDatabase(t)
	tests := []struct {
		column string
		unique bool
	}{
		{"session_id", true},
		{"sesion_id", false},
		{"status", false},
	}
	for _, tt := range tests {
		n := count(t, pool, `
			select count(*) from pg_index i
			join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
			where i.indrelid = 'public.whatsapp_sessions'::regclass and i.indnkeyatts = 1
			  and a.attname = $1 and (i.indisunique or not $2)`, tt.column, tt.unique)
		if n != 1 {
			t.Errorf("%s: got %d indexes (unique: %v), want 1", tt.column, n, tt.unique)
		}
	}
}
