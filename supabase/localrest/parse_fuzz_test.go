package localrest

import (
	"reflect"
	"strings"
	"testing"
)

// The fuzz targets check two things of the query-string parsers: they never
// panic on any input, and whatever they accept means the same thing after
// being written back in canonical form (every name and value quoted) and
// parsed again. The committed corpus is in testdata/fuzz/.

func FuzzParseFilter(f *testing.F) {
	for _, seed := range [][2]string{
		{"id", "eq.1"},
		{"status", "not.in.(a,\"b,c\",\"q\\\"x\")"},
		{"sesion_id", "is.NULL"},
		{"session_id", "like.*abc*"},
		{"\"weird.col\"", "neq."},
		{"a.b", "eq.1"},
		{"id", "in.()"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		got, err := parseFilter(key, value)
		if err != nil {
			if _, ok := err.(*apiError); !ok {
				t.Fatalf("parseFilter(%q, %q): got error of type %T, want *apiError", key, value, err)
			}
			return
		}
		key2 := quoteName(got.column)
		if got.resource != "" {
			key2 = quoteName(got.resource) + "." + key2
		}
		again, err := parseFilter(key2, renderOpExpr(got, false))
		if err != nil {
			t.Fatalf("reparse of %q=%q: got error %v, want none", key, value, err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("round trip of %q=%q: got %+v, want %+v", key, value, again, got)
		}
	})
}

func FuzzParseLogic(f *testing.F) {
	for _, seed := range [][2]string{
		{"or", "(id.eq.1,id.eq.2)"},
		{"and", "(id.gt.1,or(status.eq.\"a,b\",status.is.null))"},
		{"not.and", "(a.in.(1,2),not.or(b.like.*x*,c.neq.{1,2}))"},
		{"or", "( id.eq.1 , and(x.eq.\"q\\\\\"))"},
		{"or", "(id.eq.1"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		switch key {
		case "and", "or", "not.and", "not.or":
		default:
			key = "or"
		}
		got, err := parseLogic(key, value)
		if err != nil {
			if _, ok := err.(*apiError); !ok {
				t.Fatalf("parseLogic(%q, %q): got error of type %T, want *apiError", key, value, err)
			}
			return
		}
		rendered := renderTree(got)
		k, v, _ := strings.Cut(rendered, "(")
		again, err := parseLogic(k, "("+v)
		if err != nil {
			t.Fatalf("reparse of %q=%q as %q: got error %v, want none", key, value, rendered, err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("round trip of %q=%q: got %+v, want %+v", key, value, again, got)
		}
	})
}

func quoteName(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// renderOpExpr writes a filter's operator and operand. Top-level operands
// are taken verbatim by the parser, so only tree operands are quoted.
func renderOpExpr(f *filter, inTree bool) string {
	var b strings.Builder
	if f.negate {
		b.WriteString("not.")
	}
	b.WriteString(f.op + ".")
	switch {
	case f.op == "in":
		items := make([]string, len(f.list))
		for i, v := range f.list {
			items[i] = quoteName(v)
		}
		b.WriteString("(" + strings.Join(items, ",") + ")")
	case f.op == "is" || !inTree:
		b.WriteString(f.value)
	default:
		b.WriteString(quoteName(f.value))
	}
	return b.String()
}

func renderTree(t *logicTree) string {
	var b strings.Builder
	if t.negate {
		b.WriteString("not.")
	}
	if t.or {
		b.WriteString("or(")
	} else {
		b.WriteString("and(")
	}
	for i, item := range t.items {
		if i > 0 {
			b.WriteString(",")
		}
		if item.filter != nil {
			b.WriteString(quoteName(item.filter.column) + "." + renderOpExpr(item.filter, true))
		} else {
			b.WriteString(renderTree(item.tree))
		}
	}
	b.WriteString(")")
	return b.String()
}
