package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
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
// trailing data, every field of the right type. encoding/json matches names
// case-insensitively and keeps the last of repeated keys, so the keys are
// first checked to be exactly dst's, each at most once.
func decodeStrict(body []byte, dst any) error {
	if err := checkKeys(body, jsonFieldNames(dst)); err != nil {
		return err
	}
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

// checkKeys scans the top-level object of body and refuses a key that is
// not exactly one of allowed, or that appears twice. It is a byte scanner,
// not a second json.Decoder pass, since it runs on every write request;
// anything malformed is left for the decoder to describe.
func checkKeys(body []byte, allowed map[string]bool) error {
	var seen [16]string // the body types have at most 9 fields
	n := 0
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil
	}
	i++
	for {
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != '"' {
			return nil // '}' or malformed: the decoder decides
		}
		end := scanString(body, i)
		if end < 0 {
			return nil
		}
		key := string(body[i+1 : end-1])
		if strings.IndexByte(key, '\\') >= 0 {
			var unquoted string
			if json.Unmarshal(body[i:end], &unquoted) != nil {
				return nil
			}
			key = unquoted
		}
		if !allowed[key] {
			return &supabase.Error{Code: supabase.CodeInvalidRequest, Message: fmt.Sprintf("unknown field %q (field names are case-sensitive)", clipKey(key)), Details: map[string]string{"field": clipKey(key)}}
		}
		for _, k := range seen[:n] {
			if k == key {
				return &supabase.Error{Code: supabase.CodeInvalidRequest, Message: fmt.Sprintf("field %q appears more than once", key), Details: map[string]string{"field": key}}
			}
		}
		if n < len(seen) {
			seen[n] = key
			n++
		}
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return nil
		}
		if i = skipValue(body, skipSpace(body, i+1)); i < 0 {
			return nil
		}
		i = skipSpace(body, i)
		if i >= len(body) || body[i] != ',' {
			return nil
		}
		i++
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString returns the index just past the string starting at b[i]
// (which is '"'), or -1 if it is not terminated.
func scanString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index just past the value starting at b[i]: a
// string, or anything up to the next ',' or '}' at this depth, with nested
// objects and arrays skipped whole. -1 means malformed.
func skipValue(b []byte, i int) int {
	depth := 0
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			if i = scanString(b, i); i < 0 {
				return -1
			}
			if depth == 0 {
				return i
			}
			continue
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth == 0 {
				return i
			}
			depth--
			if depth == 0 {
				return i + 1
			}
		case c == ',' && depth == 0:
			return i
		}
		i++
	}
	return -1
}

// fieldNamesCache holds the JSON names of each body type, computed once.
var fieldNamesCache sync.Map // reflect.Type -> map[string]bool

// jsonFieldNames returns the JSON names of the fields of the struct dst
// points to.
func jsonFieldNames(dst any) map[string]bool {
	t := reflect.TypeOf(dst).Elem()
	if names, ok := fieldNamesCache.Load(t); ok {
		return names.(map[string]bool)
	}
	names := make(map[string]bool, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names[name] = true
		}
	}
	fieldNamesCache.Store(t, names)
	return names
}

func clipKey(k string) string {
	if len(k) > 64 {
		return k[:64] + "…"
	}
	return k
}

// strictQuery parses the request's query string and refuses it when any
// pair is malformed (a bad %-escape, a ';'): Echo's QueryParams silently
// drops such pairs, and a dropped filter would widen the answer.
func strictQuery(c echo.Context) (url.Values, error) {
	values, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return nil, supabase.Errorf(supabase.CodeInvalidRequest,
			"the query string is malformed: percent-encode '%%' as %%25 and ';' as %%3B, and separate parameters with '&'")
	}
	return values, nil
}
