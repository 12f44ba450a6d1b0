package supabase

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"
)

func TestTranslate(t *testing.T) {
	upstream := func(status int, code, hint string) error {
		return &url.Error{Op: "Get", URL: "http://x", Err: &UpstreamError{Status: status, Code: code, Message: "raw upstream text", Hint: hint}}
	}
	tests := []struct {
		name string
		err  error
		want Code
	}{
		{"no row for single object", upstream(406, "PGRST116", ""), CodeNotFound},
		{"session never existed (history)", upstream(404, "PT404", "not_found"), CodeNotFound},
		// PostgREST with db-error-verbosity=minimal drops the hint.
		{"PT404 without its hint", upstream(404, "PT404", ""), CodeNotFound},
		{"missing sesiones row", upstream(409, "23503", ""), CodeNotFound},
		{"duplicate session_id", upstream(409, "23505", ""), CodeConflict},
		{"forbidden transition", upstream(409, "PT409", "invalid_transition"), CodeInvalidTransition},
		{"PT409 without its hint", upstream(409, "PT409", ""), CodeInvalidTransition},
		{"check constraint", upstream(400, "23514", ""), CodeInvalidRequest},
		{"bad value", upstream(400, "22P02", ""), CodeInvalidRequest},
		{"statement timeout", upstream(500, "57014", ""), CodeUpstreamTimeout},
		{"gateway timeout page", upstream(504, "", ""), CodeUpstreamTimeout},
		{"database down", upstream(503, "08006", ""), CodeUpstreamUnavailable},
		{"proxy error page", upstream(502, "", ""), CodeUpstreamUnavailable},
		{"our key refused", upstream(401, "", ""), CodeInternal},
		{"query we built is wrong", upstream(400, "PGRST100", ""), CodeInternal},
		{"deadline", fmt.Errorf("wrapped: %w", context.DeadlineExceeded), CodeUpstreamTimeout},
		{"dial timeout", &url.Error{Op: "Get", URL: "http://x", Err: &net.OpError{Op: "dial", Err: timeoutErr{}}}, CodeUpstreamTimeout},
		{"connection refused", &url.Error{Op: "Get", URL: "http://x", Err: errors.New("connect: connection refused")}, CodeUpstreamUnavailable},
		{"builder error", errors.New("invalid Filter operator: nope"), CodeInternal},
		{"already ours", Errorf(CodeConflict, "x"), CodeConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := translate(tt.err, "none")
			if ErrorCode(got) != tt.want {
				t.Errorf("got %s, want %s", ErrorCode(got), tt.want)
			}
			var e *Error
			if errors.As(got, &e) && (e.Message == "raw upstream text" || e.Message == "") {
				t.Errorf("got message %q, want our own words, never upstream text", e.Message)
			}
		})
	}
	if translate(nil, "none") != nil {
		t.Error("got an error for nil, want nil")
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
