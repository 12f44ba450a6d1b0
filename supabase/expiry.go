package supabase

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// The database functions of the pending-expiry sweep; see
// supabase/migrations/20261202000002_pending_expiry.sql.
const (
	expireFunction = "expire_pending_whatsapp_sessions"
	pruneFunction  = "prune_whatsapp_session_events"
)

// ExpirePendingSessions expires up to limit sessions that have been
// pending for longer than ttl, in one database statement, and returns the
// expired rows (as GET /api/whatsapp_sessions/{id} would render them).
// Concurrent callers, on any number of replicas, expire each session once.
func (c *Client) ExpirePendingSessions(ctx context.Context, ttl time.Duration, limit int) ([]json.RawMessage, error) {
	return callFunction[[]json.RawMessage](ctx, c, "expire", expireFunction, map[string]any{"p_ttl": interval(ttl), "p_limit": limit})
}

// PruneSessionEvents deletes up to limit history entries older than
// retention and returns how many it deleted.
func (c *Client) PruneSessionEvents(ctx context.Context, retention time.Duration, limit int) (int, error) {
	return callFunction[int](ctx, c, "prune", pruneFunction, map[string]any{"p_retention": interval(retention), "p_limit": limit})
}

// callFunction POSTs args to /rpc/<name>, once (it writes), and decodes
// the answer into a T.
func callFunction[T any](ctx context.Context, c *Client, op, name string, args map[string]any) (T, error) {
	var out T
	err := c.call(ctx, op, false, func(ctx context.Context) error {
		body, _, err := c.rest.From("rpc/"+name).Insert(args, false, "", "", "").ExecuteWithContext(ctx)
		if err != nil {
			return translate(err, sessionNotFound)
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return unexpectedAnswer(name, err)
		}
		return nil
	})
	return out, err
}

func unexpectedAnswer(name string, err error) error {
	return &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("rpc %s: unexpected answer (are the migrations applied?): %v", name, err)}
}

// interval writes d as a PostgreSQL interval, to the microsecond.
func interval(d time.Duration) string {
	return strconv.FormatInt(d.Microseconds(), 10) + " microseconds"
}
