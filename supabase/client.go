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
	"go.uber.org/zap"

	"github.com/wasessions/gateway/utils"
)

// The database functions the gateway calls through RPC; see supabase/migrations.
const (
	createFunction    = "create_whatsapp_session"
	connectedFunction = "whatsapp_session_connected"
	// The writes of a user whose sessions are scoped to their owner.
	updateOwnedFunction = "update_owned_whatsapp_session"
	deleteOwnedFunction = "delete_owned_whatsapp_session"
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
	// Log receives warnings about how Supabase is configured; nil discards them.
	Log *zap.Logger
}

// Client performs the session operations against Supabase with the secret
// key. It is safe for concurrent use.
type Client struct {
	rest       *postgrest.Client
	transport  http.RoundTripper
	timeout    time.Duration
	resilience ResilienceConfig
	breaker    *gobreaker.CircuitBreaker[struct{}]
	observer   CallObserver
	log        *zap.Logger
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
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	return &Client{
		rest:       rest,
		transport:  parent,
		timeout:    cfg.Timeout,
		resilience: cfg.Resilience,
		breaker:    newBreaker(cfg.Resilience),
		observer:   cfg.Observe,
		log:        cfg.Log,
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

// ListSessions runs a validated query within scope and returns the rows as
// a JSON array, exactly as Supabase sends it, streaming when it is large.
func (c *Client) ListSessions(ctx context.Context, scope Scope, q ListQuery) (Body, error) {
	count := ""
	if q.Limit > defaultMaxRows {
		// Only then can Max Rows cut the answer; a count costs the database
		// a second pass, so it is not asked for otherwise.
		count = "exact"
	}
	body, err := c.fetch(ctx, "list", true, func(ctx context.Context) error {
		f := scope.read(c.rest.From(SessionTable), q.Select, count)
		applyFilters(f, q.Filters)
		for _, o := range q.Order {
			f.Order(o.Column, &postgrest.OrderOpts{Ascending: !o.Descending, NullsFirst: nullsFirst(o)})
		}
		// Range writes both offset= and limit=; postgrest-go has no bare offset.
		f.Range(q.Offset, q.Offset+q.Limit-1, "")
		_, _, err := f.ExecuteWithContext(ctx)
		return translate(err, sessionNotFound)
	})
	if err == nil && count != "" {
		c.warnIfCut(ctx, q, body.contentRange)
	}
	return body, err
}

// defaultMaxRows is the Data API's default Max Rows: Supabase returns at
// most this many rows per request, whatever limit= says.
const defaultMaxRows = 1000

// warnIfCut logs when Supabase returned fewer rows than asked although more
// exist: the project's Max Rows is below LIST_MAX_LIMIT, and callers get
// short pages without being told.
func (c *Client) warnIfCut(ctx context.Context, q ListQuery, contentRange string) {
	rows, total, ok := strings.Cut(contentRange, "/")
	first, last, found := strings.Cut(rows, "-")
	lo, err1 := strconv.Atoi(first)
	hi, err2 := strconv.Atoi(last)
	all, err3 := strconv.Atoi(total)
	if !ok || !found || err1 != nil || err2 != nil || err3 != nil {
		return
	}
	if got := hi - lo + 1; got < q.Limit && all > q.Offset+got {
		c.log.Warn("Supabase returned fewer rows than asked: the project's Max Rows (Data API settings) is below LIST_MAX_LIMIT; raise it or lower LIST_MAX_LIMIT",
			zap.String("request_id", requestIDFrom(ctx)), zap.Int("asked", q.Limit), zap.Int("got", got), zap.Int("total", all))
	}
}

// GetSession returns one session row within scope as a JSON object.
func (c *Client) GetSession(ctx context.Context, scope Scope, id int64) (Body, error) {
	return c.fetch(ctx, "get", true, func(ctx context.Context) error {
		_, _, err := scope.read(c.rest.From(SessionTable), nil, "").
			Eq("id", strconv.FormatInt(id, 10)).Single().ExecuteWithContext(ctx)
		return translate(err, sessionNotFound)
	})
}

// UpdateSession applies a validated patch to a session within scope and
// returns the updated row. The status rule is enforced by the database
// trigger, atomically with the write; so is ownership, by the function a
// scoped update goes through.
func (c *Client) UpdateSession(ctx context.Context, scope Scope, id int64, p SessionPatch) (Body, error) {
	ctx = withSource(ctx, SourcePatch)
	if !scope.All() {
		return c.fetch(ctx, "update", false, func(ctx context.Context) error {
			return c.rpcBody(ctx, updateOwnedFunction, map[string]any{
				"p_id": id, "p_patch": p.columns(), "p_owner_column": scope.column, "p_owner": scope.owner,
			})
		})
	}
	return c.fetch(ctx, "update", false, func(ctx context.Context) error {
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

// DeleteSession removes one session within scope.
func (c *Client) DeleteSession(ctx context.Context, scope Scope, id int64) error {
	ctx = withSource(ctx, SourceDelete)
	if !scope.All() {
		return c.call(ctx, "delete", false, func(ctx context.Context) error {
			return c.rpcBody(ctx, deleteOwnedFunction, map[string]any{
				"p_id": id, "p_owner_column": scope.column, "p_owner": scope.owner,
			})
		})
	}
	return c.call(ctx, "delete", false, func(ctx context.Context) error {
		_, _, err := c.rest.From(SessionTable).Delete("representation", "").
			Eq("id", strconv.FormatInt(id, 10)).Single().ExecuteWithContext(ctx)
		return translate(err, sessionNotFound)
	})
}

// CreateSession registers a link attempt, or links the row an early webhook
// left behind, in one database transaction. Within a user's scope the
// sesión must be theirs; someone else's is refused like a missing one.
func (c *Client) CreateSession(ctx context.Context, scope Scope, s NewSession) (Result, error) {
	args := map[string]any{
		"p_session_id": s.SessionID,
		"p_sesion_id":  s.SesionID,
	}
	if !scope.All() {
		args["p_owner_column"], args["p_owner"] = scope.column, scope.owner
	}
	return c.rpc(withSource(ctx, SourceCreate), "create", createFunction, args)
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

// rpcBody calls a database function whose answer is passed on as it is
// (inside fetch) or not at all (inside call).
func (c *Client) rpcBody(ctx context.Context, name string, args map[string]any) error {
	_, _, err := c.rest.From("rpc/"+name).Insert(args, false, "", "", "").ExecuteWithContext(ctx)
	return translate(err, sessionNotFound)
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
