package supabase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/supabase-community/postgrest-go"
)

// ownerEmbed joins each session to its sesiones row through the foreign key
// named in supabase/migrations, as an empty inner embed: rows whose sesión
// fails the owner filter are dropped, and the rows keep their shape.
const ownerEmbed = "sesiones!whatsapp_sessions_sesion_id_fkey!inner()"

// Scope says whose sessions an operation may see and change. The zero
// Scope is every session: ownership is off, or the caller is an operator.
type Scope struct {
	column string // owner column of sesiones; empty for every session
	owner  string // the user's id, canonical
}

// Everyone is the Scope of every session.
var Everyone = Scope{}

// All reports whether s covers every session.
func (s Scope) All() bool { return s.column == "" }

// read starts a read of the given columns (all when empty, with a count
// when asked) within s: for a
// user, the inner embed of the session's sesión and the filter on its
// owner column, which PostgREST ANDs with whatever filters follow, so no
// filter of the caller's can widen it.
func (s Scope) read(from *postgrest.QueryBuilder, columns []string, count string) *postgrest.FilterBuilder {
	sel := "*"
	if len(columns) > 0 {
		sel = strings.Join(columns, ",")
	}
	if s.All() {
		return from.Select(sel, count, false)
	}
	return from.Select(sel+","+ownerEmbed, count, false).Eq("sesiones."+s.column, s.owner)
}

// Ownership is the owner column of the project's sesiones table
// (SESIONES_OWNER_COLUMN); the zero Ownership means sessions have no owner.
type Ownership struct {
	Column string
}

// Enabled reports whether sessions are scoped to their owner.
func (o Ownership) Enabled() bool { return o.Column != "" }

// ErrInvalidOwner means a token's subject is not a user id.
var ErrInvalidOwner = errors.New("the token's subject is not a user id (a UUID)")

// For returns the Scope of user sub (a token's "sub"), which must be a
// UUID, as Supabase Auth's user ids are. With ownership off it is Everyone.
func (o Ownership) For(sub string) (Scope, error) {
	if !o.Enabled() {
		return Everyone, nil
	}
	if !uuidPattern.MatchString(sub) {
		return Scope{}, ErrInvalidOwner
	}
	// Lower case, as PostgreSQL prints a uuid, so a text owner column and a
	// uuid one compare alike.
	return Scope{column: o.Column, owner: strings.ToLower(sub)}, nil
}

// uuidPattern is the hyphenated form Supabase Auth writes user ids in.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// ownerColumnTypeFunction answers the type of a sesiones column; see
// supabase/migrations/20261202000003_session_ownership.sql.
const ownerColumnTypeFunction = "whatsapp_sessions_owner_column_type"

// CheckOwnerColumn asks the project, through the Data API, whether
// sesiones has column and whether it can hold a user id (uuid or text).
// The error names the column and says what is wrong.
func (c *Client) CheckOwnerColumn(ctx context.Context, column string) error {
	var typ *string
	err := c.call(ctx, "ready", false, func(ctx context.Context) error {
		body, _, err := c.rest.From("rpc/"+ownerColumnTypeFunction).Insert(map[string]any{"p_column": column}, false, "", "", "").ExecuteWithContext(ctx)
		if err != nil {
			var up *UpstreamError
			if errors.As(err, &up) && up.Code == "PGRST202" {
				return fmt.Errorf("the project lacks the function %s: apply supabase/migrations first", ownerColumnTypeFunction)
			}
			return translate(err, sessionNotFound)
		}
		if err := json.Unmarshal(body, &typ); err != nil {
			return &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("rpc %s: unexpected answer: %w", ownerColumnTypeFunction, err)}
		}
		return nil
	})
	if err != nil {
		return err
	}
	switch {
	case typ == nil:
		return fmt.Errorf("sesiones has no column %q", column)
	case *typ != "uuid" && *typ != "text" && !strings.HasPrefix(*typ, "character varying"):
		return fmt.Errorf("sesiones.%s is %s; it must be uuid or text to hold a user id", column, *typ)
	}
	return nil
}
