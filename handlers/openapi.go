package handlers

import _ "embed"

// OpenAPI is the OpenAPI 3.0.3 description of the whole API, served at
// /openapi.json when passed as Deps.OpenAPI. It is written by hand in
// openapi.json, next to the handlers it describes, and the handler tests
// check every response they receive against it, so the two cannot drift.
//
//go:embed openapi.json
var OpenAPI []byte
