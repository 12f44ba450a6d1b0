package localrest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// apiError is one failure in PostgREST's shape: the JSON body every
// PostgREST client parses, the HTTP status PostgREST documents for it, and
// any headers a RAISE SQLSTATE 'PGRST' asked for.
type apiError struct {
	status  int
	code    string
	message string
	details *string
	hint    *string
	headers map[string]string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

// errorBody is the JSON PostgREST writes; details and hint are null when
// absent, never missing, because clients decode all four keys.
type errorBody struct {
	Code    string  `json:"code"`
	Details *string `json:"details"`
	Hint    *string `json:"hint"`
	Message string  `json:"message"`
}

func ptr(s string) *string { return &s }

func newError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

func (e *apiError) withDetails(d string) *apiError { e.details = ptr(d); return e }

func (e *apiError) withHint(h string) *apiError { e.hint = ptr(h); return e }

// errParse is PGRST100. The message names what failed to parse and where, in
// the form PostgREST's parser reports it: "failed to parse filter (x)" (line 1, column 3).
func errParse(what, input string, column int, details string) *apiError {
	msg := fmt.Sprintf("%q (line 1, column %d)", "failed to parse "+what+" ("+input+")", column)
	return newError(http.StatusBadRequest, "PGRST100", msg).withDetails(details)
}

// errNotImplemented is PGRST127: PostgREST grammar that this local server
// deliberately does not serve. Refusing is safer than answering differently
// from Supabase.
func errNotImplemented(feature string) *apiError {
	return newError(http.StatusBadRequest, "PGRST127", "Feature not implemented").
		withDetails(feature + " is not supported by the local PostgREST server")
}

func errInvalidBody(message string) *apiError {
	return newError(http.StatusBadRequest, "PGRST102", message)
}

func errUnacceptableSchema(profile string) *apiError {
	return newError(http.StatusNotAcceptable, "PGRST106", "Invalid schema: "+profile).
		withHint("Only the following schemas are exposed: " + exposedSchema)
}

func errMediaType(types []string) *apiError {
	return newError(http.StatusNotAcceptable, "PGRST107",
		"None of these media types are available: "+strings.Join(types, ", "))
}

func errNotEmbedded(resource string) *apiError {
	return newError(http.StatusBadRequest, "PGRST108", "'"+resource+"' is not an embedded resource in this request").
		withHint("Verify that '" + resource + "' is included in the 'select' query parameter.")
}

func errSingular(rows int64) *apiError {
	return newError(http.StatusNotAcceptable, "PGRST116", "Cannot coerce the result to a single JSON object").
		withDetails(fmt.Sprintf("The result contains %d rows", rows))
}

func errNegativeLimit() *apiError {
	return newError(http.StatusRequestedRangeNotSatisfiable, "PGRST103", "Requested range not satisfiable").
		withDetails("Limit should be greater than or equal to zero.")
}

// errOutOfRange carries Content-Range */total, as PostgREST's 416 does, so
// a client paging past the end learns where the end is.
func errOutOfRange(offset, total int64) *apiError {
	e := newError(http.StatusRequestedRangeNotSatisfiable, "PGRST103", "Requested range not satisfiable").
		withDetails(fmt.Sprintf("An offset of %d was requested, but there are only %d rows.", offset, total))
	e.headers = map[string]string{"Content-Range": "*/" + strconv.FormatInt(total, 10)}
	return e
}

func errUnsupportedMethod(method string) *apiError {
	return newError(http.StatusMethodNotAllowed, "PGRST117", "Unsupported HTTP method: "+method)
}

func errRPCMethod(method string) *apiError {
	return newError(http.StatusMethodNotAllowed, "PGRST101", "Cannot use the "+method+" method on RPC")
}

func errInvalidPath() *apiError {
	return newError(http.StatusNotFound, "PGRST125", "Invalid path specified in request URL")
}

func errRootDisabled() *apiError {
	return newError(http.StatusNotFound, "PGRST126", "Root endpoint metadata is disabled")
}

// errUndefinedColumn mirrors what PostgreSQL answers PostgREST when a select,
// filter or order names a column the table lacks; PostgREST forwards it as is.
func errUndefinedColumn(table, column string) *apiError {
	return newError(http.StatusBadRequest, "42703", fmt.Sprintf("column %s.%s does not exist", table, column))
}

// errColumnNotFound is PGRST204: a request body names a column the table lacks.
func errColumnNotFound(table, column string) *apiError {
	return newError(http.StatusBadRequest, "PGRST204",
		fmt.Sprintf("Could not find the '%s' column of '%s' in the schema cache", column, table))
}

func errTableNotFound(name string, suggestion string) *apiError {
	e := newError(http.StatusNotFound, "PGRST205",
		fmt.Sprintf("Could not find the table '%s.%s' in the schema cache", exposedSchema, name))
	if suggestion != "" {
		e.withHint(fmt.Sprintf("Perhaps you meant the table '%s.%s'", exposedSchema, suggestion))
	}
	return e
}

// errNoFunction is PGRST202 worded exactly as PostgREST words it for a JSON
// POST, because callers match on the message when they report it.
func errNoFunction(name string, keys []string, hint string) *apiError {
	qualified := exposedSchema + "." + name
	signature, searched := " without parameters", " without parameters"
	if len(keys) > 0 {
		signature = "(" + strings.Join(keys, ", ") + ")"
		plural := " "
		if len(keys) > 1 {
			plural = "s "
		}
		searched = " with parameter" + plural + strings.Join(keys, ", ")
	}
	e := newError(http.StatusNotFound, "PGRST202",
		"Could not find the function "+qualified+signature+" in the schema cache").
		withDetails("Searched for the function " + qualified + searched +
			" or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.")
	if hint != "" {
		e.withHint("Perhaps you meant to call the function " + exposedSchema + "." + hint)
	}
	return e
}

func errAmbiguousFunction(signatures []string) *apiError {
	return newError(http.StatusMultipleChoices, "PGRST203",
		"Could not choose the best candidate function between: "+strings.Join(signatures, ", ")).
		withHint("Try renaming the parameters or the function itself in the database so function overloading can be resolved")
}

func errConnection() *apiError {
	return newError(http.StatusServiceUnavailable, "PGRST000", "Database connection error.")
}

func errInternal() *apiError {
	return newError(http.StatusInternalServerError, "PGRSTX00", "Internal error in the local PostgREST server")
}

// fromPgError turns a PostgreSQL error into the response PostgREST gives for
// it: the server's own code, message, detail and hint, with the status from
// PostgREST's table (docs: references/errors, "HTTP Status Codes").
func fromPgError(pgErr *pgconn.PgError) *apiError {
	if pgErr.Code == "PGRST" {
		return fromRaisePGRST(pgErr)
	}
	e := newError(statusForSQLState(pgErr.Code, pgErr.Message), pgErr.Code, pgErr.Message)
	if pgErr.Detail != "" {
		e.withDetails(pgErr.Detail)
	}
	if pgErr.Hint != "" {
		e.withHint(pgErr.Hint)
	}
	return e
}

// statusForSQLState is PostgREST's SQLSTATE to HTTP table. Every request here
// carries the service key, so PostgREST would treat it as authenticated and
// answer 42501 with 403, not 401.
func statusForSQLState(code, message string) int {
	switch code {
	case "23503", "23505":
		return http.StatusConflict
	case "25006":
		return http.StatusMethodNotAllowed
	case "21000":
		if strings.HasSuffix(message, "requires a WHERE clause") {
			return http.StatusBadRequest
		}
		return http.StatusInternalServerError
	case "53400":
		return http.StatusInternalServerError
	case "57P01":
		return http.StatusServiceUnavailable
	case "P0001":
		return http.StatusBadRequest
	case "42883":
		return http.StatusNotFound
	case "42P01":
		return http.StatusNotFound
	case "42P17":
		return http.StatusInternalServerError
	case "42501":
		return http.StatusForbidden
	}
	if strings.HasPrefix(code, "PT") {
		if n, err := strconv.Atoi(code[2:]); err == nil && n >= 100 && n <= 999 {
			return n
		}
		return http.StatusInternalServerError
	}
	if len(code) < 2 {
		return http.StatusBadRequest
	}
	switch code[:2] {
	case "08", "53":
		return http.StatusServiceUnavailable
	case "0L", "0P", "28":
		return http.StatusForbidden
	case "09", "25", "2D", "38", "39", "3B", "40", "54", "55", "57", "58", "F0", "HV", "P0", "XX":
		return http.StatusInternalServerError
	}
	return http.StatusBadRequest
}

// fromRaisePGRST serves RAISE SQLSTATE 'PGRST': the message carries the body
// and the detail carries status and headers, both as JSON.
func fromRaisePGRST(pgErr *pgconn.PgError) *apiError {
	var msg struct {
		Code    *string `json:"code"`
		Message *string `json:"message"`
		Details *string `json:"details"`
		Hint    *string `json:"hint"`
	}
	if err := json.Unmarshal([]byte(pgErr.Message), &msg); err != nil || msg.Code == nil || msg.Message == nil {
		return errRaiseParse("Invalid JSON value for MESSAGE: '"+pgErr.Message+"'",
			"MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and optional keys: 'details', 'hint'.")
	}
	const detailHint = "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional key: 'status_text'."
	if pgErr.Detail == "" {
		return errRaiseParse("DETAIL is missing in the RAISE statement", detailHint)
	}
	var det struct {
		Status  *int              `json:"status"`
		Headers map[string]string `json:"headers"`
	}
	if err := json.Unmarshal([]byte(pgErr.Detail), &det); err != nil || det.Status == nil || det.Headers == nil ||
		*det.Status < 100 || *det.Status > 999 {
		return errRaiseParse("Invalid JSON value for DETAIL: '"+pgErr.Detail+"'", detailHint)
	}
	return &apiError{status: *det.Status, code: *msg.Code, message: *msg.Message,
		details: msg.Details, hint: msg.Hint, headers: det.Headers}
}

func errRaiseParse(details, hint string) *apiError {
	return newError(http.StatusInternalServerError, "PGRST121",
		`Could not parse JSON in the "RAISE SQLSTATE 'PGRST'" error`).withDetails(details).withHint(hint)
}

// asAPIError classifies any error a handler returns. Errors that are not
// PostgREST's or PostgreSQL's are ours or the connection's; their text stays
// in the log, never in the response.
func asAPIError(err error) (e *apiError, internal bool) {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae, false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fromPgError(pgErr), false
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return errConnection(), false // the client left or its deadline passed: nothing to fix here
	}
	var connErr *connectError
	if errors.As(err, &connErr) {
		return errConnection(), true
	}
	return errInternal(), true
}

// connectError marks a failure to get a connection or start a transaction,
// which PostgREST reports as 503 rather than as a bug.
type connectError struct{ err error }

func (c *connectError) Error() string { return "connect: " + c.err.Error() }
func (c *connectError) Unwrap() error { return c.err }

// writeError writes e the way PostgREST does, with the Proxy-Status header
// that names the code for HEAD requests, which have no body.
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	for k, v := range e.headers {
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Proxy-Status", "PostgREST; error="+e.code)
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", "Bearer")
	}
	body, _ := json.Marshal(errorBody{Code: e.code, Details: e.details, Hint: e.hint, Message: e.message})
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}
