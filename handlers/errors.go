package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/supabase"
	"github.com/wasessions/gateway/utils"
)

// statusByCode is the API's table from error code to HTTP status.
var statusByCode = map[supabase.Code]int{
	supabase.CodeInvalidRequest:       http.StatusBadRequest,
	supabase.CodeUnauthorized:         http.StatusUnauthorized,
	supabase.CodeNotFound:             http.StatusNotFound,
	supabase.CodeConflict:             http.StatusConflict,
	supabase.CodeInvalidTransition:    http.StatusConflict,
	supabase.CodePayloadTooLarge:      http.StatusRequestEntityTooLarge,
	supabase.CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	supabase.CodeRateLimited:          http.StatusTooManyRequests,
	supabase.CodeUpstreamUnavailable:  http.StatusBadGateway,
	supabase.CodeUpstreamTimeout:      http.StatusGatewayTimeout,
	supabase.CodeUnavailable:          http.StatusServiceUnavailable,
	supabase.CodeInternal:             http.StatusInternalServerError,
}

// errorHandler returns Echo's HTTPErrorHandler: every error a handler or
// middleware returns leaves through here, as the envelope. Only internal and
// upstream failures are logged; a caller's mistake is not an operator's.
func errorHandler(log *zap.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		e, status := classify(err)
		reqLog := requestLogger(c, log)
		switch {
		case errors.Is(c.Request().Context().Err(), context.Canceled):
			// The caller hung up; nothing is wrong with us or Supabase.
			reqLog.Debug("caller went away", zap.Error(err))
		case e.Code == supabase.CodeInternal:
			reqLog.Error("request failed", zap.Error(err))
		case status >= 500:
			reqLog.Warn("upstream failed", zap.String("code", string(e.Code)), zap.Error(err))
		}
		body, mErr := json.Marshal(utils.Failure(string(e.Code), e.Message, e.Details))
		if mErr != nil {
			body = []byte(`{"success":false,"error":{"code":"internal","message":"internal error"}}`)
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSONBlob(status, body)
	}
}

// classify turns any error into an API error and its status.
func classify(err error) (*supabase.Error, int) {
	var e *supabase.Error
	if errors.As(err, &e) {
		status, ok := statusByCode[e.Code]
		if !ok {
			return &supabase.Error{Code: supabase.CodeInternal, Message: "internal error"}, http.StatusInternalServerError
		}
		if e.Code == supabase.CodeInternal {
			return &supabase.Error{Code: supabase.CodeInternal, Message: "internal error; quote the X-Request-ID header when reporting it"}, status
		}
		return e, status
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return fromEchoError(he)
	}
	return &supabase.Error{Code: supabase.CodeInternal, Message: "internal error; quote the X-Request-ID header when reporting it"}, http.StatusInternalServerError
}

// fromEchoError maps Echo's own errors (no route, wrong method, limits).
func fromEchoError(he *echo.HTTPError) (*supabase.Error, int) {
	switch he.Code {
	case http.StatusNotFound:
		return supabase.Errorf(supabase.CodeNotFound, "no such endpoint; see /openapi.json"), he.Code
	case http.StatusMethodNotAllowed:
		return supabase.Errorf(supabase.CodeInvalidRequest, "method not allowed on this endpoint"), he.Code
	case http.StatusRequestEntityTooLarge:
		return supabase.Errorf(supabase.CodePayloadTooLarge, "the body is too large"), he.Code
	case http.StatusUnsupportedMediaType:
		return supabase.Errorf(supabase.CodeUnsupportedMediaType, "send the body as application/json"), he.Code
	case http.StatusTooManyRequests:
		return supabase.Errorf(supabase.CodeRateLimited, "too many requests; retry after the Retry-After seconds"), he.Code
	case http.StatusUnauthorized, http.StatusForbidden:
		return supabase.Errorf(supabase.CodeUnauthorized, "missing or invalid credentials"), http.StatusUnauthorized
	case http.StatusBadRequest:
		return supabase.Errorf(supabase.CodeInvalidRequest, "bad request"), he.Code
	}
	if he.Code >= 400 && he.Code < 500 {
		return supabase.Errorf(supabase.CodeInvalidRequest, "request refused (%d)", he.Code), he.Code
	}
	return &supabase.Error{Code: supabase.CodeInternal, Message: "internal error; quote the X-Request-ID header when reporting it"}, http.StatusInternalServerError
}
