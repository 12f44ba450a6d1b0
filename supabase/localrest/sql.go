package localrest

import (
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// sqlBuilder collects bind parameters while SQL text is assembled. The rule
// it exists to keep: request values only ever travel as parameters, sent as
// text with no type of their own, so PostgreSQL resolves them against the
// column exactly as it resolves PostgREST's unknown-typed literals: the full
// type, char(n) and bit(n) included, with nothing truncated, and a bad
// value is PostgreSQL's own error (22P02, 22001, 42883), not ours.
type sqlBuilder struct {
	args []any
}

func (b *sqlBuilder) bind(v any) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(len(b.args))
}

// ident quotes an identifier that came from the catalogue.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// qualified is the schema-qualified name of a catalogue table, or the alias
// of a function's rows.
func qualified(t *table) string {
	if t.alias != "" {
		return ident(t.alias)
	}
	return pgx.Identifier{exposedSchema, t.name}.Sanitize()
}

// resolve finds a column named by the request, or answers what PostgreSQL
// would have answered PostgREST for it.
func resolve(t *table, name string) (*column, error) {
	if c, ok := t.byName[name]; ok {
		return c, nil
	}
	return nil, errUndefinedColumn(t.name, name)
}

// selectList renders select= against rel, the table or CTE rows come from.
func selectList(t *table, rel string, items []string) (string, error) {
	parts := make([]string, 0, len(items))
	for _, item := range items {
		if item == "*" {
			parts = append(parts, rel+".*")
			continue
		}
		c, err := resolve(t, item)
		if err != nil {
			return "", err
		}
		parts = append(parts, rel+"."+ident(c.name))
	}
	return strings.Join(parts, ", "), nil
}

// where renders all filters and logic trees, ANDed, as " WHERE ..." or "".
func (b *sqlBuilder) where(t *table, q *query) (string, error) {
	var conds []string
	for _, f := range q.filters {
		if f.resource != "" {
			continue // rendered with its embed, see embedSQL
		}
		c, err := b.filter(t, f)
		if err != nil {
			return "", err
		}
		conds = append(conds, c)
	}
	for _, tree := range q.trees {
		c, err := b.logic(t, tree)
		if err != nil {
			return "", err
		}
		conds = append(conds, c)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), nil
}

func (b *sqlBuilder) logic(t *table, tree *logicTree) (string, error) {
	parts := make([]string, 0, len(tree.items))
	for _, item := range tree.items {
		var s string
		var err error
		if item.filter != nil {
			s, err = b.filter(t, item.filter)
		} else {
			s, err = b.logic(t, item.tree)
		}
		if err != nil {
			return "", err
		}
		parts = append(parts, s)
	}
	op := " AND "
	if tree.or {
		op = " OR "
	}
	out := "(" + strings.Join(parts, op) + ")"
	if tree.negate {
		out = "NOT " + out
	}
	return out, nil
}

// comparison is the SQL operator for a comparing filter operator.
func comparison(op string) string {
	switch op {
	case "eq":
		return "="
	case "neq":
		return "<>"
	case "gt":
		return ">"
	case "gte":
		return ">="
	case "lt":
		return "<"
	case "lte":
		return "<="
	case "like":
		return "LIKE"
	default:
		return "ILIKE"
	}
}

// filter renders one filter. Column references are schema-qualified so
// they stay unambiguous in UPDATE ... FROM.
func (b *sqlBuilder) filter(t *table, f *filter) (string, error) {
	return b.filterOn(t, qualified(t), f)
}

// filterOn renders one filter on a column of t reached in SQL as rel.
func (b *sqlBuilder) filterOn(t *table, rel string, f *filter) (string, error) {
	c, err := resolve(t, f.column)
	if err != nil {
		return "", err
	}
	col := rel + "." + ident(c.name)
	var cond string
	switch f.op {
	case "is":
		cond = col + " IS " + strings.ToUpper(strings.ReplaceAll(f.value, "_", " "))
	case "in":
		if len(f.list) == 0 {
			cond = col + " = ANY('{}')" // in.() matches nothing, as in PostgREST
		} else {
			cond = col + " = ANY(" + b.bind(arrayLiteral(f.list)) + ")"
		}
	case "like", "ilike":
		// * stands for %, which would need percent-encoding in a URL.
		cond = col + " " + comparison(f.op) + " " + b.bind(strings.ReplaceAll(f.value, "*", "%"))
	default:
		cond = col + " " + comparison(f.op) + " " + b.bind(f.value)
	}
	if f.negate {
		cond = "NOT " + cond
	}
	return cond, nil
}

// arrayLiteral renders values as a PostgreSQL array literal of quoted
// elements, which PostgreSQL reads as an array of the column's own type.
func arrayLiteral(values []string) string {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, v := range values {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('"')
		for i := 0; i < len(v); i++ { // bytes, so invalid UTF-8 reaches PostgreSQL as sent
			if v[i] == '"' || v[i] == '\\' {
				sb.WriteByte('\\')
			}
			sb.WriteByte(v[i])
		}
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
	return sb.String()
}

// orderBy renders order= as " ORDER BY ..." or "".
func orderBy(t *table, terms []orderTerm) (string, error) {
	if len(terms) == 0 {
		return "", nil
	}
	parts := make([]string, 0, len(terms))
	for _, term := range terms {
		c, err := resolve(t, term.column)
		if err != nil {
			return "", err
		}
		p := qualified(t) + "." + ident(c.name)
		if term.desc {
			p += " DESC"
		} else {
			p += " ASC"
		}
		switch term.nulls {
		case "first":
			p += " NULLS FIRST"
		case "last":
			p += " NULLS LAST"
		}
		parts = append(parts, p)
	}
	return " ORDER BY " + strings.Join(parts, ", "), nil
}

// jsonBody is the SQL that aggregates rows of _t into the response body:
// an array, or the single object an object Accept asked for.
func jsonBody(singular bool) string {
	if singular {
		return "coalesce(json_agg(_t)->0, 'null')::text"
	}
	return "coalesce(json_agg(_t), '[]')::text"
}
