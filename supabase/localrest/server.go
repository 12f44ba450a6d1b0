package localrest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.uber.org/zap"
)

// pathPrefix is where Supabase mounts PostgREST, and where clients append
// table and rpc paths.
const pathPrefix = "/rest/v1"

// Server serves PostgREST's protocol for the public schema of one database.
// It is an http.Handler; it is safe for concurrent use, and Reload may run
// while requests are being served.
type Server struct {
	pool    *pgxpool.Pool
	keyHash [sha256.Size]byte
	log     *zap.Logger
	cat     atomic.Pointer[catalog]
	maxRows int64
}

// DefaultMaxRows is the Max Rows of a new Supabase project's Data API
// settings: no read returns more rows, whatever limit it asks for.
const DefaultMaxRows = 1000

// Option changes one setting of a Server.
type Option func(*Server)

// WithMaxRows sets PostgREST's max-rows, the silent cap on the rows of
// every read and of every set-returning function call; 0 removes the cap.
func WithMaxRows(n int64) Option {
	return func(s *Server) { s.maxRows = max(n, 0) }
}

// New loads the table/column/function catalogue of the public schema from
// the live database and returns a Server that accepts apiKey (sent as the
// apikey header, as Supabase clients send it). A request with the key runs
// as service_role, as one with a secret key does on Supabase, so the
// database needs PrepareDatabase first. log may be nil.
func New(ctx context.Context, pool *pgxpool.Pool, apiKey string, log *zap.Logger, opts ...Option) (*Server, error) {
	if pool == nil {
		return nil, errors.New("localrest: a database pool is required")
	}
	if apiKey == "" {
		return nil, errors.New("localrest: an API key is required; requests without one must be refused")
	}
	if log == nil {
		log = zap.NewNop()
	}
	s := &Server{pool: pool, keyHash: sha256.Sum256([]byte(apiKey)), log: log, maxRows: DefaultMaxRows}
	for _, o := range opts {
		o(s)
	}
	var roles int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_catalog.pg_roles WHERE rolname = $1",
		roleServiceRole).Scan(&roles); err != nil {
		return nil, fmt.Errorf("localrest: look for the %s role: %w", roleServiceRole, err)
	}
	if roles == 0 {
		return nil, fmt.Errorf("localrest: the database has no %s role; run PrepareDatabase before the migrations", roleServiceRole)
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload re-reads the catalogue, as PostgREST reloads its schema cache;
// call it after migrations so new tables, columns and functions are served.
func (s *Server) Reload(ctx context.Context) error {
	cat, err := loadCatalog(ctx, s.pool)
	if err != nil {
		return err
	}
	s.cat.Store(cat)
	s.log.Debug("localrest: catalogue loaded",
		zap.Int("tables", len(cat.tables)), zap.Int("functions", len(cat.functions)))
	return nil
}

// ServeHTTP serves paths under /rest/v1/: /rest/v1/<table> and
// /rest/v1/rpc/<function>, and Supabase Auth's public key set.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == jwksPath {
		serveJWKS(w, r)
		return
	}
	if !s.authorize(w, r) {
		return
	}
	// PostgREST sees the path below Supabase's /rest/v1 mount.
	r = withRequestSettings(r, strings.TrimPrefix(r.URL.Path, pathPrefix))
	resp, err := s.route(w, r)
	if err != nil {
		e, internal := asAPIError(err)
		if internal {
			// The gateway's request id, so this line joins the request's others.
			s.log.Error("localrest: request failed", zap.String("request_id", r.Header.Get("X-Request-ID")),
				zap.String("method", r.Method), zap.String("path", r.URL.Path), zap.Error(err))
		}
		writeError(w, e)
		return
	}
	resp.write(w, r)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) (*response, error) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), pathPrefix)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		return nil, errInvalidPath()
	}
	var segments []string
	for _, seg := range strings.Split(strings.Trim(rest, "/"), "/") {
		if seg == "" {
			continue
		}
		name, err := url.PathUnescape(seg)
		if err != nil {
			return nil, errInvalidPath()
		}
		segments = append(segments, name)
	}
	named, err := checkProfile(r)
	if err != nil {
		return nil, err
	}
	cat := s.cat.Load()
	switch {
	case len(segments) == 0:
		return nil, errRootDisabled()
	case len(segments) == 2 && segments[0] == "rpc":
		return s.serveRPC(w, r, cat, segments[1], named)
	case len(segments) == 1:
		return s.serveTable(w, r, cat, segments[0], named)
	default:
		return nil, errInvalidPath()
	}
}

func (s *Server) serveTable(w http.ResponseWriter, r *http.Request, cat *catalog, name string, named bool) (*response, error) {
	t, ok := cat.tables[name]
	if !ok {
		return nil, errTableNotFound(name, closest(name, cat.tableNames(), 0.75))
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodDelete:
	case http.MethodOptions:
		return optionsResponse(t.allowed), nil
	case http.MethodPut:
		return nil, errNotImplemented("PUT (single-row upsert)")
	default:
		return nil, errUnsupportedMethod(r.Method)
	}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	singular, err := negotiate(r.Header)
	if err != nil {
		return nil, err
	}
	prefs, err := s.parsePreferences(r.Context(), r.Header)
	if err != nil {
		return nil, err
	}
	req := &tableRequest{table: t, query: q, prefs: prefs, singular: singular, profile: named}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if r.Method == http.MethodGet { // PostgREST reads Range on GET only (RFC 9110)
			req.headerRange = parseRangeHeader(r.Header.Get("Range"))
		}
		return s.read(r.Context(), cat, req)
	}
	if q.usesEmbedding() {
		return nil, errNotImplemented("resource embedding in writes")
	}
	switch r.Method {
	case http.MethodDelete:
		return s.remove(r.Context(), req)
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	if r.Method == http.MethodPost {
		return s.insert(r.Context(), req, body)
	}
	return s.update(r.Context(), req, body)
}

// tableRequest is everything a table handler needs from the HTTP request.
type tableRequest struct {
	table    *table
	query    *query
	prefs    preferences
	singular bool
	profile  bool
	// headerRange is the Range header of a GET, intersected with
	// limit and offset as PostgREST does.
	headerRange rowRange
}

// inTx runs fn in one transaction as the key's role, with the session time
// zone at UTC (so timestamps serialise as Supabase's do, +00:00) unless
// Prefer: timezone chose another, and with the request's settings (see
// requestSettings). fn's error rolls back.
func (s *Server) inTx(ctx context.Context, readOnly bool, prefs preferences, fn func(pgx.Tx) error) error {
	opts := pgx.TxOptions{}
	if readOnly {
		opts.AccessMode = pgx.ReadOnly
	}
	tx, err := s.pool.BeginTx(ctx, opts)
	if err != nil {
		return &connectError{err: err}
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	tz := "UTC"
	if prefs.timezone != "" {
		tz = prefs.timezone
	}
	rs := requestSettingsFrom(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_catalog.set_config('TimeZone', $1, true), pg_catalog.set_config('role', $2, true), "+
		"pg_catalog.set_config('request.method', $3, true), pg_catalog.set_config('request.path', $4, true), "+
		"pg_catalog.set_config('request.headers', $5, true), pg_catalog.set_config('request.cookies', $6, true)",
		tz, roleServiceRole, rs.method, rs.path, rs.headers, rs.cookies); err != nil {
		return fmt.Errorf("set time zone, role and request settings: %w", err)
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
