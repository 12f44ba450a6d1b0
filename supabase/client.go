package supabase

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sony/gobreaker/v2"
	"github.com/supabase-community/postgrest-go"

	"github.com/wasessions/gateway/utils"
)

// The database functions the gateway calls through RPC; see supabase/migrations.
const (
	createFunction    = "create_whatsapp_session"
	connectedFunction = "whatsapp_session_connected"
)

const sessionNotFound = "no WhatsApp session with this id"

// ClientConfig says how to reach a Supabase project's Data API.
type ClientConfig struct {
	URL       string        // project URL, e.g. https://abc.supabase.co; /rest/v1 is appended
	Key       string        // secret (sb_secret_...) or legacy service-role key
	UserAgent string        // sent instead of any caller's
	Timeout   time.Duration // deadline of each operation, retries included
	// Transport is the connection pool; nil means NewHTTPTransport(0).
	Transport http.RoundTripper
	// Resilience tunes retries and the breaker; zero means DefaultResilience.
	Resilience ResilienceConfig
	// Observe, if set, is told about every upstream attempt.
	Observe CallObserver
	// OnShortPage, if set, is told when a list came back with fewer rows
	// than it asked for while more rows matched: the project's Max Rows is
	// below the limit the gateway allows (see ListSessions).
	OnShortPage func(ShortPage)
}

// ShortPage describes a list page Supabase cut short.
type ShortPage struct {
	Asked, Returned int
	Total           int64 // rows the query matched
}

// SupabaseMaxRows is the Max Rows of a new Supabase project's Data API:
// PostgREST silently returns at most this many rows, whatever limit= says.
const SupabaseMaxRows = 1000

// Client performs the session operations against Supabase with the secret
// key. It is safe for concurrent use.
type Client struct {
	rest       *postgrest.Client
	transport  http.RoundTripper
	timeout    time.Duration
	resilience ResilienceConfig
	breaker    *gobreaker.CircuitBreaker[struct{}]
	observer   CallObserver
	shortPage  func(ShortPage)
}

// NewClient builds a Client. It does not contact Supabase.
func NewClient(cfg ClientConfig) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(cfg.URL, "/") + "/rest/v1")
	if err != nil || base.Scheme == "" || base.Host == "" {
		return nil, fmt.Errorf("supabase: URL %q is not an absolute http(s) URL", cfg.URL)
	}
	if cfg.Key == "" {
		return nil, errors.New("supabase: a secret or service-role key is required")
	}
	rest, err := postgrest.NewClientWithError(base.String(), "public", utils.SupabaseHeaders(cfg.Key, cfg.UserAgent))
	if err != nil {
		return nil, fmt.Errorf("supabase: %w", err)
	}
	parent := cfg.Transport
	if parent == nil {
		parent = NewHTTPTransport(0)
	}
	rest.Transport.Parent = &errorTransport{base: parent}
	if cfg.Resilience == (ResilienceConfig{}) {
		cfg.Resilience = DefaultResilience
	}
	return &Client{
		rest:       rest,
		transport:  parent,
		timeout:    cfg.Timeout,
		resilience: cfg.Resilience,
		breaker:    newBreaker(cfg.Resilience),
		observer:   cfg.Observe,
		shortPage:  cfg.OnShortPage,
	}, nil
}

// Close releases idle connections to Supabase.
func (c *Client) Close() {
	if t, ok := c.transport.(interface{ CloseIdleConnections() }); ok {
		t.CloseIdleConnections()
	}
}

// Ready checks that Supabase answers the gateway's key and that the
// whatsapp_sessions table is there, with one tiny read.
func (c *Client) Ready(ctx context.Context) error {
	return c.call(ctx, "ready", false, func(ctx context.Context) error {
		_, _, err := c.rest.From(SessionTable).Select("id", "", false).Limit(1, "").ExecuteWithContext(ctx)
		return translate(err, sessionNotFound)
	})
}

// withDeadline bounds one operation, retries included, by the configured
// timeout, unless the caller's context already ends sooner.
func (c *Client) withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.timeout)
}

// ListSessions runs a validated query and returns the rows as a JSON array,
// exactly as Supabase sends it, streaming when it is large.
//
// A page larger than SupabaseMaxRows asks for the exact count too: only then
// can a page cut by a lower Max Rows be told from the last page, and
// OnShortPage be told of it.
func (c *Client) ListSessions(ctx context.Context, q ListQuery) (Body, error) {
	count := ""
	if q.Limit > SupabaseMaxRows && c.shortPage != nil {
		count = "exact"
	}
	b, err := c.fetch(ctx, "list", true, func(ctx context.Context) error {
		f := c.rest.From(SessionTable).Select(strings.Join(q.Select, ","), count, false)
		applyFilters(f, q.Filters)
		for _, o := range q.Order {
			f.Order(o.Column, &postgrest.OrderOpts{Ascending: !o.Descending, NullsFirst: nullsFirst(o)})
		}
		// Range writes both offset= and limit=; postgrest-go has no bare offset.
		f.Range(q.Offset, q.Offset+q.Limit-1, "")
		_, _, err := f.ExecuteWithContext(ctx)
		return translate(err, sessionNotFound)
	})
	if err == nil && c.shortPage != nil {
		if page, short := shortPage(q, b.contentRange); short {
			c.shortPage(page)
		}
	}
	return b, err
}

// shortPage reads a list answer's Content-Range (first-last/total, or
// */total when empty) and reports a page with fewer rows than asked
// although more rows matched after it.
func shortPage(q ListQuery, contentRange string) (ShortPage, bool) {
	rng, totalText, ok := strings.Cut(contentRange, "/")
	total, err := strconv.ParseInt(totalText, 10, 64)
	if !ok || err != nil {
		return ShortPage{}, false // no count: nothing to compare with
	}
	returned := 0
	if first, last, ok := strings.Cut(rng, "-"); ok {
		a, errA := strconv.Atoi(first)
		b, errB := strconv.Atoi(last)
		if errA != nil || errB != nil {
			return ShortPage{}, false
		}
		returned = b - a + 1
	}
	if returned < q.Limit && total > int64(q.Offset+returned) {
		return ShortPage{Asked: q.Limit, Returned: returned, Total: total}, true
	}
	return ShortPage{}, false
}

// GetSession returns one session row as a JSON object.
func (c *Client) GetSession(ctx context.Context, id int64) (Body, error) {
	return c.fetch(ctx, "get", true, func(ctx context.Context) error {
		_, _, err := c.rest.From(SessionTable).Select("*", "", false).
			Eq("id", strconv.FormatInt(id, 10)).Single().ExecuteWithContext(ctx)
		return translate(err, sessionNotFound)
	})
}

// UpdateSession applies a validated patch and returns the updated row. The
// status rule is enforced by the database trigger, atomically with the write.
func (c *Client) UpdateSession(ctx context.Context, id int64, p SessionPatch) (Body, error) {
	return c.fetch(withSource(ctx, SourcePatch), "update", false, func(ctx context.Context) error {
		_, _, err := c.rest.From(SessionTable).Update(p.columns(), "representation", "").
			Eq("id", strconv.FormatInt(id, 10)).Single().ExecuteWithContext(ctx)
		return translate(err, sessionNotFound)
	})
}

// fetch is call for an operation whose successful body is passed on as it
// is: errorTransport leaves the body in a slot of ctx instead of letting
// postgrest-go read it. A body still streaming keeps the call's deadline,
// which ends when the Body is closed.
func (c *Client) fetch(ctx context.Context, op string, read bool, fn func(ctx context.Context) error) (Body, error) {
	ctx, cancel := c.withDeadline(ctx)
	ctx, slot := withBodySlot(ctx)
	err := c.attempts(ctx, op, read, fn)
	if err == nil && !slot.set {
		err = &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("%s: no body reached the transport", op)}
	}
	if err != nil {
		slot.release()
		cancel()
		return Body{}, err
	}
	body := slot.body
	if body.rest == nil {
		cancel()
	} else {
		body.ctx, body.cancel = ctx, cancel
	}
	return body, nil
}

// DeleteSession removes one session.
func (c *Client) DeleteSession(ctx context.Context, id int64) error {
	return c.call(withSource(ctx, SourceDelete), "delete", false, func(ctx context.Context) error {
		_, _, err := c.rest.From(SessionTable).Delete("representation", "").
			Eq("id", strconv.FormatInt(id, 10)).Single().ExecuteWithContext(ctx)
		return translate(err, sessionNotFound)
	})
}

// CreateSession registers a link attempt, or links the row an early webhook
// left behind, in one database transaction.
func (c *Client) CreateSession(ctx context.Context, s NewSession) (Result, error) {
	return c.rpc(withSource(ctx, SourceCreate), "create", createFunction, map[string]any{
		"p_session_id": s.SessionID,
		"p_sesion_id":  s.SesionID,
	})
}

// ApplyConnection records the orchestrator's connection report and activates
// the linked sesiones row, in one database transaction.
func (c *Client) ApplyConnection(ctx context.Context, conn Connection) (Result, error) {
	args := map[string]any{
		"p_session_id":       conn.SessionID,
		"p_phone_number":     conn.PhoneNumber,
		"p_status":           conn.Status,
		"p_auth_folder_path": conn.AuthFolderPath,
		"p_server_port":      conn.ServerPort,
		"p_whatsapp_user_id": conn.WhatsappUserID,
	}
	if conn.LastSeen != nil {
		args["p_last_seen"] = conn.LastSeen.UTC().Format(time.RFC3339Nano)
	}
	return c.rpc(withSource(ctx, SourceWebhook), "connect", connectedFunction, args)
}

// rpc calls a database function. postgrest-go's Rpc takes no context and
// ignores the HTTP status, so the call goes through the query builder to
// the same /rpc/<name> endpoint, which gives it both.
func (c *Client) rpc(ctx context.Context, op, name string, args map[string]any) (Result, error) {
	var r Result
	err := c.call(ctx, op, false, func(ctx context.Context) error {
		body, _, err := c.rest.From("rpc/"+name).Insert(args, false, "", "", "").ExecuteWithContext(ctx)
		if err != nil {
			return translate(err, sessionNotFound)
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Outcome == "" || len(r.Session) == 0 {
			return &Error{Code: CodeInternal, Message: "internal error", Err: fmt.Errorf("rpc %s: unexpected answer (are the migrations applied?): %v", name, err)}
		}
		return nil
	})
	return r, err
}

// applyFilters adds the filters to the query. Two postgrest-go quirks
// decide the form: its Filter refuses "not." operators (so Not is unusable),
// and it joins a second filter on one column into and=(...) without
// quoting values. So unless every filter is plain and on its own column,
// the whole conjunction is written here as one and=(...) tree, with
// PostgREST's quoting.
func applyFilters(f *postgrest.FilterBuilder, filters []Filter) {
	if !needsLogicTree(filters) {
		for _, flt := range filters {
			f.Filter(flt.Column, flt.Op, operand(flt, false))
		}
		return
	}
	terms := make([]string, len(filters))
	for i, flt := range filters {
		terms[i] = flt.Column + "." + operator(flt) + "." + operand(flt, true)
	}
	f.And(strings.Join(terms, ","), "")
}

func needsLogicTree(filters []Filter) bool {
	seen := make(map[string]bool, len(filters))
	for _, flt := range filters {
		if flt.Negate || seen[flt.Column] {
			return true
		}
		seen[flt.Column] = true
	}
	return false
}

func operator(f Filter) string {
	if f.Negate {
		return "not." + f.Op
	}
	return f.Op
}

// operand renders a filter's value. inTree is set inside and=(...), where
// reserved characters must be quoted, and so must braces: PostgREST reads a
// value starting with { as an array literal there. In lists are always
// quoted.
func operand(f Filter, inTree bool) string {
	if f.Op == "in" {
		items := make([]string, len(f.Values))
		for i, v := range f.Values {
			items[i] = quote(v)
		}
		return "(" + strings.Join(items, ",") + ")"
	}
	if inTree && (f.Values[0] == "" || strings.ContainsAny(f.Values[0], `,()"\ {}`)) {
		return quote(f.Values[0])
	}
	return f.Values[0]
}

// quote writes v as a PostgREST double-quoted value.
func quote(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(v) + `"`
}

func nullsFirst(o OrderTerm) bool {
	if o.Nulls != "" {
		return o.Nulls == "nullsfirst"
	}
	// PostgreSQL's default: NULLs sort as larger than any value.
	return o.Descending
}
