package migrate_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wasessions/gateway/supabase/migrate"
	"github.com/wasessions/gateway/supabase/supabasetest"
)

// newEmptyDatabase returns a pool on a fresh database with nothing in it,
// large enough for the tests that race many connections.
func newEmptyDatabase(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	u, err := url.Parse(supabasetest.NewDatabase(tb))
	if err != nil {
		tb.Fatalf("parse database URL: %v", err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "24")
	u.RawQuery = q.Encode()
	return supabasetest.NewPool(tb, u.String())
}

// newDatabase returns a pool on a fresh database with every migration applied.
func newDatabase(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool := newEmptyDatabase(tb)
	mustApply(tb, pool)
	return pool
}

func mustApply(tb testing.TB, pool *pgxpool.Pool) []string {
	tb.Helper()
	applied, err := migrate.Apply(testContext(tb), pool)
	if err != nil {
		tb.Fatalf("Apply: %v", err)
	}
	return applied
}

// testContext bounds every database call of a test, so a lock that is never
// released fails the test instead of hanging it.
func testContext(tb testing.TB) context.Context {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

func mustExec(tb testing.TB, pool *pgxpool.Pool, sql string, args ...any) {
	tb.Helper()
	if _, err := pool.Exec(testContext(tb), sql, args...); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

// newSesion inserts a sesiones row with its defaults and returns its id.
func newSesion(tb testing.TB, pool *pgxpool.Pool) int64 {
	tb.Helper()
	var id int64
	if err := pool.QueryRow(testContext(tb), "insert into public.sesiones default values returning id").Scan(&id); err != nil {
		tb.Fatalf("insert sesiones: %v", err)
	}
	return id
}

// sesion is the part of a sesiones row the gateway writes.
type sesion struct {
	Estado      string
	PhoneNumber *string
	UpdatedAt   time.Time
}

func readSesion(tb testing.TB, pool *pgxpool.Pool, id int64) sesion {
	tb.Helper()
	var s sesion
	err := pool.QueryRow(testContext(tb),
		"select estado, phone_number, updated_at from public.sesiones where id = $1", id).
		Scan(&s.Estado, &s.PhoneNumber, &s.UpdatedAt)
	if err != nil {
		tb.Fatalf("read sesiones %d: %v", id, err)
	}
	return s
}

// session is a whatsapp_sessions row as PostgREST (and the functions) render it.
type session = supabasetest.Session

// same reports whether two renderings of a row hold the same values.
func same(a, b session) bool { return reflect.DeepEqual(a, b) }

// result is what both RPC functions return.
type result struct {
	Outcome string  `json:"outcome"`
	Session session `json:"session"`
}

// readSession returns the stored row for sessionID, rendered as the
// functions render it, so the two can be compared field by field.
func readSession(tb testing.TB, pool *pgxpool.Pool, sessionID string) session {
	tb.Helper()
	var raw []byte
	err := pool.QueryRow(testContext(tb),
		"select to_jsonb(w) from public.whatsapp_sessions w where session_id = $1", sessionID).Scan(&raw)
	if err != nil {
		tb.Fatalf("read whatsapp_sessions %q: %v", sessionID, err)
	}
	var s session
	if err := json.Unmarshal(raw, &s); err != nil {
		tb.Fatalf("decode whatsapp_sessions row %s: %v", raw, err)
	}
	return s
}

// rpc calls a function the way PostgREST does: every argument by name.
func rpc(ctx context.Context, pool *pgxpool.Pool, function string, args map[string]any) (result, error) {
	names := make([]string, 0, len(args))
	for name := range args {
		names = append(names, name)
	}
	sort.Strings(names)
	params := make([]string, len(names))
	values := make([]any, len(names))
	for i, name := range names {
		params[i] = name + " => $" + strconv.Itoa(i+1)
		values[i] = args[name]
	}
	sql := fmt.Sprintf("select public.%s(%s)", function, strings.Join(params, ", "))
	var raw []byte
	if err := pool.QueryRow(ctx, sql, values...).Scan(&raw); err != nil {
		return result{}, err
	}
	var r result
	if err := json.Unmarshal(raw, &r); err != nil {
		return result{}, fmt.Errorf("decode %s: %w", raw, err)
	}
	return r, nil
}

func createSession(ctx context.Context, pool *pgxpool.Pool, sessionID string, sesionID int64) (result, error) {
	return rpc(ctx, pool, "create_whatsapp_session", map[string]any{"p_session_id": sessionID, "p_sesion_id": sesionID})
}

// connected calls the webhook function with p_session_id and the given
// optional arguments (named without their p_ prefix).
func connected(ctx context.Context, pool *pgxpool.Pool, sessionID string, args map[string]any) (result, error) {
	named := map[string]any{"p_session_id": sessionID}
	for k, v := range args {
		named["p_"+k] = v
	}
	return rpc(ctx, pool, "whatsapp_session_connected", named)
}

func mustCreate(tb testing.TB, pool *pgxpool.Pool, sessionID string, sesionID int64) result {
	tb.Helper()
	r, err := createSession(testContext(tb), pool, sessionID, sesionID)
	if err != nil {
		tb.Fatalf("create_whatsapp_session(%q, %d): %v", sessionID, sesionID, err)
	}
	return r
}

func mustConnect(tb testing.TB, pool *pgxpool.Pool, sessionID string, args map[string]any) result {
	tb.Helper()
	r, err := connected(testContext(tb), pool, sessionID, args)
	if err != nil {
		tb.Fatalf("whatsapp_session_connected(%q, %v): %v", sessionID, args, err)
	}
	return r
}

// pgError returns err's PostgreSQL error, or nil when it is not one.
func pgError(err error) *pgconn.PgError {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr
	}
	return nil
}

// sqlState returns err's SQLSTATE, "" for no error, or "not a PostgreSQL
// error" so that a mismatch reads clearly.
func sqlState(err error) string {
	if err == nil {
		return ""
	}
	if pgErr := pgError(err); pgErr != nil {
		return pgErr.Code
	}
	return "not a PostgreSQL error: " + err.Error()
}

// wantInvalidTransition fails unless err is the refusal the gateway maps to
// 409 invalid_transition.
func wantInvalidTransition(tb testing.TB, err error, from, to string) {
	tb.Helper()
	pgErr := pgError(err)
	if pgErr == nil {
		tb.Fatalf("%s -> %s: got error %v, want SQLSTATE PT409", from, to, err)
	}
	want := fmt.Sprintf("cannot change status from %s to %s", from, to)
	if pgErr.Code != "PT409" || pgErr.Hint != "invalid_transition" || pgErr.Message != want {
		tb.Fatalf("%s -> %s: got code %q hint %q message %q, want PT409, invalid_transition, %q",
			from, to, pgErr.Code, pgErr.Hint, pgErr.Message, want)
	}
}

// columns lists the columns of public.<table>.
func columns(tb testing.TB, pool *pgxpool.Pool, table string) []string {
	tb.Helper()
	rows, err := pool.Query(testContext(tb), `
		select column_name::text from information_schema.columns
		where table_schema = 'public' and table_name = $1 order by ordinal_position`, table)
	if err != nil {
		tb.Fatalf("columns of %s: %v", table, err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		tb.Fatalf("columns of %s: %v", table, err)
	}
	return names
}

// count runs a query that returns one number.
func count(tb testing.TB, pool *pgxpool.Pool, sql string, args ...any) int {
	tb.Helper()
	var n int
	if err := pool.QueryRow(testContext(tb), sql, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}

func relRowSecurity(tb testing.TB, pool *pgxpool.Pool, table string) bool {
	tb.Helper()
	var on bool
	err := pool.QueryRow(testContext(tb),
		"select relrowsecurity from pg_class where oid = to_regclass('public.' || $1)", table).Scan(&on)
	if err != nil {
		tb.Fatalf("relrowsecurity of %s: %v", table, err)
	}
	return on
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
