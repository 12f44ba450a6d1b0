package localrest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// serveRPC serves POST /rpc/<fn> with a JSON object of named arguments.
func (s *Server) serveRPC(w http.ResponseWriter, r *http.Request, cat *catalog, name string, named bool) (*response, error) {
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet, http.MethodHead:
		return nil, errNotImplemented("calling functions with GET")
	case http.MethodOptions:
		return rpcOptions(cat, name)
	default:
		return nil, errRPCMethod(r.Method)
	}
	q, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, err
	}
	if q.bodyColumns {
		return nil, errNotImplemented("the columns parameter on RPC")
	}
	singular, err := negotiate(r.Header)
	if err != nil {
		return nil, err
	}
	body, err := readBody(w, r)
	if err != nil {
		return nil, err
	}
	args, keys, err := parseArguments(body)
	if err != nil {
		return nil, err
	}
	f, wholeBody, err := findFunction(cat, name, keys)
	if err != nil {
		return nil, err
	}

	prefs, err := s.parsePreferences(r.Context(), r.Header)
	if err != nil {
		return nil, err
	}
	if prefs.maxAffected != nil {
		return nil, errNotImplemented("Prefer: max-affected on RPC")
	}

	b := &sqlBuilder{}
	var call, from string
	if wholeBody {
		raw := bytes.TrimSpace(body)
		if len(raw) == 0 {
			raw = []byte("{}")
		}
		call = b.bind(string(raw)) + "::text::" + f.params[0].sqlType
	} else {
		call, from = callArguments(b, f, args, body)
	}
	call = pgx.Identifier{exposedSchema, f.name}.Sanitize() + "(" + call + ")"

	win, err := q.window(allRows, s.maxRows) // Range is read on GET only
	if err != nil {
		return nil, err
	}
	sql := rpcQuery(f, call, from, singular, s.maxRows)
	if shapesResult(q) {
		// PostgREST applies select, filters, order and paging to a
		// function's rows as to a table's.
		rt := f.resultTable(cat)
		if rt == nil {
			return nil, errNotImplemented("select, filters, order, limit and offset on a function whose result has no named columns")
		}
		if sql, err = shapedRPCQuery(b, rt, call, from, q, win, singular || !f.setOf, prefs.count); err != nil {
			return nil, err
		}
	}
	var rows int64
	var total *int64
	var out string
	err = s.inTx(r.Context(), f.readOnly, prefs, func(tx pgx.Tx) error {
		if err := tx.QueryRow(r.Context(), sql, b.args...).Scan(&total, &rows, &out); err != nil {
			return err
		}
		if singular && rows != 1 {
			return errSingular(rows)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	if !prefs.count {
		total = nil
	} else if total == nil {
		total = &rows
	}
	upper := win.lower + rows - 1
	status := rangeStatus(win.lower, upper, total)
	if status == http.StatusRequestedRangeNotSatisfiable {
		return nil, errOutOfRange(win.lower, *total)
	}
	resp := &response{status: status, headers: map[string]string{
		"Content-Range":      contentRange(win.lower, upper, total),
		"Preference-Applied": prefs.applied(false),
	}}
	if f.kind == returnsVoid {
		resp.status = http.StatusNoContent
		return resp, nil
	}
	resp.headers["Content-Type"] = contentType(singular)
	resp.headers["Content-Profile"] = profileHeader(named)
	resp.body = []byte(out)
	return resp, nil
}

// rpcOptions answers OPTIONS on a function as PostgREST does: a volatile
// one may only be POSTed, a STABLE or IMMUTABLE one also read with GET.
func rpcOptions(cat *catalog, name string) (*response, error) {
	overloads := cat.functions[name]
	if len(overloads) == 0 {
		return nil, errNoFunction(name, nil, closest(name, cat.functionNames(), 0.75))
	}
	allow := "OPTIONS,GET,HEAD,POST"
	for _, f := range overloads {
		if !f.readOnly {
			allow = "OPTIONS,POST"
		}
	}
	return optionsResponse(allow), nil
}

// callArguments renders the named arguments the body gives as PostgREST
// does: the body becomes one record through json_to_record, with a column
// per argument of the parameter's type, so PostgreSQL converts each value
// exactly as it would for PostgREST (a value too long for character is
// 22001, never truncated). from is the FROM item that record comes from.
func callArguments(b *sqlBuilder, f *function, args map[string]json.RawMessage, body []byte) (call, from string) {
	var parts, defs []string
	for _, p := range f.params {
		if _, ok := args[p.name]; !ok {
			continue // a parameter with a default
		}
		prefix := ""
		if p.variadic {
			prefix = "VARIADIC "
		}
		parts = append(parts, prefix+ident(p.name)+" := pgrst_args."+ident(p.name))
		defs = append(defs, ident(p.name)+" "+p.sqlType)
	}
	if len(defs) == 0 {
		return "", ""
	}
	from = "json_to_record(" + b.bind(string(bytes.TrimSpace(body))) + "::text::json) AS pgrst_args(" + strings.Join(defs, ", ") + ")"
	return strings.Join(parts, ", "), from
}

// rpcQuery wraps the call so its result becomes PostgREST's JSON: a scalar
// as the value itself, a composite as an object, a set as an array. It
// returns the total rows, the rows kept after max-rows, and the body; the
// call runs once, materialised, whatever is counted.
func rpcQuery(f *function, call, from string, singular bool, maxRows int64) string {
	if from != "" {
		from = " FROM " + from
	}
	if f.kind == returnsVoid {
		return "SELECT 1::bigint, pg_catalog.count(*), '' FROM (SELECT " + call + from + ") _t"
	}
	inner, agg := "SELECT "+call+" AS pgrst_scalar"+from, "json_agg(_t.pgrst_scalar)"
	if f.kind == returnsComposite {
		if from == "" {
			inner = "SELECT pgrst_row.* FROM " + call + " AS pgrst_row"
		} else {
			inner = "SELECT pgrst_row.*" + from + " CROSS JOIN LATERAL " + call + " AS pgrst_row"
		}
		agg = "json_agg(_t)"
	}
	limit := ""
	if f.setOf && maxRows > 0 {
		limit = " LIMIT " + strconv.FormatInt(maxRows, 10)
	}
	body := "coalesce(" + agg + ", '[]')::text"
	if !f.setOf || singular {
		body = "coalesce(" + agg + "->0, 'null')::text"
	}
	return "WITH pgrst_call AS MATERIALIZED (" + inner + ") SELECT (SELECT pg_catalog.count(*) FROM pgrst_call), pg_catalog.count(*), " +
		body + " FROM (SELECT * FROM pgrst_call" + limit + ") _t"
}

// rpcAlias names a function's rows where select, filters and order refer
// to them.
const rpcAlias = "pgrst_rows"

// shapesResult reports whether the query string selects, filters, orders
// or pages the result.
func shapesResult(q *query) bool {
	return q.paged || len(q.filters) > 0 || len(q.trees) > 0 ||
		len(q.selectItems) != 1 || q.selectItems[0] != "*"
}

// shapedRPCQuery is rpcQuery for a result that is selected, filtered,
// ordered or paged. The call runs once (a CTE), however many times its
// rows are read, since it may write.
func shapedRPCQuery(b *sqlBuilder, rt *table, call, from string, q *query, win rowRange, singular, count bool) (string, error) {
	cols, err := selectList(rt, ident(rpcAlias), q.selectItems)
	if err != nil {
		return "", err
	}
	where, err := b.where(rt, q)
	if err != nil {
		return "", err
	}
	order, err := orderBy(rt, q.order)
	if err != nil {
		return "", err
	}
	page := "SELECT " + cols + " FROM pgrst_call " + ident(rpcAlias) + order
	if n := win.limit(); n >= 0 {
		page += " LIMIT " + b.bind(n)
	}
	if win.lower > 0 {
		page += " OFFSET " + b.bind(win.lower)
	}
	total := "NULL::bigint"
	if count {
		total = "(SELECT pg_catalog.count(*) FROM pgrst_call)"
	}
	source := call + " " + ident(rpcAlias)
	if from != "" {
		source = from + " CROSS JOIN LATERAL " + source
	}
	return "WITH pgrst_call AS MATERIALIZED (SELECT " + ident(rpcAlias) + ".* FROM " + source + where + ") " +
		"SELECT " + total + ", pg_catalog.count(*), " + jsonBody(singular) + " FROM (" + page + ") _t", nil
}

// parseArguments reads the body as a JSON object of named arguments; an
// empty body is no arguments, as in PostgREST.
func parseArguments(body []byte) (map[string]json.RawMessage, []string, error) {
	trimmed := bytes.TrimSpace(body)
	if len(body) == 0 {
		return map[string]json.RawMessage{}, nil, nil
	}
	if len(trimmed) == 0 || !json.Valid(trimmed) {
		return nil, nil, errInvalidBody("Empty or invalid json")
	}
	var args map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &args) != nil {
		return nil, nil, errInvalidBody("The body of an RPC call must be a JSON object of named arguments")
	}
	keys := make([]string, 0, len(args))
	for k := range args {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return args, keys, nil
}

// findFunction picks the overload PostgREST would: the one whose parameter
// names fit the argument keys (all required present, none unknown), or else
// the one taking a single unnamed json/jsonb parameter, which gets the body.
func findFunction(cat *catalog, name string, keys []string) (*function, bool, error) {
	overloads := cat.functions[name]
	var matches, whole []*function
	for _, f := range overloads {
		switch {
		case fitsArguments(f, keys):
			matches = append(matches, f)
		case len(f.params) == 1 && f.params[0].name == "" && (f.params[0].sqlType == "json" || f.params[0].sqlType == "jsonb"):
			whole = append(whole, f)
		}
	}
	switch {
	case len(matches) == 1:
		return matches[0], false, nil
	case len(matches) > 1:
		return nil, false, errAmbiguousFunction(signatures(matches))
	case len(whole) == 1:
		return whole[0], true, nil
	case len(whole) > 1:
		return nil, false, errAmbiguousFunction(signatures(whole))
	}
	return nil, false, errNoFunction(name, keys, functionHint(cat, name, overloads, keys))
}

func fitsArguments(f *function, keys []string) bool {
	names := make(map[string]bool, len(f.params))
	for _, p := range f.params {
		if p.name == "" {
			return false
		}
		names[p.name] = true
		if p.required && !slices.Contains(keys, p.name) {
			return false
		}
	}
	for _, k := range keys {
		if !names[k] {
			return false
		}
	}
	return true
}

func signatures(fs []*function) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.signature()
	}
	return out
}

// functionHint suggests, as PostgREST does, the closest parameter list when
// the name exists, or the closest function name when it does not.
func functionHint(cat *catalog, name string, overloads []*function, keys []string) string {
	if len(overloads) == 0 {
		return closest(name, cat.functionNames(), 0.75)
	}
	lists := make([]string, len(overloads))
	for i, f := range overloads {
		names := make([]string, len(f.params))
		for j, p := range f.params {
			names[j] = p.name
		}
		slices.Sort(names)
		lists[i] = "(" + strings.Join(names, ", ") + ")"
	}
	if best := closest("("+strings.Join(keys, ", ")+")", lists, 0.33); best != "" {
		return name + best
	}
	return ""
}
