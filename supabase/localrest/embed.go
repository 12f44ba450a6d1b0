package localrest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// embed is one to-one resource embedded through select=, such as
// sesiones!whatsapp_sessions_sesion_id_fkey!inner(id,estado). PostgREST's
// rules that it follows (docs: references/api/resource_embedding):
//   - the embedded table is reached through a foreign key of the table
//     read; a !hint names the constraint or the foreign key column;
//   - !inner keeps only rows whose related row exists and passes the
//     filters addressed to it (sesiones.col=eq.x); without it, those
//     filters only blank the embedded object;
//   - an empty embed, sesiones!inner(), adds no key to the rows: it only
//     filters.
type embed struct {
	name  string
	hint  string
	inner bool
	items []string // columns or "*"; empty selects nothing
}

// relationship is a many-to-one foreign key of a catalogue table.
type relationship struct {
	constraint string
	columns    []string // of the referencing table
	target     string   // referenced table
	refColumns []string // of the referenced table, same order as columns
}

// parseEmbed reads what follows an embedded resource's name in select=:
// zero or more !hint / !inner / !left, then (columns). s is just past the name.
func (s *scanner) parseEmbed(name string) (*embed, error) {
	e := &embed{name: name}
	for s.peek() == '!' {
		s.pos++
		word, err := s.fieldName()
		if err != nil {
			return nil, err
		}
		switch {
		case word == "inner":
			e.inner = true
		case word == "left":
			e.inner = false
		case e.hint == "":
			e.hint = word
		default:
			return nil, s.fail(`"(" after the embedding hint`)
		}
	}
	if s.peek() != '(' {
		return nil, s.fail(`"("`)
	}
	s.pos++
	s.skipSpace()
	for s.peek() != ')' {
		if s.peek() == '*' {
			s.pos++
			e.items = append(e.items, "*")
		} else {
			col, err := s.fieldName()
			if err != nil {
				return nil, err
			}
			if err := s.rejectJSONPath(); err != nil {
				return nil, err
			}
			switch s.peek() {
			case '(', '!':
				return nil, errNotImplemented("nested resource embedding")
			case ':':
				return nil, errNotImplemented("aliases, casts and aggregates in select")
			}
			e.items = append(e.items, col)
		}
		s.skipSpace()
		if s.peek() == ',' {
			s.pos++
			s.skipSpace()
			continue
		}
		if s.peek() != ')' {
			return nil, s.fail(`"," or ")"`)
		}
	}
	s.pos++
	return e, nil
}

// embedFor returns the embed of select= that a dotted filter key names.
func (q *query) embedFor(resource string) *embed {
	for _, e := range q.embeds {
		if e.name == resource {
			return e
		}
	}
	return nil
}

// resolveEmbed finds the foreign key an embed travels, as PostgREST's
// schema cache does: from t to the named table, narrowed by the hint.
func (c *catalog) resolveEmbed(t *table, e *embed) (*relationship, *table, error) {
	target, ok := c.tables[e.name]
	if !ok {
		return nil, nil, errNoRelationship(t.name, e.name, e.hint)
	}
	var matches []*relationship
	for _, r := range c.relationships[t.name] {
		if r.target != e.name {
			continue
		}
		if e.hint == "" || e.hint == r.constraint || (len(r.columns) == 1 && e.hint == r.columns[0]) {
			matches = append(matches, r)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], target, nil
	case 0:
		for _, r := range c.relationships[e.name] {
			if r.target == t.name {
				return nil, nil, errNotImplemented("one-to-many resource embedding")
			}
		}
		return nil, nil, errNoRelationship(t.name, e.name, e.hint)
	default:
		return nil, nil, errAmbiguousEmbedding(t.name, e.name, matches)
	}
}

// embedSQL renders the embeds of a read of t (reachable in SQL as rel): the
// extra select columns and the extra WHERE conditions of the !inner ones.
func (b *sqlBuilder) embedSQL(cat *catalog, t *table, rel string, q *query) (cols []string, conds []string, err error) {
	for i, e := range q.embeds {
		r, target, err := cat.resolveEmbed(t, e)
		if err != nil {
			return nil, nil, err
		}
		if !e.inner && len(e.items) == 0 {
			// Selects nothing and filters nothing; its filters still have
			// to name real columns.
			for _, f := range q.filters {
				if f.resource == e.name {
					if _, err := resolve(target, f.column); err != nil {
						return nil, nil, err
					}
				}
			}
			continue
		}
		alias := "pgrst_embed_" + strconv.Itoa(i)
		parts := make([]string, 0, len(r.columns))
		for j, col := range r.columns {
			parts = append(parts, alias+"."+ident(r.refColumns[j])+" = "+rel+"."+ident(col))
		}
		for _, f := range q.filters {
			if f.resource != e.name {
				continue
			}
			c, err := b.filterOn(target, alias, f)
			if err != nil {
				return nil, nil, err
			}
			parts = append(parts, c)
		}
		from := " FROM " + qualified(target) + " " + alias + " WHERE " + strings.Join(parts, " AND ")
		if e.inner {
			conds = append(conds, "EXISTS (SELECT 1"+from+")")
		}
		if len(e.items) > 0 {
			inner, err := selectList(target, alias, e.items)
			if err != nil {
				return nil, nil, err
			}
			cols = append(cols, "(SELECT pg_catalog.row_to_json(pgrst_row) FROM (SELECT "+inner+from+") pgrst_row) AS "+ident(e.name))
		}
	}
	return cols, conds, nil
}

// checkEmbeddedFilters refuses a filter addressed to a resource that
// select= does not embed, as PostgREST does (PGRST108).
func (q *query) checkEmbeddedFilters() error {
	for _, f := range q.filters {
		if f.resource != "" && q.embedFor(f.resource) == nil {
			return errNotEmbedded(f.resource)
		}
	}
	return nil
}

// usesEmbedding reports whether the request embeds or filters an embedded
// resource, which only reads serve here.
func (q *query) usesEmbedding() bool {
	return len(q.embeds) > 0 || slices.ContainsFunc(q.filters, func(f *filter) bool { return f.resource != "" })
}

func errNoRelationship(from, to, hint string) *apiError {
	details := "Searched for a foreign key relationship between '" + from + "' and '" + to + "'"
	if hint != "" {
		details += " using the hint '" + hint + "'"
	}
	details += " in the schema '" + exposedSchema + "', but no matches were found."
	return newError(http.StatusBadRequest, "PGRST200",
		"Could not find a relationship between '"+from+"' and '"+to+"' in the schema cache").withDetails(details)
}

func errAmbiguousEmbedding(from, to string, matches []*relationship) *apiError {
	names := make([]string, len(matches))
	for i, r := range matches {
		names[i] = r.constraint
	}
	return newError(http.StatusMultipleChoices, "PGRST201",
		"Could not embed because more than one relationship was found for '"+from+"' and '"+to+"'").
		withDetails("Relationships: " + strings.Join(names, ", ")).
		withHint("Try changing '" + to + "' to one of the following: " + to + "!" + strings.Join(names, ", "+to+"!") + ". Find the desired relationship in the 'details' key.")
}
