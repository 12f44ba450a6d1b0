package supabase

import (
	"errors"
	"fmt"
)

// Code is one of the error codes of the API's error table (docs/api.md).
type Code string

// The API's error codes (docs/api.md).
const (
	CodeInvalidRequest       Code = "invalid_request"
	CodeUnauthorized         Code = "unauthorized"
	CodeNotFound             Code = "not_found"
	CodeConflict             Code = "conflict"
	CodeInvalidTransition    Code = "invalid_transition"
	CodePayloadTooLarge      Code = "payload_too_large"
	CodeUnsupportedMediaType Code = "unsupported_media_type"
	CodeRateLimited          Code = "rate_limited"
	CodeUpstreamUnavailable  Code = "upstream_unavailable"
	CodeUpstreamTimeout      Code = "upstream_timeout"
	CodeUnavailable          Code = "unavailable"
	CodeInternal             Code = "internal"
)

// Error is the gateway's one error type: an API error code, a message written
// for the caller, optional details, and the underlying cause (never shown).
type Error struct {
	Code    Code
	Message string
	Details any
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the API error code of err, or CodeInternal when err is not
// an *Error: anything unclassified is a bug.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
