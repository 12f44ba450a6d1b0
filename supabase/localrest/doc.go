// Package localrest is a small server that speaks PostgREST's protocol over a
// local PostgreSQL database, so the gateway runs (and its tests run) without a
// Supabase project. It owns the catalogue of the public schema, the parsing of
// PostgREST's query-string grammar, the SQL it turns into, and PostgREST's
// error bodies and status codes. It serves only what the gateway sends: plain
// column reads with filters, ordering and paging (and, on reads, to-one
// embedded resources with !inner/!left and filters on their columns, which
// scope sessions to their owner), inserts, updates, deletes and RPC calls; anything else is refused with the error PostgREST would give
// for a request it cannot serve, never answered approximately.
package localrest
