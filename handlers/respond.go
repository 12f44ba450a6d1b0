package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/utils"
)

// writeRaw sends raw, already-valid JSON from Supabase wrapped in the
// success envelope, without decoding, re-encoding or copying it.
func writeRaw(c echo.Context, status int, raw json.RawMessage) error {
	h := c.Response().Header()
	h[echo.HeaderContentType] = jsonContentType
	// A known length lets net/http send the body in one piece, not chunked.
	h[echo.HeaderContentLength] = []string{strconv.Itoa(utils.SuccessRawSize(raw))}
	c.Response().WriteHeader(status)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	return utils.WriteSuccessRaw(c.Response(), raw)
}

// jsonContentType is shared by every response; never modified.
var jsonContentType = []string{echo.MIMEApplicationJSON}

// writeData sends data in the success envelope.
func writeData(c echo.Context, status int, data any) error {
	return c.JSON(status, utils.Success(data))
}

// requestLogger returns log with the request's id attached.
func requestLogger(c echo.Context, log *zap.Logger) *zap.Logger {
	if id := c.Response().Header().Get(echo.HeaderXRequestID); id != "" {
		return log.With(zap.String("request_id", id))
	}
	return log
}
