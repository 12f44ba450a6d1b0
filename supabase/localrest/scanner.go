package localrest

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// scanner walks one query-string value for the hand-written parsers of
// PostgREST's grammar. Positions are byte offsets; errors report them as the
// 1-based character column PostgREST's parser reports.
type scanner struct {
	src string
	pos int
}

// syntaxError is a parse failure that another alternative may still
// recover from; the caller turns the one that got furthest into PGRST100.
type syntaxError struct {
	pos     int
	details string
}

func (e *syntaxError) Error() string { return e.details }

const eof = -1

func (s *scanner) peek() rune {
	if s.pos >= len(s.src) {
		return eof
	}
	r, _ := utf8.DecodeRuneInString(s.src[s.pos:])
	return r
}

func (s *scanner) advance() {
	_, n := utf8.DecodeRuneInString(s.src[s.pos:])
	s.pos += n
}

func (s *scanner) atEnd() bool { return s.pos >= len(s.src) }

func (s *scanner) hasPrefix(p string) bool { return strings.HasPrefix(s.src[s.pos:], p) }

// skipSpace skips what PostgREST's lexeme skips: spaces and tabs only.
func (s *scanner) skipSpace() {
	for s.peek() == ' ' || s.peek() == '\t' {
		s.pos++
	}
}

// fail reports what was found at the current position and what would have
// been accepted there, in the words of PostgREST's parse errors.
func (s *scanner) fail(expecting string) *syntaxError {
	found := "end of input"
	if r := s.peek(); r != eof {
		found = fmt.Sprintf("%q", string(r))
	}
	return &syntaxError{pos: s.pos, details: "unexpected " + found + " expecting " + expecting}
}

func isIdentRune(r rune) bool {
	return r != eof && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == ' ' || r == '$')
}

// fieldName reads a column name: a double-quoted name with backslash
// escapes, or identifier characters (letters, digits, _ $ and spaces) joined
// by dashes that do not start a JSON arrow. Unquoted names are trimmed.
func (s *scanner) fieldName() (string, error) {
	if s.peek() == '"' {
		return s.quoted()
	}
	var parts []string
	for {
		start := s.pos
		for isIdentRune(s.peek()) {
			s.advance()
		}
		if s.pos == start {
			return "", s.fail("field name (* or [a..z0..9_$])")
		}
		parts = append(parts, strings.TrimSpace(s.src[start:s.pos]))
		if s.hasPrefix("-") && !s.hasPrefix("->") {
			s.pos++
			continue
		}
		return strings.Join(parts, "-"), nil
	}
}

// quoted reads "..." where a backslash makes the next character literal.
// Bytes are copied as they are, so invalid UTF-8 reaches PostgreSQL (which
// rejects it) instead of being silently replaced.
func (s *scanner) quoted() (string, error) {
	s.pos++ // opening quote
	var b strings.Builder
	for {
		switch s.peek() {
		case eof:
			return "", s.fail(`"\""`)
		case '"':
			s.pos++
			return b.String(), nil
		case '\\':
			s.pos++
			if s.peek() == eof {
				return "", s.fail("any character")
			}
		}
		start := s.pos
		s.advance()
		b.WriteString(s.src[start:s.pos])
	}
}

// quotedItem reads a quoted value only when a ',' or ')' (or the end)
// follows it, as PostgREST does in lists and logic trees; otherwise the
// quotes are part of a plain value and the scanner is left untouched.
func (s *scanner) quotedItem() (string, bool) {
	start := s.pos
	v, err := s.quoted()
	if err == nil && (s.atEnd() || s.peek() == ',' || s.peek() == ')') {
		return v, true
	}
	s.pos = start
	return "", false
}

// plainItem reads up to the next ',' or ')'.
func (s *scanner) plainItem() string {
	start := s.pos
	for !s.atEnd() && s.peek() != ',' && s.peek() != ')' {
		s.advance()
	}
	return s.src[start:s.pos]
}

// rejectJSONPath refuses the -> and ->> operators, which address inside JSON
// columns; the gateway has none to address.
func (s *scanner) rejectJSONPath() error {
	if s.hasPrefix("->") {
		return errNotImplemented("the JSON path operators -> and ->>")
	}
	return nil
}

// toParseError words a syntax error as PGRST100 for the parameter it came
// from; src is what was parsed, input is what the message quotes.
func toParseError(err error, what, input, src string) error {
	se, ok := err.(*syntaxError)
	if !ok {
		return err
	}
	pos := min(se.pos, len(src))
	return errParse(what, input, utf8.RuneCountInString(src[:pos])+1, se.details)
}
