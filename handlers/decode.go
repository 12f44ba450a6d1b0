package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/wasessions/gateway/supabase"
)

// readBody reads a JSON request body: anything that is not JSON is refused
// before it is read, anything larger than limit while it is read.
func readBody(c echo.Context, limit int64) ([]byte, error) {
	if err := requireJSON(c); err != nil {
		return nil, err
	}
	return readLimited(c, limit)
}

// requireJSON refuses a body that is not declared as JSON.
func requireJSON(c echo.Context) error {
	mediaType, _, err := mime.ParseMediaType(c.Request().Header.Get(echo.HeaderContentType))
	if err != nil || mediaType != echo.MIMEApplicationJSON {
		return supabase.Errorf(supabase.CodeUnsupportedMediaType, "send the body as JSON with Content-Type: application/json")
	}
	return nil
}

// readLimited reads the raw body, at most limit bytes.
func readLimited(c echo.Context, limit int64) ([]byte, error) {
	req := c.Request()
	if req.ContentLength > limit {
		return nil, bodyTooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, bodyTooLarge(limit)
		}
		return nil, supabase.Errorf(supabase.CodeInvalidRequest, "the body could not be read")
	}
	return body, nil
}

func bodyTooLarge(limit int64) error {
	return supabase.Errorf(supabase.CodePayloadTooLarge, "the body is larger than %d bytes", limit)
}

// decodeStrict parses body into dst: one JSON object, no unknown fields, no
// trailing data, every field of the right type.
func decodeStrict(body []byte, dst any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return describeDecodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return supabase.Errorf(supabase.CodeInvalidRequest, "the body must be a single JSON object")
	}
	return nil
}

func describeDecodeError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var timeErr *time.ParseError
	switch {
	case errors.As(err, &typeErr) && typeErr.Field != "":
		return &supabase.Error{Code: supabase.CodeInvalidRequest, Message: fmt.Sprintf("field %s has the wrong type: got a JSON %s", typeErr.Field, typeErr.Value), Details: map[string]string{"field": typeErr.Field}}
	case errors.As(err, &typeErr):
		return supabase.Errorf(supabase.CodeInvalidRequest, "the body must be a JSON object")
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return supabase.Errorf(supabase.CodeInvalidRequest, "the body is not valid JSON")
	case errors.As(err, &timeErr):
		return supabase.Errorf(supabase.CodeInvalidRequest, "timestamps must be RFC 3339, e.g. 2024-01-15T10:30:00Z")
	}
	// json reports an unknown field only as text: `json: unknown field "x"`.
	const unknownPrefix = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknownPrefix) && msg[:len(unknownPrefix)] == unknownPrefix {
		field, uerr := strconv.Unquote(msg[len(unknownPrefix):])
		if uerr != nil {
			field = msg[len(unknownPrefix):]
		}
		return &supabase.Error{Code: supabase.CodeInvalidRequest, Message: fmt.Sprintf("unknown field %q", field), Details: map[string]string{"field": field}}
	}
	return supabase.Errorf(supabase.CodeInvalidRequest, "the body could not be decoded: check field types and timestamp formats")
}

// parseID reads the {id} path parameter: a positive integer.
func parseID(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &supabase.Error{Code: supabase.CodeInvalidRequest, Message: "id must be a positive integer", Details: map[string]string{"parameter": "id"}}
	}
	return id, nil
}
