package supabase

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
)

// translate maps a failed upstream call to the gateway's error codes. It is
// the one place that knows PostgREST's and PostgreSQL's error codes; the
// messages it produces never repeat upstream text.
func translate(err error, notFound string) error {
	if err == nil {
		return nil
	}
	var upstream *UpstreamError
	if errors.As(err, &upstream) {
		return translateUpstream(upstream, notFound)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: CodeUpstreamTimeout, Message: "Supabase did not answer in time; try again shortly", Err: err}
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return &Error{Code: CodeUpstreamTimeout, Message: "Supabase did not answer in time; try again shortly", Err: err}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{Code: CodeUpstreamUnavailable, Message: "the request was cancelled before Supabase answered", Err: err}
	}
	var ourErr *Error
	if errors.As(err, &ourErr) {
		return ourErr
	}
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		// The HTTP exchange itself failed: refused, reset, DNS, cut body.
		return &Error{Code: CodeUpstreamUnavailable, Message: "Supabase cannot be reached; try again shortly", Err: err}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return &Error{Code: CodeUpstreamUnavailable, Message: "Supabase closed the connection mid-answer; try again shortly", Err: err}
	}
	// Anything else came from building the query: a bug of ours.
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}

func translateUpstream(e *UpstreamError, notFound string) error {
	// PTxxx codes are recognised by the code alone: a PostgREST configured
	// with minimal error verbosity drops hints, and the schema raises PT404
	// and PT409 for nothing else than a missing session and a refused
	// transition.
	switch {
	case e.Code == "PGRST116", e.Code == "PT404":
		return &Error{Code: CodeNotFound, Message: notFound, Err: e}
	case e.Code == "23503":
		return &Error{Code: CodeNotFound, Message: "sesion_id does not exist: create the sesiones row first", Err: e}
	case e.Code == "23505":
		return &Error{Code: CodeConflict, Message: "a session with this session_id already exists", Err: e}
	case e.Code == "PT409":
		return &Error{Code: CodeInvalidTransition, Message: transitionMessage(e.Message), Err: e}
	case e.Code == "23514", e.Code == "23502", strings.HasPrefix(e.Code, "22"):
		return &Error{Code: CodeInvalidRequest, Message: "the database rejected a value; check the fields against the documented formats", Err: e}
	case e.Status == 504, e.Code == "57014": // 57014: statement timeout in the database
		return &Error{Code: CodeUpstreamTimeout, Message: "Supabase did not answer in time; try again shortly", Err: e}
	case e.Status >= 500:
		return &Error{Code: CodeUpstreamUnavailable, Message: "Supabase is unavailable; try again shortly", Err: e}
	default:
		// A 401/403 means the gateway's key is wrong, any other 4xx that the
		// gateway built a bad request: both are ours to fix, not the caller's.
		return &Error{Code: CodeInternal, Message: "internal error", Err: e}
	}
}

// transitionMessage keeps the database's own wording ("cannot change status
// from expired to connected"), which we wrote and which names no internals,
// and adds the rule.
func transitionMessage(dbMessage string) string {
	const rule = "allowed: pending → connected|disconnected|expired, connected → disconnected, disconnected → connected|expired; expired is final"
	if strings.HasPrefix(dbMessage, "cannot change status") {
		return dbMessage + " (" + rule + ")"
	}
	return "that status change is not allowed (" + rule + ")"
}
