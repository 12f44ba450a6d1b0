package handlers

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wasessions/gateway/supabase"
)

// HistoryReader reads the recorded history of a WhatsApp session.
// *supabase.Client satisfies it.
type HistoryReader interface {
	SessionHistory(ctx context.Context, scope supabase.Scope, id int64, q supabase.ListQuery) (supabase.Body, error)
}

var _ HistoryReader = (*supabase.Client)(nil)

// sessionHistory serves GET /api/whatsapp_sessions/{id}/history: one entry
// per write that touched the session, oldest first, with the list's
// PostgREST filters and paging.
func sessionHistory(history HistoryReader, maxLimit int, out bodyWriter) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := parseID(c)
		if err != nil {
			return err
		}
		params, err := strictQuery(c)
		if err != nil {
			return err
		}
		q, err := supabase.ParseHistoryQuery(params, maxLimit)
		if err != nil {
			return err
		}
		rows, err := history.SessionHistory(c.Request().Context(), scopeOf(c), id, q)
		if err != nil {
			return err
		}
		return out.write(c, http.StatusOK, rows)
	}
}
