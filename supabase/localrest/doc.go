// Package localrest is a small server that speaks PostgREST's protocol over a
// local PostgreSQL database, so the gateway runs (and its tests run) without a
// Supabase project. It owns the catalogue of the public schema, the parsing of
// PostgREST's query-string grammar, the SQL it turns into, and PostgREST's
// error bodies and status codes, plus the little Supabase puts around
// PostgREST. It follows PostgREST v14, the version hosted Supabase runs:
// what it serves, it serves exactly as v14 does; anything else is refused
// with the error PostgREST gives for it, or with PGRST127 (feature not
// implemented) when PostgREST would have served it, never answered
// approximately or silently dropped.
//
// Served, as PostgREST v14 serves it:
//
//	GET/HEAD on tables and views   select= of columns or * (empty: all), filters eq neq gt gte
//	                               lt lte like ilike in is, not., and=/or= trees, order=
//	                               (asc, desc, nullsfirst, nullslast), limit, offset
//	                               (negative: ignored), the Range header on GET (intersected
//	                               with limit/offset; other units ignored), Content-Range,
//	                               206 and 416 (with Content-Range */total)
//	embedded resources (reads)     to-one embeds in select with !inner/!left and filters on
//	                               their columns
//	POST (insert)                  an object or an array of objects with the same keys
//	PATCH, DELETE                  with filters; PATCH [] or {} changes nothing (204)
//	OPTIONS                        Allow from the relation's updatability
//	POST /rpc/<fn>                 named arguments (read through json_to_record, typed as
//	                               PostgREST types them), a single unnamed json/jsonb
//	                               parameter, overload choice, PGRST202/203 hints; STABLE and
//	                               IMMUTABLE functions run read-only (a write is 25006, 405);
//	                               select, filters, order, limit and offset on the result
//	                               when its columns are named
//	Prefer                         return=, count=exact, handling=strict|lenient (PGRST122),
//	                               timezone=, max-affected= (with strict, PATCH/DELETE:
//	                               PGRST124), missing=; tx= accepted and, as on Supabase, not
//	                               applied; Preference-Applied echoes what was honoured
//	Accept                         JSON array, application/vnd.pgrst.object+json (PGRST116)
//	Accept-/Content-Profile        public only (PGRST106)
//	errors                         PostgreSQL's code, message, detail and hint with
//	                               PostgREST's status table; RAISE SQLSTATE 'PGRST' and 'PTxxx'
//
// Supabase around PostgREST: the apikey header (or parameter) must carry the
// server's key, and a request with it runs as service_role (PrepareDatabase
// creates anon, authenticated and service_role and Supabase's default
// privileges, so a missing grant fails here as there); max-rows caps every
// read and set-returning call at DefaultMaxRows (WithMaxRows), silently, as
// the Data API's Max Rows setting does; /auth/v1/.well-known/jwks.json is
// public and, for this HS256-only project, {"keys":[]}.
//
// Refused: to-many and nested embeds, embeds in writes, aliases, casts,
// aggregates and JSON paths in select, filters and order; the operators match, imatch, isdistinct,
// cs, cd, ov, sl, sr, nxr, nxl, adj and the full-text ones; any/all
// modifiers; PUT; upsert (resolution=, on_conflict=) and columns=;
// limit, offset and order on mutations; RPC by GET, columns= on RPC, and
// shaping the result of a function without named columns; count=planned and count=estimated (planner estimates);
// params=single-object; max-affected on RPC; CSV, XML, plain-text, binary
// and form bodies; CSV, GeoJSON, plan and nulls=stripped responses (406,
// PGRST107); PATCH with an array of objects; schemas other than public;
// the root endpoint's OpenAPI document.
package localrest
