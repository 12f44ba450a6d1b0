// Package handlers is the gateway's HTTP layer: the Echo routes, strict
// decoding of requests, authentication of callers, and the one error handler
// that turns every failure into the API's error envelope. It knows nothing of
// PostgREST; it calls the small SessionStore interface.
package handlers
