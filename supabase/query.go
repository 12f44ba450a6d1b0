package supabase

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// DefaultMaxLimit is the largest limit= accepted when none is configured.
const DefaultMaxLimit = 1000

// maxFilterValueLength bounds one filter value; nothing legitimate is longer.
const maxFilterValueLength = 1024

// ListQuery is a validated PostgREST query on whatsapp_sessions or on a
// session's history. Only a ListQuery produced by ParseListQuery or
// ParseHistoryQuery ever reaches Supabase.
type ListQuery struct {
	Filters []Filter
	Select  []string // empty means every column
	Order   []OrderTerm
	Limit   int // always set: limit= or the configured maximum
	Offset  int
}

// Filter is one horizontal filter, such as status=not.in.(expired,pending).
type Filter struct {
	Column string
	Negate bool
	Op     string
	Values []string // one value, or the items of in
}

// OrderTerm is one item of order=.
type OrderTerm struct {
	Column     string
	Descending bool
	Nulls      string // "", "nullsfirst" or "nullslast"
}

var filterOperators = map[string]bool{
	"eq": true, "neq": true, "gt": true, "gte": true, "lt": true, "lte": true,
	"like": true, "ilike": true, "in": true, "is": true,
}

// ParseListQuery validates every parameter of a list request. Anything it
// does not understand is an invalid_request error that names the parameter,
// so that nothing unvalidated is forwarded to Supabase.
func ParseListQuery(params url.Values, maxLimit int) (ListQuery, error) {
	return sessionQueryColumns.parse(params, maxLimit)
}

// ParseHistoryQuery validates the parameters of a history request the same
// way: filters on the history's columns, select, order on id or at, limit
// and offset.
func ParseHistoryQuery(params url.Values, maxLimit int) (ListQuery, error) {
	return historyQueryColumns.parse(params, maxLimit)
}

func (cs columnSet) parse(params url.Values, maxLimit int) (ListQuery, error) {
	if maxLimit <= 0 {
		maxLimit = DefaultMaxLimit
	}
	var q ListQuery
	// Sorted keys make error messages and the forwarded query deterministic.
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	for _, key := range keys {
		values := params[key]
		switch key {
		case "select", "order", "limit", "offset":
			if len(values) != 1 {
				return ListQuery{}, paramError(key, "give %s at most once", key)
			}
		}
		var err error
		switch key {
		case "select":
			q.Select, err = cs.parseSelect(values[0])
		case "order":
			q.Order, err = cs.parseOrder(values[0])
		case "limit":
			q.Limit, err = parseBoundedInt(key, values[0], 1, maxLimit)
		case "offset":
			q.Offset, err = parseBoundedInt(key, values[0], 0, 1<<31-1)
		default:
			if _, ok := cs.kinds[key]; !ok {
				return ListQuery{}, paramError(key, "unknown parameter %q: use a column of %s (%s) or select, order, limit, offset", key, cs.name, strings.Join(cs.sorted(), ", "))
			}
			for _, v := range values {
				f, ferr := cs.parseFilter(key, v)
				if ferr != nil {
					return ListQuery{}, ferr
				}
				q.Filters = append(q.Filters, f)
			}
		}
		if err != nil {
			return ListQuery{}, err
		}
	}
	if q.Limit == 0 {
		// Like Supabase's max-rows: a list is always bounded.
		q.Limit = maxLimit
	}
	return q, nil
}

// ParseFilter validates one filter: column must be a whatsapp_sessions
// column and raw is "[not.]op.value" in PostgREST syntax.
func ParseFilter(column, raw string) (Filter, error) {
	return sessionQueryColumns.parseFilter(column, raw)
}

func (cs columnSet) parseFilter(column, raw string) (Filter, error) {
	kind, ok := cs.kinds[column]
	if !ok {
		return Filter{}, paramError(column, "unknown column %q", column)
	}
	if kind == kindTextList {
		return Filter{}, paramError(column, "%s is a list of names and cannot be filtered; filter on another column", column)
	}
	f := Filter{Column: column}
	rest := raw
	if strings.HasPrefix(rest, "not.") {
		f.Negate = true
		rest = rest[len("not."):]
	}
	op, value, found := strings.Cut(rest, ".")
	if !found || !filterOperators[op] {
		return Filter{}, paramError(column, "filter %s=%s: write it as %s=[not.]op.value with op one of eq, neq, gt, gte, lt, lte, like, ilike, in, is", column, clip(raw), column)
	}
	f.Op = op
	if len(value) > maxFilterValueLength {
		return Filter{}, paramError(column, "filter value for %s is longer than %d bytes", column, maxFilterValueLength)
	}

	switch op {
	case "is":
		if value != "null" {
			return Filter{}, paramError(column, "%s=is.%s: only is.null applies, since %s has no boolean column", column, clip(value), cs.name)
		}
		f.Values = []string{value}
		return f, nil
	case "in":
		items, err := parseInList(column, value)
		if err != nil {
			return Filter{}, err
		}
		for i, item := range items {
			if items[i], err = checkValue(column, kind, op, item); err != nil {
				return Filter{}, err
			}
		}
		f.Values = items
		return f, nil
	case "like", "ilike":
		if kind != kindText && kind != kindStatus && kind != kindSource {
			return Filter{}, paramError(column, "%s applies to text columns; %s is not text", op, column)
		}
	}
	v, err := checkValue(column, kind, op, value)
	if err != nil {
		return Filter{}, err
	}
	f.Values = []string{v}
	return f, nil
}

// checkValue validates one value against the column's type and returns it in
// the canonical form that is forwarded.
func checkValue(column string, kind columnKind, op, value string) (string, error) {
	if err := ValidateText(column, value); err != nil {
		return "", paramError(column, "filter value for %s must not contain control characters", column)
	}
	if op == "like" || op == "ilike" {
		return value, nil
	}
	switch kind {
	case kindBigint:
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return "", paramError(column, "%s compares integers; %q is not one", column, clip(value))
		}
	case kindInteger:
		if _, err := strconv.ParseInt(value, 10, 32); err != nil {
			return "", paramError(column, "%s compares integers; %q is not one", column, clip(value))
		}
	case kindStatus:
		if ValidateStatus(value) != nil {
			return "", paramError(column, "%s must be one of %s; got %q", column, strings.Join(Statuses, ", "), clip(value))
		}
	case kindSource:
		if !slices.Contains(Sources, value) {
			return "", paramError(column, "%s must be one of %s; got %q", column, strings.Join(Sources, ", "), clip(value))
		}
	case kindTimestamp:
		t, err := parseTimestamp(value)
		if err != nil {
			return "", paramError(column, "%s compares timestamps; write %q as RFC 3339, e.g. 2024-01-15T10:30:00Z (encode '+' as %%2B)", column, clip(value))
		}
		return t.UTC().Format(time.RFC3339Nano), nil
	}
	return value, nil
}

var timestampLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02"}

// parseTimestamp accepts RFC 3339, a date-time without zone (taken as UTC,
// like Supabase's UTC databases do) and a bare date. A space where the
// offset's '+' was is accepted too: an unencoded '+' arrives as a space.
func parseTimestamp(value string) (time.Time, error) {
	if i := strings.LastIndexByte(value, ' '); i > 10 {
		value = value[:i] + "+" + value[i+1:]
	}
	var err error
	for _, layout := range timestampLayouts {
		var t time.Time
		if t, err = time.Parse(layout, value); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// parseInList splits "(a,b,\"c,d\")" into its items, honouring PostgREST's
// double quotes and backslash escapes.
func parseInList(column, value string) ([]string, error) {
	if len(value) < 2 || value[0] != '(' || value[len(value)-1] != ')' {
		return nil, paramError(column, "%s=in. takes a list in parentheses, e.g. in.(a,b)", column)
	}
	body := value[1 : len(value)-1]
	if body == "" {
		return nil, paramError(column, "%s=in.() needs at least one value", column)
	}
	var items []string
	var cur strings.Builder
	quoted := false
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case quoted && c == '\\' && i+1 < len(body):
			i++
			cur.WriteByte(body[i])
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			items = append(items, cur.String())
			cur.Reset()
		case (c == '(' || c == ')') && !quoted:
			return nil, paramError(column, "%s=in. values containing parentheses must be double-quoted", column)
		default:
			cur.WriteByte(c)
		}
	}
	if quoted {
		return nil, paramError(column, "%s=in. has an unterminated double quote", column)
	}
	items = append(items, cur.String())
	if len(items) > 100 {
		return nil, paramError(column, "%s=in. takes at most 100 values", column)
	}
	return items, nil
}

func (cs columnSet) parseSelect(value string) ([]string, error) {
	if value == "*" {
		return nil, nil
	}
	parts := strings.Split(value, ",")
	cols := make([]string, 0, len(parts))
	star := false
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "*" {
			star = true
			continue
		}
		if _, ok := cs.kinds[p]; !ok {
			return nil, paramError("select", "select: %q is not a column of %s (embedding and renaming are not supported)", clip(p), cs.name)
		}
		cols = append(cols, p)
	}
	if star {
		return nil, nil // "*" already includes every listed column
	}
	return cols, nil
}

func (cs columnSet) parseOrder(value string) ([]OrderTerm, error) {
	var terms []OrderTerm
	for _, item := range strings.Split(value, ",") {
		parts := strings.Split(strings.TrimSpace(item), ".")
		t := OrderTerm{Column: parts[0]}
		if _, ok := cs.kinds[t.Column]; !ok {
			return nil, paramError("order", "order: %q is not a column of %s", clip(t.Column), cs.name)
		}
		if cs.orderable != nil && !slices.Contains(cs.orderable, t.Column) {
			return nil, paramError("order", "order: %s can be ordered by %s only", cs.name, strings.Join(cs.orderable, " or "))
		}
		rest := parts[1:]
		if len(rest) > 0 && (rest[0] == "asc" || rest[0] == "desc") {
			t.Descending = rest[0] == "desc"
			rest = rest[1:]
		}
		if len(rest) > 0 && (rest[0] == "nullsfirst" || rest[0] == "nullslast") {
			t.Nulls = rest[0]
			rest = rest[1:]
		}
		if len(rest) > 0 {
			return nil, paramError("order", "order: write each item as column[.asc|.desc][.nullsfirst|.nullslast]; got %q", clip(item))
		}
		terms = append(terms, t)
	}
	return terms, nil
}

func parseBoundedInt(key, value string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(value)
	if err != nil || n < lo || n > hi {
		return 0, paramError(key, "%s must be an integer from %d to %d", key, lo, hi)
	}
	return n, nil
}

// paramError is an invalid_request error whose details name the parameter.
func paramError(param, format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf(format, args...), Details: map[string]string{"parameter": param}}
}

// clip shortens caller-supplied text before it is echoed in a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
