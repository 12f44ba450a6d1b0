package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/supabase"
	"github.com/wasessions/gateway/utils"
)

// AbortObserver is told each answer that broke after its status line went
// out, by route template and cause (upstream_unavailable, upstream_timeout,
// or client_gone), e.g. to count them.
type AbortObserver func(route, cause string)

// bodyWriter passes a Supabase body on to the caller in the success
// envelope: a small body in one write with its length, a large one as it
// arrives (prefix, the upstream bytes, suffix), so a 1,000-row list is
// never held whole in memory.
type bodyWriter struct {
	log     *zap.Logger
	observe AbortObserver
}

func (out bodyWriter) write(c echo.Context, status int, body supabase.Body) error {
	defer body.Close()
	if raw, ok := body.Bytes(); ok {
		return writeRaw(c, status, raw)
	}
	res := c.Response()
	h := res.Header()
	h[echo.HeaderContentType] = jsonContentType
	if n := body.Size(); n >= 0 {
		// Upstream's length plus the envelope's; otherwise chunked.
		h[echo.HeaderContentLength] = []string{strconv.FormatInt(n+utils.SuccessOverhead, 10)}
	}
	res.WriteHeader(status)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	err := utils.WriteSuccessPrefix(res)
	if err == nil {
		_, err = body.WriteTo(res)
	}
	if err == nil {
		err = utils.WriteSuccessSuffix(res)
	}
	if err != nil {
		out.abort(c, err)
	}
	return nil
}

// abort ends an answer whose status already went out: it is logged and
// counted, then the connection is dropped (http.ErrAbortHandler), so the
// caller sees a broken answer, never a short or invalid 200 (with chunked
// encoding, returning would end the body cleanly).
func (out bodyWriter) abort(c echo.Context, err error) {
	// A caller that hung up also ends the upstream read (its context is the
	// call's parent), so that is checked first: it is nobody's failure.
	cause, level := "client_gone", zap.DebugLevel
	var e *supabase.Error
	if c.Request().Context().Err() == nil && errors.As(err, &e) {
		cause, level = string(e.Code), zap.WarnLevel
	}
	if ce := requestLogger(c, out.log).Check(level, "answer aborted mid-body"); ce != nil {
		ce.Write(zap.String("route", routeOf(c)), zap.String("cause", cause),
			zap.Int64("bytes_sent", c.Response().Size), zap.Error(err))
	}
	if out.observe != nil {
		out.observe(routeOf(c), cause)
	}
	panic(http.ErrAbortHandler)
}
