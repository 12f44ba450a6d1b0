package localrest

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// exposedSchema is the only schema served, as on a default Supabase project.
const exposedSchema = "public"

// catalog is what the server knows of the database: the only source of
// identifiers that ever reach SQL.
type catalog struct {
	tables    map[string]*table
	functions map[string][]*function // overloads by name
	// relationships are the many-to-one foreign keys of each table, by the
	// referencing table's name, for resource embedding.
	relationships map[string][]*relationship
}

// table is a table or view of the exposed schema, or the rows a function
// returns, known by alias in the query.
type table struct {
	name    string
	alias   string
	columns []column
	byName  map[string]*column
	pk      []string
	allowed string // the Allow header PostgREST answers OPTIONS with
}

// column is one column with its full type, modifier included (char(5),
// not char, which would mean char(1)). Filter values are not cast to it:
// PostgreSQL resolves them against the column itself.
type column struct {
	name    string
	sqlType string
}

// returnKind says how a function's result becomes JSON.
type returnKind int

const (
	returnsScalar    returnKind = iota // the JSON value itself
	returnsComposite                   // an object per row
	returnsVoid                        // 204, no body
)

// function is one callable overload of the exposed schema.
type function struct {
	name   string
	params []param
	setOf  bool
	kind   returnKind
	// readOnly: STABLE or IMMUTABLE, which PostgREST calls in a read-only
	// transaction, so one that writes fails with 25006.
	readOnly bool
	// columns are the result's columns when they are named by OUT or
	// TABLE parameters; relation names the table whose row type it
	// returns otherwise. Either lets select, filters and order apply to
	// the result, as PostgREST allows.
	columns  []column
	relation string
}

// resultTable describes a composite result as a table, for select,
// filters and order; nil when the result has no named columns.
func (f *function) resultTable(cat *catalog) *table {
	if f.kind != returnsComposite {
		return nil
	}
	cols := f.columns
	if len(cols) == 0 {
		t, ok := cat.tables[f.relation]
		if !ok {
			return nil
		}
		cols = t.columns
	}
	t := &table{name: f.name, alias: rpcAlias, columns: cols, byName: make(map[string]*column, len(cols))}
	for i := range t.columns {
		t.byName[t.columns[i].name] = &t.columns[i]
	}
	return t
}

// param is one input parameter; unnamed ones can only be filled by the
// single-unnamed-json convention PostgREST has for POST.
type param struct {
	name     string
	sqlType  string
	required bool
	variadic bool
}

func (f *function) signature() string {
	parts := make([]string, len(f.params))
	for i, p := range f.params {
		parts[i] = p.name + " => " + p.sqlType
	}
	return exposedSchema + "." + f.name + "(" + strings.Join(parts, ", ") + ")"
}

const columnsQuery = `
SELECT c.relname::text,
       a.attname::text,
       format_type(a.atttypid, a.atttypmod),
       coalesce(a.attnum = ANY (pk.indkey::int2[]), false),
       CASE WHEN c.relkind IN ('r', 'p') THEN 28 ELSE pg_catalog.pg_relation_is_updatable(c.oid, true) END
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_catalog.pg_index pk ON pk.indrelid = c.oid AND pk.indisprimary
WHERE c.relnamespace = $1::regnamespace AND c.relkind IN ('r', 'v', 'm', 'f', 'p')
ORDER BY c.relname, a.attnum`

// functionsQuery reads every plain function with its arguments; modes are
// read as text because "char"[] has no convenient client type.
const functionsQuery = `
SELECT p.proname::text,
       p.proretset,
       p.provolatile <> 'v',
       CASE WHEN p.prorettype = 'pg_catalog.void'::regtype THEN 'v'
            WHEN p.prorettype = 'pg_catalog.record'::regtype THEN 'r'
            WHEN t.typtype = 'c' THEN 'c'
            WHEN t.typtype = 'p' THEN 'p'
            ELSE 's' END,
       coalesce((SELECT r.relname::text FROM pg_catalog.pg_class r
                 WHERE t.typtype = 'c' AND r.oid = t.typrelid AND r.relnamespace = $1::regnamespace), ''),
       p.pronargdefaults::int,
       coalesce(p.proargnames, '{}')::text[],
       coalesce(p.proargmodes::text[], '{}'),
       array(SELECT format_type(a.t, NULL)
             FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[])) WITH ORDINALITY a(t, n)
             ORDER BY a.n)
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_type t ON t.oid = p.prorettype
WHERE p.pronamespace = $1::regnamespace AND p.prokind = 'f'
ORDER BY p.proname, p.oid`

// foreignKeysQuery reads the foreign keys between tables of the exposed
// schema, columns in key order, as PostgREST's schema cache does.
const foreignKeysQuery = `
SELECT c.conname::text,
       src.relname::text,
       dst.relname::text,
       array(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),
       array(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i)
FROM pg_catalog.pg_constraint c
JOIN pg_catalog.pg_class src ON src.oid = c.conrelid
JOIN pg_catalog.pg_class dst ON dst.oid = c.confrelid
WHERE c.contype = 'f' AND src.relnamespace = $1::regnamespace AND dst.relnamespace = $1::regnamespace
ORDER BY c.conname`

// loadCatalog reads the exposed schema from the live database.
func loadCatalog(ctx context.Context, pool *pgxpool.Pool) (*catalog, error) {
	cat := &catalog{tables: map[string]*table{}, functions: map[string][]*function{}, relationships: map[string][]*relationship{}}

	rows, err := pool.Query(ctx, columnsQuery, exposedSchema)
	if err != nil {
		return nil, fmt.Errorf("localrest: read columns: %w", err)
	}
	for rows.Next() {
		var tname, cname, ctype string
		var isPK bool
		var updatable int
		if err := rows.Scan(&tname, &cname, &ctype, &isPK, &updatable); err != nil {
			rows.Close()
			return nil, fmt.Errorf("localrest: read columns: %w", err)
		}
		t := cat.tables[tname]
		if t == nil {
			t = &table{name: tname, byName: map[string]*column{}, allowed: allowHeader(updatable)}
			cat.tables[tname] = t
		}
		t.columns = append(t.columns, column{name: cname, sqlType: ctype})
		if isPK {
			t.pk = append(t.pk, cname)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("localrest: read columns: %w", err)
	}
	for _, t := range cat.tables {
		for i := range t.columns {
			t.byName[t.columns[i].name] = &t.columns[i]
		}
	}

	if err := cat.loadRelationships(ctx, pool); err != nil {
		return nil, err
	}

	rows, err = pool.Query(ctx, functionsQuery, exposedSchema)
	if err != nil {
		return nil, fmt.Errorf("localrest: read functions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, ret, relation string
		var setOf, readOnly bool
		var nDefaults int
		var names, modes, types []string
		if err := rows.Scan(&name, &setOf, &readOnly, &ret, &relation, &nDefaults, &names, &modes, &types); err != nil {
			return nil, fmt.Errorf("localrest: read functions: %w", err)
		}
		if f, ok := newFunction(name, setOf, ret, nDefaults, names, modes, types); ok {
			f.readOnly = readOnly
			f.relation = relation
			cat.functions[name] = append(cat.functions[name], f)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("localrest: read functions: %w", err)
	}
	return cat, nil
}

func (c *catalog) loadRelationships(ctx context.Context, pool *pgxpool.Pool) error {
	rows, err := pool.Query(ctx, foreignKeysQuery, exposedSchema)
	if err != nil {
		return fmt.Errorf("localrest: read foreign keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r relationship
		var src string
		if err := rows.Scan(&r.constraint, &src, &r.target, &r.columns, &r.refColumns); err != nil {
			return fmt.Errorf("localrest: read foreign keys: %w", err)
		}
		c.relationships[src] = append(c.relationships[src], &r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("localrest: read foreign keys: %w", err)
	}
	return nil
}

// newFunction keeps the functions the server can call with named, typed
// arguments; polymorphic and pseudo-typed ones have no type to cast to.
func newFunction(name string, setOf bool, ret string, nDefaults int, names, modes, types []string) (*function, bool) {
	f := &function{name: name, setOf: setOf}
	hasOut := false
	for i, typ := range types {
		mode := "i"
		if i < len(modes) {
			mode = modes[i]
		}
		if mode == "o" || mode == "t" || mode == "b" {
			hasOut = true
			if i < len(names) && names[i] != "" {
				f.columns = append(f.columns, column{name: names[i], sqlType: typ})
			}
		}
		if mode == "o" || mode == "t" {
			continue
		}
		if isPseudoType(typ) {
			return nil, false
		}
		p := param{sqlType: typ, variadic: mode == "v"}
		if i < len(names) {
			p.name = names[i]
		}
		f.params = append(f.params, p)
	}
	for i := range f.params {
		f.params[i].required = i < len(f.params)-nDefaults
	}
	switch ret {
	case "v":
		f.kind = returnsVoid
	case "c":
		f.kind = returnsComposite
	case "r":
		if !hasOut {
			return nil, false // needs a column definition list the caller cannot give
		}
		f.kind = returnsComposite
	case "p":
		return nil, false
	default:
		f.kind = returnsScalar
	}
	return f, true
}

func isPseudoType(typ string) bool {
	return strings.HasPrefix(typ, "any") || slices.Contains(
		[]string{"internal", "cstring", "record", "trigger", "event_trigger", "language_handler", "void"}, typ)
}

// allowHeader lists the methods PostgREST allows on a relation, from
// pg_relation_is_updatable's bits: 4 update, 8 insert, 16 delete.
func allowHeader(updatable int) string {
	allow := "OPTIONS,GET,HEAD"
	if updatable&8 != 0 {
		allow += ",POST"
	}
	if updatable&12 == 12 {
		allow += ",PUT" // an upsert both inserts and updates
	}
	if updatable&4 != 0 {
		allow += ",PATCH"
	}
	if updatable&16 != 0 {
		allow += ",DELETE"
	}
	return allow
}

// tableNames lists the catalogue's tables, for "perhaps you meant" hints.
func (c *catalog) tableNames() []string {
	names := make([]string, 0, len(c.tables))
	for n := range c.tables {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (c *catalog) functionNames() []string {
	names := make([]string, 0, len(c.functions))
	for n := range c.functions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
