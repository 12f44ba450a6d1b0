package localrest

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
)

// The roles Supabase's Data API switches to: anon and authenticated for
// publishable keys and user tokens, service_role for secret keys.
const (
	roleAnon          = "anon"
	roleAuthenticated = "authenticated"
	roleServiceRole   = "service_role"
)

// prepareSQL gives a plain PostgreSQL database what every Supabase project
// has before its first migration: the three API roles (service_role
// bypasses row level security, as on Supabase), usage of the public
// schema, and default privileges so that tables, sequences and functions
// created afterwards by the migrating user are granted to all three, as
// Supabase grants them. Roles are cluster-wide: databases prepared at the
// same time race to create them, so a role that appears meanwhile is fine.
//
// Within one database, preparations take turns under an advisory lock
// (the statements run as one transaction): concurrent GRANTs on the same
// schema would otherwise fail with "tuple concurrently updated".
const prepareSQL = `
SELECT pg_catalog.pg_advisory_xact_lock(7365686980766882);
DO $prepare$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES ('anon', false), ('authenticated', false), ('service_role', true)) AS v(name, bypass) LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      BEGIN
        EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN NOINHERIT%s', r.name,
          CASE WHEN r.bypass THEN ' BYPASSRLS' ELSE '' END);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL; -- created by a concurrent preparation
      END;
    END IF;
    IF NOT pg_catalog.pg_has_role(current_user, r.name, 'MEMBER') THEN
      BEGIN
        EXECUTE pg_catalog.format('GRANT %I TO %I', r.name, current_user);
      EXCEPTION WHEN OTHERS THEN
        NULL; -- granted concurrently; a missing grant fails at SET ROLE
      END;
    END IF;
  END LOOP;
END
$prepare$;
GRANT USAGE ON SCHEMA public TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
`

// Execer is the one method PrepareDatabase needs; a pgx connection, pool
// or transaction has it.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// PrepareDatabase makes a database look like a fresh Supabase project to
// the schema: run it before the migrations, so their grants and revokes
// act on the same roles and default privileges they meet on Supabase, and
// a missing grant fails here as it would there. It is idempotent and safe
// to run for several databases of one cluster at once.
func PrepareDatabase(ctx context.Context, db Execer) error {
	if _, err := db.Exec(ctx, prepareSQL); err != nil {
		return fmt.Errorf("localrest: prepare database roles and privileges: %w", err)
	}
	return nil
}
