package localrest

import (
	"context"
	"net/http"
	"strconv"
	"strings"
)

// preferences are the Prefer header as PostgREST reads it (RFC 7240): each
// preference once, the first occurrence winning, unknown ones ignored
// unless handling=strict asked for an error.
type preferences struct {
	ret         string // "", "representation", "minimal" or "headers-only"
	count       bool   // count=exact
	resolution  string // "", "merge-duplicates" or "ignore-duplicates"
	missing     string // "", "default" or "null"
	handling    string // "", "strict" or "lenient"
	timezone    string // a name from pg_timezone_names
	maxAffected *int64 // honoured with handling=strict only, as in PostgREST
}

// acceptedPreferences are PostgREST's v14 vocabulary; anything else is an
// invalid preference. tx=commit and tx=rollback are known but, as on
// Supabase (db-tx-end=commit), not allowed to change anything.
var acceptedPreferences = map[string]bool{
	"resolution=merge-duplicates": true, "resolution=ignore-duplicates": true,
	"return=representation": true, "return=minimal": true, "return=headers-only": true,
	"params=single-object": true,
	"count=exact":          true, "count=planned": true, "count=estimated": true,
	"tx=commit": true, "tx=rollback": true,
	"missing=default": true, "missing=null": true,
	"handling=strict": true, "handling=lenient": true,
}

// parsePreferences reads every Prefer header. Preferences PostgREST would
// act on but this server cannot reproduce exactly are refused.
func (s *Server) parsePreferences(ctx context.Context, h http.Header) (preferences, error) {
	var (
		p       preferences
		seen    = map[string]bool{}
		invalid []string
	)
	for _, line := range h.Values("Prefer") {
		for _, item := range strings.Split(line, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			key, value, _ := strings.Cut(item, "=")
			switch {
			case key == "timezone":
				ok, err := s.knownTimezone(ctx, value)
				if err != nil {
					return p, err
				}
				if !ok {
					invalid = append(invalid, item)
					continue
				}
			case key == "max-affected":
			case !acceptedPreferences[item]:
				invalid = append(invalid, item)
				continue
			}
			if seen[key] {
				continue // the first one counts
			}
			seen[key] = true
			switch key {
			case "return":
				p.ret = value
			case "count":
				if value != "exact" {
					return p, errNotImplemented("Prefer: count=" + value + " (a planner estimate)")
				}
				p.count = true
			case "resolution":
				p.resolution = value
			case "missing":
				p.missing = value
			case "handling":
				p.handling = value
			case "timezone":
				p.timezone = value
			case "params":
				return p, errNotImplemented("Prefer: params=single-object")
			case "max-affected":
				if n, err := strconv.ParseInt(value, 10, 64); err == nil {
					p.maxAffected = &n
				}
			}
		}
	}
	if p.handling == "strict" && len(invalid) > 0 {
		return p, newError(http.StatusBadRequest, "PGRST122", "Invalid preferences given with handling=strict").
			withDetails("Invalid preferences: " + strings.Join(invalid, ", "))
	}
	if p.handling != "strict" {
		p.maxAffected = nil
	}
	return p, nil
}

// knownTimezone reports whether name is one PostgREST accepts for
// Prefer: timezone, a name in pg_timezone_names.
func (s *Server) knownTimezone(ctx context.Context, name string) (bool, error) {
	var ok bool
	err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_timezone_names WHERE name = $1)", name).Scan(&ok)
	if err != nil {
		return false, &connectError{err: err}
	}
	return ok, nil
}

// applied is the Preference-Applied header: what was honoured, in
// PostgREST's order. Reads and calls have no return or missing to apply.
func (p preferences) applied(mutation bool) string {
	var parts []string
	if mutation && p.missing != "" {
		parts = append(parts, "missing="+p.missing)
	}
	if mutation && p.ret != "" {
		parts = append(parts, "return="+p.ret)
	}
	if p.count {
		parts = append(parts, "count=exact")
	}
	if p.handling != "" {
		parts = append(parts, "handling="+p.handling)
	}
	if p.timezone != "" {
		parts = append(parts, "timezone="+p.timezone)
	}
	if mutation && p.maxAffected != nil {
		parts = append(parts, "max-affected="+strconv.FormatInt(*p.maxAffected, 10))
	}
	return strings.Join(parts, ", ")
}

// errMaxAffected is PGRST124: handling=strict with max-affected, and the
// statement changed more rows; the change is rolled back.
func errMaxAffected(rows int64) *apiError {
	return newError(http.StatusBadRequest, "PGRST124", "Query result exceeds max-affected preference constraint").
		withDetails("The query affects " + strconv.FormatInt(rows, 10) + " rows")
}
