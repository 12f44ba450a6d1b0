package localrest

import (
	"strconv"
	"strings"
)

// filter is one horizontal filter, column=[not.]op.value.
type filter struct {
	// resource is the embedded resource a dotted key addresses
	// (sesiones.estado=eq.x); empty for the table read itself.
	resource string
	column   string
	negate   bool
	op       string   // an operator operatorKind reports as supported
	value    string   // the operand of every operator but in
	list     []string // the operand of in
}

// logicTree is and=(...), or=(...), optionally negated, holding filters
// and nested trees.
type logicTree struct {
	negate bool
	or     bool
	items  []logicItem
}

// logicItem is exactly one of a filter or a nested tree.
type logicItem struct {
	filter *filter
	tree   *logicTree
}

// operatorKind sorts an operator name: one the gateway forwards, one of
// PostgREST's that this server does not implement (refused as not
// implemented rather than as bad syntax, which would mislead whoever reads
// the error), or no operator at all.
func operatorKind(op string) (supported, known bool) {
	switch op {
	case "eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "in", "is":
		return true, true
	case "match", "imatch", "isdistinct", "cs", "cd", "ov", "sl", "sr", "nxr", "nxl", "adj",
		"fts", "plfts", "phfts", "wfts":
		return false, true
	}
	return false, false
}

// isValue reports whether v is an operand of is (already lower-cased).
func isValue(v string) bool {
	switch v {
	case "null", "not_null", "true", "false", "unknown":
		return true
	}
	return false
}

// maxLogicDepth bounds nesting so a hostile query string cannot make the
// parser or PostgreSQL's expression stack recurse without limit.
const maxLogicDepth = 32

func isOperatorRune(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }

// parseFilter parses one filter parameter, key=value. A dotted key names a
// column of an embedded resource; deeper paths (nested embeds) are refused.
func parseFilter(key, value string) (*filter, error) {
	ks := &scanner{src: key}
	path, err := ks.treePath()
	if err != nil {
		return nil, toParseError(err, "tree path", key, key)
	}
	if len(path) > 2 {
		return nil, errNotImplemented("filters on nested embedded resources")
	}
	vs := &scanner{src: value}
	f, err := vs.opExpr(path[len(path)-1], false)
	if err == nil && !vs.atEnd() {
		err = vs.fail("end of input")
	}
	if err != nil {
		return nil, toParseError(err, "filter", value, value)
	}
	if len(path) == 2 {
		f.resource = path[0]
	}
	return f, nil
}

// parseLogic parses and=(...) style parameters; key is and, or, not.and or
// not.or. Like PostgREST it parses key+value, so "and(" is where columns count from.
func parseLogic(key, value string) (*logicTree, error) {
	src := key + value
	s := &scanner{src: src}
	t, err := s.logicTree(0)
	if err == nil && !s.atEnd() {
		err = s.fail("end of input")
	}
	if err != nil {
		return nil, toParseError(err, "logic tree", value, src)
	}
	return t, nil
}

// treePath reads a filter key: field names separated by dots.
func (s *scanner) treePath() ([]string, error) {
	var path []string
	for {
		name, err := s.fieldName()
		if err != nil {
			return nil, err
		}
		path = append(path, name)
		if s.peek() != '.' {
			break
		}
		s.pos++
	}
	if err := s.rejectJSONPath(); err != nil {
		return nil, err
	}
	if !s.atEnd() {
		return nil, s.fail(`delimiter (.) or end of input`)
	}
	return path, nil
}

// opExpr reads [not.]operator.operand. Inside a logic tree the operand ends
// at ',' or ')' unless quoted; at the top level it is the rest of the value.
func (s *scanner) opExpr(col string, inLogic bool) (*filter, error) {
	f := &filter{column: col}
	if s.hasPrefix("not.") {
		f.negate = true
		s.pos += len("not.")
	}
	start := s.pos
	for isOperatorRune(s.peek()) {
		s.pos++
	}
	f.op = s.src[start:s.pos]
	switch supported, known := operatorKind(f.op); {
	case supported:
	case known:
		return nil, errNotImplemented("the '" + f.op + "' operator")
	default:
		s.pos = start
		return nil, s.fail(`operator (eq, gt, ...)`)
	}
	if s.peek() == '(' && f.op != "in" && f.op != "is" && f.op != "neq" {
		return nil, errNotImplemented("the any/all operator modifiers")
	}
	if s.peek() != '.' {
		return nil, s.fail("delimiter (.)")
	}
	s.pos++
	switch f.op {
	case "in":
		list, err := s.listValue()
		if err != nil {
			return nil, err
		}
		f.list = list
	case "is":
		start := s.pos
		for isOperatorRune(s.peek()) || s.peek() == '_' {
			s.pos++
		}
		f.value = strings.ToLower(s.src[start:s.pos])
		if !isValue(f.value) {
			s.pos = start
			return nil, s.fail("isVal: (null, not_null, true, false, unknown)")
		}
	default:
		if inLogic {
			f.value = s.logicValue()
		} else {
			f.value = s.src[s.pos:]
			s.pos = len(s.src)
		}
	}
	return f, nil
}

// listValue reads the (a,b,"c,d") operand of in.
func (s *scanner) listValue() ([]string, error) {
	s.skipSpace()
	if s.peek() != '(' {
		return nil, s.fail(`"("`)
	}
	s.pos++
	s.skipSpace()
	list := []string{}
	if s.peek() == ')' { // in.() is the empty list; in.("") holds one empty string
		s.pos++
		s.skipSpace()
		return list, nil
	}
	for {
		if v, ok := s.quotedItem(); ok {
			list = append(list, v)
		} else {
			list = append(list, s.plainItem())
		}
		if s.peek() != ',' {
			break
		}
		s.pos++
	}
	if s.peek() != ')' {
		return nil, s.fail(`"," or ")"`)
	}
	s.pos++
	s.skipSpace()
	return list, nil
}

// logicValue reads an operand inside a logic tree: a quoted value, a
// {...} array literal, or plain text up to ',' or ')'.
func (s *scanner) logicValue() string {
	if s.peek() == '"' {
		if v, ok := s.quotedItem(); ok {
			return v
		}
	}
	if s.peek() == '{' {
		if end := strings.IndexAny(s.src[s.pos+1:], "{}"); end >= 0 && s.src[s.pos+1+end] == '}' {
			v := s.src[s.pos : s.pos+end+2]
			s.pos += end + 2
			return v
		}
	}
	return s.plainItem()
}

// logicTree reads [not.](and|or)(item,item,...).
func (s *scanner) logicTree(depth int) (*logicTree, error) {
	if depth >= maxLogicDepth {
		return nil, &syntaxError{pos: s.pos, details: "logic trees may nest at most " + strconv.Itoa(maxLogicDepth) + " levels deep"}
	}
	t := &logicTree{}
	if s.hasPrefix("not.") {
		t.negate = true
		s.pos += len("not.")
	}
	switch {
	case s.hasPrefix("and"):
		s.pos += len("and")
	case s.hasPrefix("or"):
		s.pos += len("or")
		t.or = true
	default:
		return nil, s.fail("logic operator (and, or)")
	}
	s.skipSpace()
	if s.peek() != '(' {
		return nil, s.fail(`"("`)
	}
	s.pos++
	for {
		s.skipSpace()
		item, err := s.logicItem(depth)
		if err != nil {
			return nil, err
		}
		t.items = append(t.items, item)
		s.skipSpace()
		if s.peek() == ',' {
			s.pos++
			continue
		}
		if s.peek() != ')' {
			return nil, s.fail(`"," or ")"`)
		}
		s.pos++
		s.skipSpace()
		return t, nil
	}
}

// logicItem tries a filter first and a nested tree second, as PostgREST
// does, so a column may even be called "and". When both fail, the error that
// got further into the input is the one worth reporting.
func (s *scanner) logicItem(depth int) (logicItem, error) {
	start := s.pos
	f, ferr := s.logicFilter()
	if ferr == nil {
		return logicItem{filter: f}, nil
	}
	fse, ok := ferr.(*syntaxError)
	if !ok {
		return logicItem{}, ferr
	}
	s.pos = start
	t, terr := s.logicTree(depth + 1)
	if terr == nil {
		return logicItem{tree: t}, nil
	}
	if tse, ok := terr.(*syntaxError); ok && fse.pos > tse.pos {
		return logicItem{}, fse
	}
	return logicItem{}, terr
}

// logicFilter reads column.[not.]op.value inside a tree.
func (s *scanner) logicFilter() (*filter, error) {
	name, err := s.fieldName()
	if err != nil {
		return nil, err
	}
	if err := s.rejectJSONPath(); err != nil {
		return nil, err
	}
	s.skipSpace()
	if s.peek() != '.' {
		return nil, s.fail("delimiter (.)")
	}
	s.pos++
	return s.opExpr(name, true)
}
