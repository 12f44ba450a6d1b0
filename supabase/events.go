package supabase

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/supabase-community/postgrest-go"
)

// EventTable is the session history the database's triggers write: one
// entry per change of a whatsapp_sessions row (see supabase/migrations).
const EventTable = "whatsapp_session_events"

// eventColumns are what the live stream needs of a history entry.
const eventColumns = "id,whatsapp_session_id,row_after"

// SessionEvent is one history entry as the live stream uses it: which
// session changed, and the row after the change (nil when it was deleted).
type SessionEvent struct {
	ID        int64           `json:"id"`
	SessionID int64           `json:"whatsapp_session_id"`
	Row       json.RawMessage `json:"row_after"`
}

// Deleted reports whether the entry records the session's deletion.
func (e SessionEvent) Deleted() bool {
	return len(e.Row) == 0 || string(e.Row) == "null"
}

// EventsSince reads, oldest first and at most limit of them, the history
// entries of every session with an id above after or among gaps (ids below
// after that had not committed when last asked). It is the live stream's
// one read per poll for all its streams together.
func (c *Client) EventsSince(ctx context.Context, after int64, gaps []int64, limit int) ([]SessionEvent, error) {
	return c.readEvents(ctx, "events", eventColumns, func(f *postgrest.FilterBuilder) {
		if len(gaps) == 0 {
			f.Gt("id", strconv.FormatInt(after, 10))
		} else {
			ids := make([]string, len(gaps))
			for i, g := range gaps {
				ids[i] = strconv.FormatInt(g, 10)
			}
			f.Or(fmt.Sprintf("id.gt.%d,id.in.(%s)", after, strings.Join(ids, ",")), "")
		}
		f.Order("id", &postgrest.OrderOpts{Ascending: true})
		f.Limit(limit, "")
	})
}

// LatestEvents reads the ids of the newest limit history entries of all
// sessions, newest first: where the live stream starts reading.
func (c *Client) LatestEvents(ctx context.Context, limit int) ([]SessionEvent, error) {
	return c.readEvents(ctx, "events", "id", func(f *postgrest.FilterBuilder) {
		f.Order("id", &postgrest.OrderOpts{Ascending: false})
		f.Limit(limit, "")
	})
}

// SessionEventsAfter reads the history entries of one session with an id
// above after, oldest first, at most limit of them. A session's entries
// are in commit order: its writes take the row's lock.
func (c *Client) SessionEventsAfter(ctx context.Context, sessionID, after int64, limit int) ([]SessionEvent, error) {
	return c.readEvents(ctx, "session_events", eventColumns, func(f *postgrest.FilterBuilder) {
		f.Eq("whatsapp_session_id", strconv.FormatInt(sessionID, 10))
		f.Gt("id", strconv.FormatInt(after, 10))
		f.Order("id", &postgrest.OrderOpts{Ascending: true})
		f.Limit(limit, "")
	})
}

// LatestSessionEvent reads the id of the newest history entry of one
// session; ok is false when it has none (a row older than the history).
func (c *Client) LatestSessionEvent(ctx context.Context, sessionID int64) (e SessionEvent, ok bool, err error) {
	events, err := c.readEvents(ctx, "session_events", "id", func(f *postgrest.FilterBuilder) {
		f.Eq("whatsapp_session_id", strconv.FormatInt(sessionID, 10))
		f.Order("id", &postgrest.OrderOpts{Ascending: false})
		f.Limit(1, "")
	})
	if err != nil || len(events) == 0 {
		return SessionEvent{}, false, err
	}
	return events[0], true, nil
}

func (c *Client) readEvents(ctx context.Context, op, columns string, build func(*postgrest.FilterBuilder)) (events []SessionEvent, err error) {
	err = c.call(ctx, op, true, func(ctx context.Context) error {
		f := c.rest.From(EventTable).Select(columns, "", false)
		build(f)
		body, _, execErr := f.ExecuteWithContext(ctx)
		if execErr != nil {
			return translate(execErr, sessionNotFound)
		}
		events = events[:0]
		if err := json.Unmarshal(body, &events); err != nil {
			return &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("read %s: %w", EventTable, err)}
		}
		return nil
	})
	return events, err
}
