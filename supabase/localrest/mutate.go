package localrest

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// payload is a decoded request body: the JSON PostgreSQL will read and the
// columns it names.
type payload struct {
	rows   string   // always a JSON array, for json_populate_recordset
	object string   // the body itself when it was one object
	keys   []string // sorted column names
}

// parsePayload applies PostgREST's body rules: an object or an array of
// objects that all have the same keys; any other JSON value inserts nothing.
func parsePayload(body []byte) (*payload, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || !json.Valid(trimmed) {
		return nil, errInvalidBody("Empty or invalid json")
	}
	switch trimmed[0] {
	case '{':
		keys, _ := objectKeys(trimmed)
		return &payload{rows: "[" + string(trimmed) + "]", object: string(trimmed), keys: keys}, nil
	case '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(trimmed, &elems); err != nil {
			return nil, errInvalidBody("Empty or invalid json")
		}
		var keys []string
		for i, el := range elems {
			k, ok := objectKeys(el)
			if !ok || (i > 0 && !slices.Equal(k, keys)) {
				return nil, errInvalidBody("All object keys must match")
			}
			keys = k
		}
		return &payload{rows: string(trimmed), keys: keys}, nil
	default:
		return &payload{rows: "[]"}, nil
	}
}

func objectKeys(raw json.RawMessage) ([]string, bool) {
	var obj map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(t, &obj) != nil {
		return nil, false
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, true
}

// columnList checks that every key is a column (PGRST204 otherwise) and
// renders them as a quoted list.
func columnList(t *table, keys []string) ([]string, error) {
	cols := make([]string, len(keys))
	for i, k := range keys {
		c, ok := t.byName[k]
		if !ok {
			return nil, errColumnNotFound(t.name, k)
		}
		cols[i] = ident(c.name)
	}
	return cols, nil
}

// mutationResult is what one data-modifying statement reports back.
type mutationResult struct {
	rows     int64
	body     string
	location []string // pk=eq.value pairs of the single inserted row
}

// mutate runs stmt (which must end in RETURNING the table's row) as a CTE,
// so that the row count, the representation and the Location all come from
// one statement in one transaction.
//
// With limitAffected, Prefer: max-affected (under handling=strict) rolls
// back a change of more rows, as PostgREST does for PATCH and DELETE.
func (s *Server) mutate(ctx context.Context, req *tableRequest, b *sqlBuilder, stmt string, wantLocation, limitAffected bool) (*mutationResult, error) {
	t := req.table
	cols, err := selectList(t, "pgrst_source", req.query.selectItems)
	if err != nil {
		return nil, err
	}
	bodyExpr := "''"
	if req.prefs.ret == "representation" {
		bodyExpr = jsonBody(req.singular)
	}
	locExpr := "NULL::text[]"
	if wantLocation && len(t.pk) > 0 {
		pk := make([]string, len(t.pk))
		for i, c := range t.pk {
			pk[i] = ident(c)
		}
		locExpr = "(SELECT array_agg(k.key || '=' || coalesce('eq.' || k.value, 'is.null')) FROM " +
			"(SELECT row_to_json(p) AS r FROM (SELECT " + strings.Join(pk, ", ") + " FROM pgrst_source LIMIT 1) p) d " +
			"CROSS JOIN LATERAL json_each_text(d.r) k)"
	}
	sql := "WITH pgrst_source AS (" + stmt + ") SELECT pg_catalog.count(*), " + bodyExpr + ", " + locExpr +
		" FROM (SELECT " + cols + " FROM pgrst_source) _t"

	res := &mutationResult{}
	err = s.inTx(ctx, false, req.prefs, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, sql, b.args...).Scan(&res.rows, &res.body, &res.location); err != nil {
			return err
		}
		if req.singular && res.rows != 1 {
			return errSingular(res.rows) // rolls the change back, as PostgREST does
		}
		if limitAffected && req.prefs.maxAffected != nil && res.rows > *req.prefs.maxAffected {
			return errMaxAffected(res.rows)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// insert serves POST on a table with json_populate_recordset, so PostgreSQL
// converts every value to its column's type; absent keys take defaults.
func (s *Server) insert(ctx context.Context, req *tableRequest, body []byte) (*response, error) {
	t, q := req.table, req.query
	switch {
	case q.bodyColumns:
		return nil, errNotImplemented("the columns and on_conflict parameters")
	case req.prefs.resolution != "":
		return nil, errNotImplemented("upsert (Prefer: resolution=" + req.prefs.resolution + ")")
	case len(q.filters) > 0 || len(q.trees) > 0 || q.paged:
		return nil, errNotImplemented("filters, order, limit and offset on insert")
	}
	p, err := parsePayload(body)
	if err != nil {
		return nil, err
	}
	cols, err := columnList(t, p.keys)
	if err != nil {
		return nil, err
	}
	b := &sqlBuilder{}
	rel := qualified(t)
	stmt := "INSERT INTO " + rel
	if len(cols) > 0 {
		stmt += " (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(cols, ", ")
	} else {
		stmt += " SELECT" // every column takes its default
	}
	stmt += " FROM json_populate_recordset(NULL::" + rel + ", " + b.bind(p.rows) + "::text::json) RETURNING " + rel + ".*"

	res, err := s.mutate(ctx, req, b, stmt, req.prefs.ret == "headers-only", false)
	if err != nil {
		return nil, err
	}
	resp := s.mutationResponse(req, res, http.StatusCreated, contentRange(1, 0, countOf(req, res)))
	if req.prefs.ret == "headers-only" && res.rows == 1 && len(res.location) > 0 {
		resp.headers["Location"] = location(t.name, res.location)
	}
	return resp, nil
}

// update serves PATCH: one JSON object, applied to every row the filters match.
func (s *Server) update(ctx context.Context, req *tableRequest, body []byte) (*response, error) {
	t, q := req.table, req.query
	switch {
	case q.bodyColumns:
		return nil, errNotImplemented("the columns parameter")
	case q.paged:
		return nil, errNotImplemented("order, limit and offset on update")
	}
	p, err := parsePayload(body)
	if err != nil {
		return nil, err
	}
	if p.object == "" && len(p.keys) > 0 {
		// An empty array (or a non-object) sets nothing, below; which
		// element of a longer one PostgREST would apply is not defined.
		return nil, errNotImplemented("PATCH with a JSON array of objects")
	}
	cols, err := columnList(t, p.keys)
	if err != nil {
		return nil, err
	}
	b := &sqlBuilder{}
	rel := qualified(t)
	where, err := b.where(t, q)
	if err != nil {
		return nil, err
	}
	var stmt string
	if len(cols) == 0 {
		// Nothing to set: like PostgREST, touch nothing and return no rows.
		// The filters were still checked above; their values are not needed.
		b = &sqlBuilder{}
		stmt = "SELECT " + rel + ".* FROM " + rel + " WHERE false"
	} else {
		set := make([]string, len(cols))
		for i, c := range cols {
			set[i] = c + " = pgrst_body." + c
		}
		stmt = "UPDATE " + rel + " SET " + strings.Join(set, ", ") +
			" FROM json_populate_record(NULL::" + rel + ", " + b.bind(p.object) + "::text::json) pgrst_body" +
			where + " RETURNING " + rel + ".*"
	}
	res, err := s.mutate(ctx, req, b, stmt, false, true)
	if err != nil {
		return nil, err
	}
	return s.mutationResponse(req, res, http.StatusNoContent, contentRange(0, res.rows-1, countOf(req, res))), nil
}

// remove serves DELETE on the rows the filters match.
func (s *Server) remove(ctx context.Context, req *tableRequest) (*response, error) {
	t, q := req.table, req.query
	if q.paged {
		return nil, errNotImplemented("order, limit and offset on delete")
	}
	b := &sqlBuilder{}
	rel := qualified(t)
	where, err := b.where(t, q)
	if err != nil {
		return nil, err
	}
	res, err := s.mutate(ctx, req, b, "DELETE FROM "+rel+where+" RETURNING "+rel+".*", false, true)
	if err != nil {
		return nil, err
	}
	return s.mutationResponse(req, res, http.StatusNoContent, contentRange(1, 0, countOf(req, res))), nil
}

// mutationResponse answers with the representation when it was asked for
// (200, or 201 for inserts), otherwise with status and no body.
func (s *Server) mutationResponse(req *tableRequest, res *mutationResult, status int, rng string) *response {
	resp := &response{status: status, headers: map[string]string{
		"Content-Range":      rng,
		"Preference-Applied": req.prefs.applied(true),
	}}
	if req.prefs.ret == "representation" {
		if status == http.StatusNoContent {
			resp.status = http.StatusOK
		}
		resp.headers["Content-Type"] = contentType(req.singular)
		resp.headers["Content-Profile"] = profileHeader(req.profile)
		resp.body = []byte(res.body)
	}
	return resp
}

func countOf(req *tableRequest, res *mutationResult) *int64 {
	if !req.prefs.count {
		return nil
	}
	return &res.rows
}

// location renders the Location of an inserted row as PostgREST does:
// /table?pk=eq.value.
func location(tableName string, pairs []string) string {
	parts := make([]string, len(pairs))
	for i, kv := range pairs {
		k, v, _ := strings.Cut(kv, "=")
		parts[i] = url.QueryEscape(k) + "=" + url.QueryEscape(v)
	}
	return "/" + url.PathEscape(tableName) + "?" + strings.Join(parts, "&")
}
