package localrest

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// query is a parsed query string: what to select, which rows, in which
// order, and which page.
type query struct {
	selectItems []string // column names, or "*"
	embeds      []*embed // to-one resources embedded in select=
	filters     []*filter
	trees       []*logicTree
	order       []orderTerm
	limit       *int64
	offset      int64
	// paged records whether order, limit or offset were given, which only
	// reads honour here.
	paged bool
	// bodyColumns records columns= or on_conflict=, which shape request
	// bodies in PostgREST and are not implemented here.
	bodyColumns bool
}

// orderTerm is one column of order=.
type orderTerm struct {
	column string
	desc   bool
	nulls  string // "", "first" or "last"
}

// parseQuery parses a raw query string with PostgREST's grammar. The order
// of the checks follows PostgREST, so the same bad request gets the same error.
func parseQuery(raw string) (*query, error) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return nil, errParse("query string", raw, 1, err.Error())
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)

	q := &query{selectItems: []string{"*"}}
	for _, v := range values["order"] {
		terms, err := parseOrder(v)
		if err != nil {
			return nil, err
		}
		q.order = append(q.order, terms...)
		q.paged = true
	}
	for _, k := range keys {
		if k != "and" && k != "or" && k != "not.and" && k != "not.or" {
			continue
		}
		for _, v := range values[k] {
			t, err := parseLogic(k, v)
			if err != nil {
				return nil, err
			}
			q.trees = append(q.trees, t)
		}
	}
	if v, ok := values["select"]; ok {
		items, embeds, err := parseSelect(v[0])
		if err != nil {
			return nil, err
		}
		q.selectItems, q.embeds = items, embeds
	}
	for _, k := range keys {
		switch k {
		case "select", "order", "and", "or", "not.and", "not.or", "apikey":
			continue
		case "columns", "on_conflict":
			q.bodyColumns = true
			continue
		case "limit", "offset":
			if err := q.parsePage(k, values[k][0]); err != nil {
				return nil, err
			}
			continue
		}
		if resource, ok := embeddedParam(k); ok {
			if q.embedFor(resource) != nil {
				return nil, errNotImplemented("order, limit, offset and logic trees of an embedded resource")
			}
			return nil, errNotEmbedded(resource)
		}
		for _, v := range values[k] {
			f, err := parseFilter(k, v)
			if err != nil {
				return nil, err
			}
			q.filters = append(q.filters, f)
		}
	}
	if err := q.checkEmbeddedFilters(); err != nil {
		return nil, err
	}
	return q, nil
}

// embeddedParam recognises order, limit, offset, and, or addressed to an
// embedded resource, such as clients.order=id.
func embeddedParam(key string) (string, bool) {
	parts := strings.Split(key, ".")
	if len(parts) < 2 {
		return "", false
	}
	switch parts[len(parts)-1] {
	case "order", "limit", "offset", "and", "or":
		for _, p := range parts {
			if p != "not" {
				return p, true
			}
		}
	}
	return "", false
}

func (q *query) parsePage(key, v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return errParse(key+" parameter", v, 1, "expecting a non-negative integer")
	}
	q.paged = true
	if key == "limit" {
		if n < 0 {
			return errNegativeLimit()
		}
		q.limit = &n
		return nil
	}
	// A negative offset is no offset, as in PostgREST.
	q.offset = max(n, 0)
	return nil
}

// parseSelect parses select= as a comma list of columns, * and to-one
// embedded resources (see embed). Aliases, casts, aggregates and nested
// embeds are PostgREST features the gateway never uses; they are refused
// rather than half-served.
func parseSelect(v string) ([]string, []*embed, error) {
	s := &scanner{src: v}
	items := []string{}
	var embeds []*embed
	s.skipSpace()
	if s.atEnd() {
		return []string{"*"}, nil, nil // an empty select is every column, as in PostgREST
	}
	for {
		s.skipSpace()
		if s.peek() == '*' {
			s.pos++
			items = append(items, "*")
		} else {
			name, err := s.fieldName()
			if err != nil {
				return nil, nil, toParseError(err, "select parameter", v, v)
			}
			if s.peek() == '(' || s.peek() == '!' {
				e, err := s.parseEmbed(name)
				if err != nil {
					return nil, nil, toParseError(err, "select parameter", v, v)
				}
				embeds = append(embeds, e)
			} else {
				items = append(items, name)
			}
		}
		if err := s.rejectJSONPath(); err != nil {
			return nil, nil, err
		}
		s.skipSpace()
		switch {
		case s.atEnd():
			return items, embeds, nil
		case s.peek() == ',':
			s.pos++
			continue
		case s.peek() == ':' || s.peek() == '.':
			return nil, nil, errNotImplemented("aliases, casts and aggregates in select")
		default:
			return nil, nil, toParseError(s.fail(`"," or end of input`), "select parameter", v, v)
		}
	}
}

// parseOrder parses order=col[.asc|.desc][.nullsfirst|.nullslast],...
func parseOrder(v string) ([]orderTerm, error) {
	s := &scanner{src: v}
	var terms []orderTerm
	for {
		s.skipSpace()
		name, err := s.fieldName()
		if err != nil {
			return nil, toParseError(err, "order", v, v)
		}
		if err := s.rejectJSONPath(); err != nil {
			return nil, err
		}
		if s.peek() == '(' {
			return nil, toParseError(&syntaxError{pos: s.pos,
				details: "ordering by an embedded resource is not supported by the local PostgREST server"}, "order", v, v)
		}
		s.skipSpace()
		term := orderTerm{column: name}
		if err := s.orderModifiers(&term); err != nil {
			return nil, toParseError(err, "order", v, v)
		}
		terms = append(terms, term)
		s.skipSpace()
		if s.atEnd() {
			return terms, nil
		}
		if s.peek() != ',' {
			return nil, toParseError(s.fail(`delimiter (.), "," or end of input`), "order", v, v)
		}
		s.pos++
	}
}

// orderModifiers reads the optional direction and then the optional nulls
// placement, each introduced by a dot.
func (s *scanner) orderModifiers(t *orderTerm) error {
	if s.peek() != '.' {
		return nil
	}
	s.pos++
	switch {
	case s.hasPrefix("asc"):
		s.pos += len("asc")
	case s.hasPrefix("desc"):
		s.pos += len("desc")
		t.desc = true
	case s.hasPrefix("nullsfirst"), s.hasPrefix("nullslast"):
		s.pos-- // no direction: read the dot again as the nulls delimiter
	default:
		return s.fail(`"asc", "desc", "nullsfirst" or "nullslast"`)
	}
	if s.peek() != '.' {
		return nil
	}
	s.pos++
	switch {
	case s.hasPrefix("nullsfirst"):
		s.pos += len("nullsfirst")
		t.nulls = "first"
	case s.hasPrefix("nullslast"):
		s.pos += len("nullslast")
		t.nulls = "last"
	default:
		return s.fail(`"nullsfirst" or "nullslast"`)
	}
	return nil
}
