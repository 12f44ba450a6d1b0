package handlers

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/wasessions/gateway/supabase"
)

// SessionStore is what the handlers need from storage. *supabase.Client
// satisfies it. Every frontend operation runs within the caller's scope:
// the sessions they own, or all of them (see scopeOf).
type SessionStore interface {
	ListSessions(ctx context.Context, scope supabase.Scope, q supabase.ListQuery) (supabase.Body, error)
	GetSession(ctx context.Context, scope supabase.Scope, id int64) (supabase.Body, error)
	CreateSession(ctx context.Context, scope supabase.Scope, s supabase.NewSession) (supabase.Result, error)
	UpdateSession(ctx context.Context, scope supabase.Scope, id int64, p supabase.SessionPatch) (supabase.Body, error)
	DeleteSession(ctx context.Context, scope supabase.Scope, id int64) error
	ApplyConnection(ctx context.Context, c supabase.Connection) (supabase.Result, error)
}

var _ SessionStore = (*supabase.Client)(nil)

// deletedMessage is the original API's confirmation text, kept verbatim.
const deletedMessage = "Sesión de WhatsApp eliminada correctamente"

func createSession(store SessionStore, bodyLimit int64) echo.HandlerFunc {
	return func(c echo.Context) error {
		body, err := readBody(c, bodyLimit)
		if err != nil {
			return err
		}
		var in supabase.NewSession
		if err := decodeStrict(body, &in); err != nil {
			return err
		}
		if err := in.Validate(); err != nil {
			return err
		}
		res, err := store.CreateSession(c.Request().Context(), scopeOf(c), in)
		if err != nil {
			return err
		}
		return writeRaw(c, http.StatusCreated, res.Session)
	}
}

func listSessions(store SessionStore, maxLimit int, out bodyWriter) echo.HandlerFunc {
	return func(c echo.Context) error {
		params, err := strictQuery(c)
		if err != nil {
			return err
		}
		q, err := supabase.ParseListQuery(params, maxLimit)
		if err != nil {
			return err
		}
		rows, err := store.ListSessions(c.Request().Context(), scopeOf(c), q)
		if err != nil {
			return err
		}
		return out.write(c, http.StatusOK, rows)
	}
}

func getSession(store SessionStore, out bodyWriter) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := parseID(c)
		if err != nil {
			return err
		}
		row, err := store.GetSession(c.Request().Context(), scopeOf(c), id)
		if err != nil {
			return err
		}
		return out.write(c, http.StatusOK, row)
	}
}

func updateSession(store SessionStore, bodyLimit int64, out bodyWriter) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := parseID(c)
		if err != nil {
			return err
		}
		body, err := readBody(c, bodyLimit)
		if err != nil {
			return err
		}
		var patch supabase.SessionPatch
		if err := decodeStrict(body, &patch); err != nil {
			return err
		}
		if err := patch.Validate(); err != nil {
			return err
		}
		row, err := store.UpdateSession(c.Request().Context(), scopeOf(c), id, patch)
		if err != nil {
			return err
		}
		return out.write(c, http.StatusOK, row)
	}
}

func deleteSession(store SessionStore) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := parseID(c)
		if err != nil {
			return err
		}
		if err := store.DeleteSession(c.Request().Context(), scopeOf(c), id); err != nil {
			return err
		}
		return writeData(c, http.StatusOK, map[string]string{"message": deletedMessage})
	}
}
