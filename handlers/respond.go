package handlers

import (
	"encoding/json"
	"strconv"
	"sync"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/wasessions/gateway/utils"
)

// bufferPool recycles response buffers: the list path wraps the upstream
// body on every request, and a fresh slice each time is garbage.
var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// writeRaw sends raw, already-valid JSON from Supabase wrapped in the
// success envelope, without decoding and re-encoding it.
func writeRaw(c echo.Context, status int, raw json.RawMessage) error {
	bp := bufferPool.Get().(*[]byte)
	buf := utils.AppendSuccessRaw((*bp)[:0], raw)
	// A known length lets net/http send the body in one piece, not chunked.
	c.Response().Header()[echo.HeaderContentLength] = []string{strconv.Itoa(len(buf))}
	err := c.JSONBlob(status, buf)
	if cap(buf) <= 1<<20 { // do not keep huge buffers alive
		*bp = buf[:0]
		bufferPool.Put(bp)
	}
	return err
}

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
