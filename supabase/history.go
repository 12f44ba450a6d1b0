package supabase

import (
	"context"
	"strings"

	"github.com/supabase-community/postgrest-go"
)

// The writers a history entry names (whatsapp_session_events.source).
const (
	SourceCreate  = "create"  // POST /api/whatsapp_sessions
	SourceWebhook = "webhook" // the orchestrator's webhook
	SourcePatch   = "patch"   // PATCH /api/whatsapp_sessions/{id}
	SourceExpiry  = "expiry"  // the pending-expiry sweep
	SourceDelete  = "delete"  // DELETE /api/whatsapp_sessions/{id}
	SourceOther   = "other"   // anything outside the gateway: dashboard, SQL
)

// Sources lists every source, in the order the documentation names them.
var Sources = []string{SourceCreate, SourceWebhook, SourcePatch, SourceExpiry, SourceDelete, SourceOther}

// HeaderGatewaySource tells the database, through the request headers
// PostgREST passes to it, which of the gateway's operations a write is,
// so the history trigger can record it.
const HeaderGatewaySource = "X-Gateway-Source"

const historyFunction = "whatsapp_session_history"

type sourceKey struct{}

// withSource marks ctx's upstream calls as writes of source.
func withSource(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, sourceKey{}, source)
}

func sourceFrom(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}

// SessionHistory returns the history of WhatsApp session id as a JSON
// array, shaped by a query from ParseHistoryQuery (oldest first unless it
// orders otherwise). A session that never existed, or outside scope, is
// not_found; a deleted one still has its history, read by the owner of
// the sesión it last belonged to.
func (c *Client) SessionHistory(ctx context.Context, scope Scope, id int64, q ListQuery) (Body, error) {
	args := map[string]any{"p_id": id}
	if !scope.All() {
		args["p_owner_column"], args["p_owner"] = scope.column, scope.owner
	}
	return c.fetch(ctx, "history", true, func(ctx context.Context) error {
		// Select then Insert: postgrest-go has no select= on a POST, but
		// both share the query's parameters.
		qb := c.rest.From("rpc/" + historyFunction)
		cols := q.Select
		if len(cols) == 0 {
			cols = HistoryColumns
		}
		qb.Select(strings.Join(cols, ","), "", false)
		f := qb.Insert(args, false, "", "", "")
		applyFilters(f, q.Filters)
		for _, o := range q.Order {
			f.Order(o.Column, &postgrest.OrderOpts{Ascending: !o.Descending, NullsFirst: nullsFirst(o)})
		}
		if len(q.Order) == 0 {
			f.Order("id", &postgrest.OrderOpts{Ascending: true})
		}
		f.Range(q.Offset, q.Offset+q.Limit-1, "")
		_, _, err := f.ExecuteWithContext(ctx)
		return translate(err, sessionNotFound)
	})
}
