package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/auth"
	"github.com/wasessions/gateway/live"
	"github.com/wasessions/gateway/supabase"
)

// Streams is what the live status route needs from the replica's broker;
// *live.Broker satisfies it.
type Streams interface {
	Open(ctx context.Context, sessionID int64) (*live.Stream, error)
	Poke()
}

var _ Streams = (*live.Broker)(nil)

// EventHistory reads one session's history entries; *supabase.Client
// satisfies it.
type EventHistory interface {
	LatestSessionEvent(ctx context.Context, sessionID int64) (supabase.SessionEvent, bool, error)
	SessionEventsAfter(ctx context.Context, sessionID, after int64, limit int) ([]supabase.SessionEvent, error)
}

var _ EventHistory = (*supabase.Client)(nil)

const (
	// eventsPath is the live status route.
	eventsPath = "/api/whatsapp_sessions/:id/events"
	// queryTokenParam carries the access token of browsers' EventSource,
	// which cannot send headers; only the live status route accepts it.
	queryTokenParam = "access_token"
	// fullRetryAfter is the Retry-After, in seconds, of a 503 at the cap.
	fullRetryAfter = "5"
	// replayPage is how many missed entries one history read brings.
	replayPage = 500
)

// sessionEvents is GET /api/whatsapp_sessions/{id}/events: the session's
// row, then its every change, as Server-Sent Events. Everything that can
// fail with a normal answer (bad id, unknown session, the cap) fails
// before the stream starts. Then the connection is handed to the broker's
// stream and the handler returns: an idle stream keeps neither the HTTP
// server's goroutine nor its buffers.
func sessionEvents(store SessionStore, history EventHistory, streams Streams) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := parseID(c)
		if err != nil {
			return err
		}
		lastID, resume, err := lastEventID(c.Request().Header)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		// Open before reading the snapshot, so nothing written in between
		// is lost; an entry the snapshot already shows is skipped by its id.
		st, err := streams.Open(ctx, id)
		if errors.Is(err, live.ErrFull) || errors.Is(err, live.ErrClosed) {
			c.Response().Header().Set("Retry-After", fullRetryAfter)
			return supabase.Errorf(supabase.CodeUnavailable, "this server has no room for another live stream; retry after the Retry-After seconds")
		}
		if err != nil {
			return err
		}
		attached := false
		defer func() {
			if !attached {
				st.Close()
			}
		}()

		scope := scopeOf(c)
		var opening []supabase.SessionEvent
		if resume {
			opening, err = missedEvents(ctx, store, history, scope, id, lastID)
			if err == nil && len(opening) == 0 {
				resume, err = knownEventID(ctx, history, id, lastID)
			}
		}
		if err == nil && !resume {
			lastID = 0
			opening, err = snapshot(ctx, store, history, scope, id)
		}
		if err != nil {
			return err
		}
		conn, _, err := http.NewResponseController(c.Response()).Hijack()
		if err != nil {
			return &supabase.Error{Code: supabase.CodeInternal, Message: "internal error", Err: fmt.Errorf("take over the stream's connection: %w", err)}
		}
		// The server's deadlines were for reading the request; the stream
		// sets its own for each write.
		_ = conn.SetDeadline(time.Time{})
		c.Response().Committed = true
		attached = true
		st.Attach(conn, streamHead(c.Response().Header()), opening, lastID, expiryOf(c))
		return nil
	}
}

// streamHead is the response head of a stream: the headers every answer
// gets (request id, security headers, CORS) and the event-stream ones. The
// body ends when the connection closes.
func streamHead(h http.Header) []byte {
	h = h.Clone()
	h.Set("Content-Type", "text/event-stream")
	// nginx and similar proxies buffer responses unless told not to.
	h.Set("X-Accel-Buffering", "no")
	h.Set("Connection", "close")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	_ = h.Write(&b)
	b.WriteString("\r\n")
	return b.Bytes()
}

// snapshot is the opening of a new stream: the session's current row,
// under the id of its newest history entry. That entry is read first: a
// change landing between the two reads is then sent again rather than lost.
func snapshot(ctx context.Context, store SessionStore, history EventHistory, scope supabase.Scope, id int64) ([]supabase.SessionEvent, error) {
	latest, _, err := history.LatestSessionEvent(ctx, id)
	if err != nil {
		return nil, err
	}
	row, err := readSession(ctx, store, scope, id)
	if err != nil {
		return nil, err
	}
	return []supabase.SessionEvent{{ID: latest.ID, SessionID: id, Row: row}}, nil
}

// readSession reads one session row whole, within the caller's scope.
func readSession(ctx context.Context, store SessionStore, scope supabase.Scope, id int64) ([]byte, error) {
	body, err := store.GetSession(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	if raw, ok := body.Bytes(); ok {
		return bytes.Clone(raw), nil
	}
	var buf bytes.Buffer
	if _, err := body.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// missedEvents is the opening of a resumed stream: the entries after the
// client's Last-Event-ID. A session deleted meanwhile still answers, with
// the entries up to its deletion, so the client learns it was deleted;
// not when sessions are scoped to their owner, since a deleted session's
// owner can no longer be told from a stranger.
func missedEvents(ctx context.Context, store SessionStore, history EventHistory, scope supabase.Scope, id, after int64) ([]supabase.SessionEvent, error) {
	_, getErr := readSession(ctx, store, scope, id)
	if getErr != nil && (supabase.ErrorCode(getErr) != supabase.CodeNotFound || !scope.All()) {
		return nil, getErr
	}
	var missed []supabase.SessionEvent
	for {
		page, err := history.SessionEventsAfter(ctx, id, after, replayPage)
		if err != nil {
			return nil, err
		}
		missed = append(missed, page...)
		if len(page) < replayPage {
			break
		}
		after = page[len(page)-1].ID
	}
	if getErr != nil && (len(missed) == 0 || !missed[len(missed)-1].Deleted()) {
		return nil, getErr
	}
	return missed, nil
}

// knownEventID reports whether after, a Last-Event-ID nothing follows, is
// within the session's history. One beyond it (a restored database, an id
// of another deployment) is no id this stream sent; resuming from it would
// skip every change until the ids caught up, so the stream starts afresh.
// So does a session whose entries were all pruned: its current row is all
// a client can still be given.
func knownEventID(ctx context.Context, history EventHistory, id, after int64) (bool, error) {
	latest, ok, err := history.LatestSessionEvent(ctx, id)
	if err != nil {
		return false, err
	}
	return ok && after <= latest.ID, nil
}

// lastEventID reads the Last-Event-ID a reconnecting client sends: the id
// of the last event it got.
func lastEventID(h http.Header) (id int64, ok bool, err error) {
	v := strings.TrimSpace(h.Get("Last-Event-ID"))
	if v == "" {
		return 0, false, nil
	}
	id, perr := strconv.ParseInt(v, 10, 64)
	if perr != nil || id < 0 {
		return 0, false, &supabase.Error{Code: supabase.CodeInvalidRequest, Message: "Last-Event-ID must be the id of an event this stream sent", Details: map[string]string{"parameter": "Last-Event-ID"}}
	}
	return id, true, nil
}

// expiryOf is when the caller's access token expires.
func expiryOf(c echo.Context) time.Time {
	claims, _ := c.Get(claimsKey).(auth.Claims)
	return claims.ExpiresAt
}

// requireStreamUser is requireUser for the live status route, which also
// takes the token from ?access_token= when no Authorization header is
// sent. The parameter is removed from the request at once, so nothing
// after this (logs, upstream calls) can see it.
func requireStreamUser(verifier TokenVerifier, ownership supabase.Ownership, log *zap.Logger) echo.MiddlewareFunc {
	user := requireUser(verifier, ownership, log)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		checked := user(next)
		return func(c echo.Context) error {
			req := c.Request()
			if q := c.QueryParams(); q.Has(queryTokenParam) {
				token := q.Get(queryTokenParam)
				q.Del(queryTokenParam)
				req.URL.RawQuery = q.Encode()
				req.RequestURI = req.URL.RequestURI()
				if req.Header.Get(echo.HeaderAuthorization) == "" && token != "" {
					req.Header.Set(echo.HeaderAuthorization, "Bearer "+token)
				}
			}
			return checked(c)
		}
	}
}

// refuseQueryToken refuses ?access_token= on every route but the live
// status stream: a token in a URL ends up in browser history and proxy
// logs, so it is taken only where browsers leave no other way.
func refuseQueryToken() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if c.Path() != eventsPath && hasQueryToken(c.Request().URL.RawQuery) {
				return &supabase.Error{Code: supabase.CodeInvalidRequest, Message: "access_token in the query is accepted only by GET /api/whatsapp_sessions/{id}/events; send Authorization: Bearer <token>", Details: map[string]string{"parameter": queryTokenParam}}
			}
			return next(c)
		}
	}
}

// hasQueryToken reports whether raw names access_token in any spelling a
// parser could read: percent-encoded (access%5Ftoken), or in a pair that
// url.ParseQuery drops whole (one with a ';'), which Echo's QueryParams
// would not show.
func hasQueryToken(raw string) bool {
	if !strings.Contains(raw, queryTokenParam) && !strings.Contains(raw, "%") {
		return false // the fast path of nearly every request
	}
	for _, pair := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == ';' }) {
		name, _, _ := strings.Cut(pair, "=")
		if decoded, err := url.QueryUnescape(name); err == nil {
			name = decoded
		}
		if name == queryTokenParam {
			return true
		}
	}
	return false
}

// pokeOnWrite tells the broker, after a write answered with success, that
// this replica changed a session, so its streams hear of it at once rather
// than at the next poll. The write has committed when its answer is ready.
func pokeOnWrite(streams Streams) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			switch c.Request().Method {
			case http.MethodPost, http.MethodPatch, http.MethodDelete:
				if err == nil && c.Response().Status < 300 {
					streams.Poke()
				}
			}
			return err
		}
	}
}
