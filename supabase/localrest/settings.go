package localrest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
)

// requestSettings are the transaction-scoped settings PostgREST gives every
// request, so that database code (triggers, functions) can see who asked:
// request.method, request.path, request.headers and request.cookies, the
// last two as JSON objects with lower-case names. As in PostgREST, the
// Cookie header is not among the headers but parsed into the cookies, and
// of a repeated header the last value is kept.
type requestSettings struct {
	method, path, headers, cookies string
}

type settingsKey struct{}

// withRequestSettings records r's settings in its context for inTx.
func withRequestSettings(r *http.Request, path string) *http.Request {
	headers := make(map[string]string, len(r.Header))
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if lower == "cookie" || len(values) == 0 {
			continue
		}
		headers[lower] = values[len(values)-1]
	}
	cookies := make(map[string]string)
	for _, c := range r.Cookies() {
		cookies[c.Name] = c.Value
	}
	h, _ := json.Marshal(headers)
	c, _ := json.Marshal(cookies)
	s := requestSettings{method: r.Method, path: path, headers: string(h), cookies: string(c)}
	return r.WithContext(context.WithValue(r.Context(), settingsKey{}, s))
}

func requestSettingsFrom(ctx context.Context) requestSettings {
	s, _ := ctx.Value(settingsKey{}).(requestSettings)
	if s.headers == "" {
		s.headers, s.cookies = "{}", "{}"
	}
	return s
}
