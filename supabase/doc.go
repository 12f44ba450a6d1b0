// Package supabase owns everything about the Supabase Data API (PostgREST):
// the session types and their validation rules, the parser that checks a
// PostgREST query string before anything is forwarded, the client that talks
// to Supabase through postgrest-go, and the translation of PostgREST and
// PostgreSQL errors into the gateway's error codes. The schema itself lives in
// migrations/ (applied locally by migrate/), and the local-mode
// PostgREST-protocol server in localrest/.
package supabase
