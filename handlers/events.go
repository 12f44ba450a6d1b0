package handlers

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
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
	Subscribe(ctx context.Context, sessionID int64) (*live.Subscription, error)
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
	// streamWriteTimeout bounds each write to a stream: a client that
	// takes longer to accept a few hundred bytes is gone.
	streamWriteTimeout = 10 * time.Second
	// reconnectAfter is the retry: hint on shutdown or when a stream fell
	// behind, plus up to as much again at random so that the clients of a
	// replica do not all come back at the same instant.
	reconnectAfter = time.Second
	// fullRetryAfter is the Retry-After, in seconds, of a 503 at the cap.
	fullRetryAfter = "5"
	// replayPage is how many missed entries one history read brings.
	replayPage = 500
)

// sessionEvents is GET /api/whatsapp_sessions/{id}/events: the session's
// row, then its every change, as Server-Sent Events. Everything that can
// fail with a normal answer (bad id, unknown session, the cap) fails
// before the stream starts.
func sessionEvents(store SessionStore, history EventHistory, streams Streams, heartbeat time.Duration, log *zap.Logger) echo.HandlerFunc {
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
		// Subscribe before reading the snapshot, so nothing written in
		// between is lost; an entry the snapshot already shows is skipped
		// by its id.
		sub, err := streams.Subscribe(ctx, id)
		if errors.Is(err, live.ErrFull) || errors.Is(err, live.ErrClosed) {
			c.Response().Header().Set("Retry-After", fullRetryAfter)
			return supabase.Errorf(supabase.CodeUnavailable, "this server has no room for another live stream; retry after the Retry-After seconds")
		}
		if err != nil {
			return err
		}
		defer sub.Close()

		var opening []supabase.SessionEvent
		if resume {
			opening, err = missedEvents(ctx, store, history, id, lastID)
		} else {
			opening, err = snapshot(ctx, store, history, id)
		}
		if err != nil {
			return err
		}

		w := live.NewEventWriter(c.Response(), streamWriteTimeout)
		if err := w.Start(); err != nil {
			return nil
		}
		s := stream{w: w, last: lastID}
		for _, e := range opening {
			if !s.send(e) {
				return nil
			}
		}
		return s.follow(ctx, sub, heartbeat, expiryOf(c), requestLogger(c, log))
	}
}

// snapshot is the opening of a new stream: the session's current row,
// under the id of its newest history entry. That entry is read first: a
// change landing between the two reads is then sent again rather than lost.
func snapshot(ctx context.Context, store SessionStore, history EventHistory, id int64) ([]supabase.SessionEvent, error) {
	latest, _, err := history.LatestSessionEvent(ctx, id)
	if err != nil {
		return nil, err
	}
	row, err := store.GetSession(ctx, id)
	if err != nil {
		return nil, err
	}
	return []supabase.SessionEvent{{ID: latest.ID, SessionID: id, Row: row}}, nil
}

// missedEvents is the opening of a resumed stream: the entries after the
// client's Last-Event-ID. A session deleted meanwhile still answers, with
// the entries up to its deletion, so the client learns it was deleted.
func missedEvents(ctx context.Context, store SessionStore, history EventHistory, id, after int64) ([]supabase.SessionEvent, error) {
	_, getErr := store.GetSession(ctx, id)
	if getErr != nil && supabase.ErrorCode(getErr) != supabase.CodeNotFound {
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

// stream is one open stream: where it stands, and its writer.
type stream struct {
	w    *live.EventWriter
	last int64 // id of the last entry sent
}

// send writes e unless it was sent already; false means the stream is
// over (written to the end, or the client is gone).
func (s *stream) send(e supabase.SessionEvent) bool {
	if e.ID != 0 && e.ID <= s.last {
		return true
	}
	s.last = max(s.last, e.ID)
	if e.Deleted() {
		_ = s.w.Event(e.ID, "deleted", []byte(`{"id":`+strconv.FormatInt(e.SessionID, 10)+`}`))
		return false
	}
	return s.w.Event(e.ID, "session", e.Row) == nil
}

// follow sends the subscription's entries as they come, a ping every
// heartbeat, and ends the stream when the client leaves, the token
// expires, the session is deleted or the broker ends the subscription.
// It runs on the request's own goroutine: an idle stream costs no other.
func (s *stream) follow(ctx context.Context, sub *live.Subscription, heartbeat time.Duration, expires time.Time, log *zap.Logger) error {
	ping := time.NewTicker(heartbeat)
	defer ping.Stop()
	var expired <-chan time.Time
	if !expires.IsZero() {
		t := time.NewTimer(time.Until(expires))
		defer t.Stop()
		expired = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-sub.Events():
			if !s.send(e) {
				return nil
			}
		case <-ping.C:
			if s.w.Comment("ping") != nil {
				return nil
			}
		case <-expired:
			_ = s.w.Comment("access token expired")
			return nil
		case <-sub.Ended():
			log.Debug("live stream ended by the server", zap.Error(sub.Err()))
			jitter := time.Duration(rand.Int64N(int64(reconnectAfter)))
			_ = s.w.Retry(reconnectAfter + jitter)
			return nil
		}
	}
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
func requireStreamUser(verifier TokenVerifier, log *zap.Logger) echo.MiddlewareFunc {
	user := requireUser(verifier, log)
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
			if strings.Contains(c.Request().URL.RawQuery, queryTokenParam) && c.Path() != eventsPath && c.QueryParams().Has(queryTokenParam) {
				return &supabase.Error{Code: supabase.CodeInvalidRequest, Message: "access_token in the query is accepted only by GET /api/whatsapp_sessions/{id}/events; send Authorization: Bearer <token>", Details: map[string]string{"parameter": queryTokenParam}}
			}
			return next(c)
		}
	}
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
