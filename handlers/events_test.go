package handlers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/wasessions/gateway/handlers"
	"github.com/wasessions/gateway/live"
	"github.com/wasessions/gateway/supabase"
)

// noPolling leaves only the in-process notification: a change made
// through this gateway must arrive without waiting for a poll.
var noPolling = live.Config{PollInterval: time.Hour}

// idOf is an event's id as a number.
func idOf(tb testing.TB, ev sseEvent) int64 {
	tb.Helper()
	n, err := strconv.ParseInt(ev.ID, 10, 64)
	if err != nil {
		tb.Fatalf("event %+v has no numeric id", ev)
	}
	return n
}

func eventsPath(id int64) string { return "/api/whatsapp_sessions/" + itoa(id) + "/events" }

// latestEntry is the id of the newest history entry of a session.
func (s *stack) latestEntry(tb testing.TB, id int64) string {
	tb.Helper()
	var n int64
	if err := s.Pool.QueryRow(context.Background(), `select max(id) from public.whatsapp_session_events where whatsapp_session_id = $1`, id).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return itoa(n)
}

// wantSessionEvent checks that ev carries the session as GET /{id} shows
// it now, under the id of its newest history entry.
func (s *stack) wantSessionEvent(tb testing.TB, ev sseEvent, id int64) {
	tb.Helper()
	got := s.user(tb, http.MethodGet, "/api/whatsapp_sessions/"+itoa(id), "")
	if ev.Event != "session" || ev.Data != string(got.Data) || ev.ID != s.latestEntry(tb, id) {
		tb.Fatalf("got event %+v, want event session id %s with %s", ev, s.latestEntry(tb, id), got.Data)
	}
}

func TestStreamFollowsChangesMadeThroughTheGateway(t *testing.T) {
	t.Parallel()
	s, _ := newStreamStack(t, noPolling)
	sess := s.create(t, "stream-follow")
	st := s.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token)
	s.wantSessionEvent(t, st.next(t, eventWithin), sess.ID)

	wantStatus(t, s.webhook(t, `{"session_id":"stream-follow","phone_number":"5215512345678"}`), http.StatusOK)
	ev := st.next(t, eventWithin)
	s.wantSessionEvent(t, ev, sess.ID)
	if !strings.Contains(ev.Data, `"status":"connected"`) {
		t.Fatalf("got %s after the webhook, want the connected row", ev.Data)
	}

	wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(sess.ID), `{"status":"disconnected"}`), http.StatusOK)
	ev = st.next(t, eventWithin)
	s.wantSessionEvent(t, ev, sess.ID)

	deleteID, _ := strconv.ParseInt(s.latestEntry(t, sess.ID), 10, 64)
	wantStatus(t, s.user(t, http.MethodDelete, "/api/whatsapp_sessions/"+itoa(sess.ID), ""), http.StatusOK)
	ev = st.next(t, eventWithin)
	if ev.Event != "deleted" || ev.Data != `{"id":`+itoa(sess.ID)+`}` || idOf(t, ev) <= deleteID {
		t.Fatalf("got %+v, want event deleted with {\"id\":%d} after entry %d", ev, sess.ID, deleteID)
	}
	st.ended(t, eventWithin)
}

// historyPolls counts the broker's history reads that reached Supabase so
// far (a stream opening reads only its own session's entries).
func (s *stack) historyPolls() int {
	n := 0
	for _, req := range s.Upstream.requests() {
		if strings.HasSuffix(req.URL.Path, "/whatsapp_session_events") && !strings.Contains(req.URL.RawQuery, "whatsapp_session_id=") {
			n++
		}
	}
	return n
}

// A change made by another writer (another replica, the dashboard, SQL)
// arrives with the next poll. Counted in the broker's polls, not in wall
// time, which a loaded machine stretches: the first poll that reaches
// Supabase after the commit must bring it; a second may start before this
// test has read the event, never a third.
func TestStreamSeesOtherWritersWithinThePollInterval(t *testing.T) {
	t.Parallel()
	const interval = 500 * time.Millisecond
	s, _ := newStreamStack(t, live.Config{PollInterval: interval})
	sess := s.create(t, "stream-sql")
	st := s.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token)
	st.next(t, eventWithin)

	if _, err := s.Pool.Exec(context.Background(), `update public.whatsapp_sessions set server_port = 3005 where id = $1`, sess.ID); err != nil {
		t.Fatal(err)
	}
	committed := s.historyPolls()
	ev := st.next(t, eventWithin)
	if polls := s.historyPolls() - committed; polls > 2 {
		t.Errorf("the change arrived after %d polls, want it with the first poll after the commit", polls)
	}
	s.wantSessionEvent(t, ev, sess.ID)
}

func TestStreamResumesFromLastEventID(t *testing.T) {
	t.Parallel()
	s, _ := newStreamStack(t, live.Config{PollInterval: 50 * time.Millisecond})
	sess := s.create(t, "stream-resume")
	st := s.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token)
	first := st.next(t, eventWithin)
	st.close()

	// Missed while disconnected: two changes through the gateway, one by SQL.
	var missed []string
	for _, change := range []func(){
		func() {
			wantStatus(t, s.webhook(t, `{"session_id":"stream-resume","server_port":3001}`), http.StatusOK)
		},
		func() {
			if _, err := s.Pool.Exec(context.Background(), `update public.whatsapp_sessions set auth_folder_path = '/a' where id = $1`, sess.ID); err != nil {
				t.Fatal(err)
			}
		},
		func() {
			wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(sess.ID), `{"server_port":3002}`), http.StatusOK)
		},
	} {
		change()
		missed = append(missed, s.latestEntry(t, sess.ID))
	}

	st = s.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token, "Last-Event-ID: "+first.ID)
	for _, want := range missed {
		if ev := st.next(t, eventWithin); ev.Event != "session" || ev.ID != want {
			t.Fatalf("got %+v, want the missed entry %s", ev, want)
		}
	}
	st.quiet(t, 300*time.Millisecond) // nothing repeated
	wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(sess.ID), `{"server_port":3003}`), http.StatusOK)
	s.wantSessionEvent(t, st.next(t, eventWithin), sess.ID)
	st.quiet(t, 300*time.Millisecond)
}

// Two writers' transactions commit out of the order of their history ids:
// the one that took the earlier id commits last. A poll for "ids above the
// newest seen" alone would skip it; the stream must still deliver it, once.
func TestStreamDeliversOutOfOrderCommits(t *testing.T) {
	t.Parallel()
	const interval = 100 * time.Millisecond
	s, _ := newStreamStack(t, live.Config{PollInterval: interval})
	slow, fast := s.create(t, "stream-slow"), s.create(t, "stream-fast")
	slowStream := s.openStream(t, eventsPath(slow.ID), "Authorization: Bearer "+s.Token)
	fastStream := s.openStream(t, eventsPath(fast.ID), "Authorization: Bearer "+s.Token)
	slowFirst := slowStream.next(t, eventWithin)
	fastStream.next(t, eventWithin)

	ctx := context.Background()
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, `update public.whatsapp_sessions set server_port = 4001 where id = $1`, slow.ID); err != nil {
		t.Fatal(err)
	}
	var slowEntry int64
	if err := tx.QueryRow(ctx, `select max(id) from public.whatsapp_session_events where whatsapp_session_id = $1`, slow.ID).Scan(&slowEntry); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `update public.whatsapp_sessions set server_port = 4002 where id = $1`, fast.ID); err != nil {
		t.Fatal(err)
	}
	fastEv := fastStream.next(t, eventWithin)
	if idOf(t, fastEv) <= slowEntry {
		t.Fatalf("got the later writer's entry %s, want it above the held one %d", fastEv.ID, slowEntry)
	}
	time.Sleep(2 * interval) // the broker has moved past the held id
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	ev := slowStream.next(t, eventWithin)
	if ev.ID != itoa(slowEntry) || !strings.Contains(ev.Data, `"server_port":4001`) {
		t.Fatalf("got %+v, want the late commit %d", ev, slowEntry)
	}
	slowStream.quiet(t, 3*interval)

	// A client resuming from before both gets the late one too, once.
	st := s.openStream(t, eventsPath(slow.ID), "Authorization: Bearer "+s.Token, "Last-Event-ID: "+slowFirst.ID)
	if ev := st.next(t, eventWithin); ev.ID != itoa(slowEntry) {
		t.Fatalf("resumed: got %+v, want entry %d", ev, slowEntry)
	}
	st.quiet(t, 3*interval)
}

func TestStreamEndsWhenTheTokenExpires(t *testing.T) {
	t.Parallel()
	s, _ := newStreamStack(t, live.Config{PollInterval: time.Hour, Heartbeat: 100 * time.Millisecond})
	sess := s.create(t, "stream-expiry")
	// exp has second precision: a whole second, seconds ahead, so the
	// stream opens and shows its first event well before it, however slow
	// the machine (a token 1.5s from expiry could be opened past its exp,
	// within the verifier's leeway, and end at once).
	exp := time.Now().Add(4 * time.Second).Truncate(time.Second)
	token := tokenFor(t, "user-1", map[string]any{"exp": exp.Unix()})
	st := s.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+token)
	st.next(t, time.Until(exp))
	st.ended(t, time.Until(exp)+eventWithin)
	if ended := time.Now(); ended.Before(exp) {
		t.Fatalf("the stream ended %v before the token's exp, want it open until then", exp.Sub(ended))
	}
}

// Browsers' EventSource cannot send headers: ?access_token= opens the
// stream. Nowhere else is it accepted, and it is never logged or sent on.
func TestStreamAccessTokenParameter(t *testing.T) {
	t.Parallel()
	core, logs := observer.New(zapcore.DebugLevel)
	s, _ := newStreamStack(t, noPolling, func(d *handlers.Deps, _ *supabase.ClientConfig) {
		d.Log = zap.New(core)
	})
	sess := s.create(t, "stream-query-token")
	st := s.openStream(t, eventsPath(sess.ID)+"?access_token="+s.Token)
	s.wantSessionEvent(t, st.next(t, eventWithin), sess.ID)
	st.close()

	wantError(t, s.do(t, http.MethodGet, eventsPath(sess.ID)+"?access_token=not-a-token", ""), http.StatusUnauthorized, "unauthorized")

	id := itoa(sess.ID)
	for _, r := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/whatsapp_sessions", ""},
		{http.MethodGet, "/api/whatsapp_sessions/" + id, ""},
		{http.MethodPatch, "/api/whatsapp_sessions/" + id, `{"server_port":3009}`},
		{http.MethodDelete, "/api/whatsapp_sessions/" + id, ""},
		{http.MethodPost, "/api/whatsapp_sessions", `{"session_id":"query-token-2","sesion_id":` + itoa(s.SesionID) + `}`},
		{http.MethodPost, "/api/whatsapp_sessions/new-session-connected", `{"session_id":"stream-query-token","server_port":3009}`},
	} {
		// Percent-encoded names decode to the same parameter; a pair that
		// Go's query parser drops (a ';') still carries the token.
		for _, query := range []string{"access_token=" + s.Token, "access%5Ftoken=" + s.Token, "%61ccess_token=" + s.Token, "access_token=" + s.Token + ";x"} {
			got := s.do(t, r.method, r.path+"?"+query, r.body)
			wantError(t, got, http.StatusBadRequest, "invalid_request")
			if got.Error.Details["parameter"] != "access_token" && !strings.Contains(query, ";") {
				t.Errorf("%s %s?%.20s: got details %v, want the parameter named", r.method, r.path, query, got.Error.Details)
			}
		}
		// With a valid header too: the parameter alone is refused.
		got := s.do(t, r.method, r.path+"?access_token="+s.Token, r.body, "Authorization: Bearer "+s.Token)
		wantError(t, got, http.StatusBadRequest, "invalid_request")
	}
	if n := s.count(t, `select count(*) from public.whatsapp_sessions where id = $1 and server_port is null`, sess.ID); n != 1 {
		t.Fatal("a refused request changed the session")
	}
	if n := s.count(t, `select count(*) from public.whatsapp_sessions where session_id = 'query-token-2'`); n != 0 {
		t.Fatal("a refused create wrote a row")
	}

	for _, entry := range logs.All() {
		line, _ := json.Marshal(entry.ContextMap())
		if strings.Contains(entry.Message+string(line), s.Token) || strings.Contains(string(line), "not-a-token") {
			t.Errorf("the access token was logged: %s %s", entry.Message, line)
		}
	}
	if logs.Len() == 0 {
		t.Fatal("no log lines captured; the check above proves nothing")
	}
	for _, req := range s.Upstream.requests() {
		if strings.Contains(req.URL.String(), s.Token) || strings.Contains(req.URL.String(), "access_token") {
			t.Errorf("the access token reached Supabase: %s", req.URL)
		}
	}
}

func TestStreamRefusalsBeforeTheStreamStarts(t *testing.T) {
	t.Parallel()
	s, _ := newStreamStack(t, noPolling)
	sess := s.create(t, "stream-refusals")
	wantError(t, s.user(t, http.MethodGet, eventsPath(999999), ""), http.StatusNotFound, "not_found")
	wantError(t, s.user(t, http.MethodGet, "/api/whatsapp_sessions/abc/events", ""), http.StatusBadRequest, "invalid_request")
	wantError(t, s.do(t, http.MethodGet, eventsPath(sess.ID), ""), http.StatusUnauthorized, "unauthorized")
	wantError(t, s.user(t, http.MethodGet, eventsPath(sess.ID), "", "Last-Event-ID: x"), http.StatusBadRequest, "invalid_request")
	// A deleted session is unknown, unless the client resumes from before
	// its deletion: then it learns of the deletion.
	before := s.latestEntry(t, sess.ID)
	wantStatus(t, s.user(t, http.MethodDelete, "/api/whatsapp_sessions/"+itoa(sess.ID), ""), http.StatusOK)
	wantError(t, s.user(t, http.MethodGet, eventsPath(sess.ID), ""), http.StatusNotFound, "not_found")
	st := s.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token, "Last-Event-ID: "+before)
	if ev := st.next(t, eventWithin); ev.Event != "deleted" {
		t.Fatalf("got %+v, want deleted", ev)
	}
	st.ended(t, eventWithin)
}

func TestStreamCapAnswers503(t *testing.T) {
	t.Parallel()
	s, _ := newStreamStack(t, live.Config{PollInterval: time.Hour, MaxClients: 2})
	sess := s.create(t, "stream-cap")
	a := s.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token)
	s.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token)
	r := s.user(t, http.MethodGet, eventsPath(sess.ID), "")
	wantError(t, r, http.StatusServiceUnavailable, "unavailable")
	if r.Header.Get("Retry-After") == "" {
		t.Error("got no Retry-After on the 503")
	}
	a.close()
	deadline := time.Now().Add(2 * time.Second)
	for {
		res := s.requestStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d after a stream closed, want its place free", res.StatusCode)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// An open stream counted once against the client's rate limit, when it
// opened; its pings and events are not requests.
func TestStreamCountsAgainstTheRateLimitOnlyWhenOpened(t *testing.T) {
	t.Parallel()
	s, _ := newStreamStack(t, live.Config{PollInterval: time.Hour, Heartbeat: 20 * time.Millisecond}, func(d *handlers.Deps, _ *supabase.ClientConfig) {
		d.RateLimitRPS, d.RateLimitBurst = 0.001, 3
	})
	sess := s.create(t, "stream-rate") // 1
	st := s.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token)
	st.next(t, eventWithin)
	time.Sleep(200 * time.Millisecond)                                                                   // ten pings
	wantStatus(t, s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(sess.ID), ""), http.StatusOK) // 3
	wantError(t, s.user(t, http.MethodGet, "/api/whatsapp_sessions/"+itoa(sess.ID), ""), http.StatusTooManyRequests, "rate_limited")
}

// The broker makes one history read per interval for all open streams,
// and none with no stream open; opening a stream reads only its session.
func TestStreamOneUpstreamReadPerInterval(t *testing.T) {
	const interval = 100 * time.Millisecond
	const intervals = 10
	s, b := newStreamStack(t, live.Config{PollInterval: interval})
	sess := s.create(t, "stream-reads")
	measure := func() int {
		before := s.historyPolls()
		time.Sleep(intervals * interval)
		return s.historyPolls() - before
	}
	if n := measure(); n != 0 {
		t.Fatalf("no stream open: got %d reads, want none", n)
	}
	for _, streams := range []int{1, 500} {
		var opened []*sseStream
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range streams {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := s.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token)
				st.next(t, eventWithin)
				mu.Lock()
				opened = append(opened, st)
				mu.Unlock()
			}()
		}
		wg.Wait()
		if b.OpenStreams() != streams {
			t.Fatalf("got %d open streams, want %d", b.OpenStreams(), streams)
		}
		// Polling goes on: wait for intervals reads, however long a loaded
		// machine takes, then check they were never more than one per tick
		// of the time that really passed. Two more may count: a read
		// already on its way when the count began, and the tick at the
		// window's edge.
		before, start := s.historyPolls(), time.Now()
		waitFor(t, 30*time.Second, func() bool { return s.historyPolls()-before >= intervals })
		n, elapsed := s.historyPolls()-before, time.Since(start)
		if most := int(elapsed/interval) + 2; n > most {
			t.Errorf("%d streams: got %d history reads in %v, want one per %v interval (at most %d)", streams, n, elapsed, interval, most)
		}
		for _, st := range opened {
			st.close()
		}
	}
	waitFor(t, eventWithin, func() bool { return b.OpenStreams() == 0 })
	// One last read may be on its way: wait until two intervals pass
	// without one.
	waitFor(t, eventWithin, func() bool {
		n := s.historyPolls()
		time.Sleep(2 * interval)
		return s.historyPolls() == n
	})
	if n := measure(); n != 0 {
		t.Fatalf("all streams closed: got %d reads, want none", n)
	}
}

// The server's read and write timeouts, meant for ordinary requests, do
// not cut a stream; the broker's drain on shutdown ends it with a retry
// hint.
func TestStreamOutlivesServerTimeoutsAndDrains(t *testing.T) {
	t.Parallel()
	var deps *handlers.Deps
	s, b := newStreamStack(t, live.Config{PollInterval: time.Hour, Heartbeat: 50 * time.Millisecond}, func(d *handlers.Deps, _ *supabase.ClientConfig) {
		deps = d
	})
	ts := httptest.NewUnstartedServer(handlers.New(*deps))
	ts.Config.ReadTimeout, ts.Config.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond
	ts.Start()
	t.Cleanup(ts.Close)
	gw := *s
	gw.URL = ts.URL
	sess := gw.create(t, "stream-timeouts")
	st := gw.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token)
	st.next(t, eventWithin)
	time.Sleep(700 * time.Millisecond)
	// Past both server timeouts, a ping every heartbeat kept coming.
	if n := st.pings(t); n < 5 {
		t.Fatalf("got %d pings in 700 ms with a 50 ms heartbeat, want the stream kept alive", n)
	}
	wantStatus(t, gw.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(sess.ID), `{"server_port":3111}`), http.StatusOK)
	if ev := st.next(t, eventWithin); ev.Event != "session" {
		t.Fatalf("got %+v after the server's timeouts, want the stream alive", ev)
	}

	b.Drain()
	ev := st.next(t, eventWithin)
	if ev.Retry == "" {
		t.Fatalf("got %+v, want a retry hint", ev)
	}
	st.ended(t, eventWithin)
	wantError(t, gw.user(t, http.MethodGet, eventsPath(sess.ID), ""), http.StatusServiceUnavailable, "unavailable")
}

// With sessions scoped to their owner, a stream of someone else's session
// is 404 like every other route, also when resumed after its deletion.
func TestStreamIsScopedToTheOwner(t *testing.T) {
	t.Parallel()
	s, _ := newStreamStack(t, noPolling, func(d *handlers.Deps, _ *supabase.ClientConfig) {
		d.Ownership = supabase.Ownership{Column: "user_id"}
	})
	o := &owned{stack: s}
	mine := o.createAs(t, alice, "stream_alice", s.ownedSesion(t, alice))
	theirs := o.createAs(t, bob, "stream_bob", s.ownedSesion(t, bob))
	aliceToken, bobToken := tokenFor(t, alice, nil), tokenFor(t, bob, nil)

	st := s.openStream(t, eventsPath(mine.ID), "Authorization: Bearer "+aliceToken)
	if ev := st.next(t, eventWithin); ev.Event != "session" || !strings.Contains(ev.Data, `"session_id":"stream_alice"`) {
		t.Fatalf("got %+v, want alice's session", ev)
	}
	wantError(t, s.do(t, http.MethodGet, eventsPath(theirs.ID), "", "Authorization: Bearer "+aliceToken), http.StatusNotFound, "not_found")
	wantError(t, s.do(t, http.MethodGet, eventsPath(theirs.ID)+"?access_token="+aliceToken, ""), http.StatusNotFound, "not_found")

	before := s.latestEntry(t, theirs.ID)
	wantStatus(t, o.as(t, bobToken, http.MethodDelete, "/api/whatsapp_sessions/"+itoa(theirs.ID), ""), http.StatusOK)
	wantError(t, s.do(t, http.MethodGet, eventsPath(theirs.ID), "", "Authorization: Bearer "+aliceToken, "Last-Event-ID: "+before), http.StatusNotFound, "not_found")
}

// A Last-Event-ID beyond the session's history (the database was restored,
// or the id came from another deployment) is no id this stream sent: the
// stream starts afresh, with the current row, and then follows the changes,
// rather than skip every change until the ids catch up with it.
func TestStreamLastEventIDBeyondTheHistoryStartsAfresh(t *testing.T) {
	t.Parallel()
	s, _ := newStreamStack(t, noPolling)
	sess := s.create(t, "stream-future-id")
	latest, err := strconv.ParseInt(s.latestEntry(t, sess.ID), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	st := s.openStream(t, eventsPath(sess.ID), "Authorization: Bearer "+s.Token, "Last-Event-ID: "+itoa(latest+1000000))
	defer st.close()
	s.wantSessionEvent(t, st.next(t, eventWithin), sess.ID)
	wantStatus(t, s.user(t, http.MethodPatch, "/api/whatsapp_sessions/"+itoa(sess.ID), `{"server_port":3004}`), http.StatusOK)
	s.wantSessionEvent(t, st.next(t, eventWithin), sess.ID)
}
