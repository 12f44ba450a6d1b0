package supabase

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"
)

// UpstreamError is a PostgREST error response, kept with its HTTP status.
// postgrest-go flattens error responses into a string and drops the status,
// so errorTransport turns them into this type before postgrest-go sees them.
type UpstreamError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Details any    `json:"details"`
	Hint    any    `json:"hint"`
}

func (e *UpstreamError) Error() string {
	return "supabase answered " + http.StatusText(e.Status) + " (" + e.Code + "): " + e.Message
}

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// errorTransport is the RoundTripper under postgrest-go. It turns error
// responses into *UpstreamError so the status and code survive, passes
// the request id and the write's source on, and, for operations that pass
// the body through (see bodySlot), takes a successful body away from
// postgrest-go, which would read it whole. Deadlines come from Client.call,
// which gives every attempt one (postgrest-go's own Rpc takes no context,
// so it is not used).
type errorTransport struct {
	base http.RoundTripper
}

func (t *errorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if id := requestIDFrom(req.Context()); id != "" {
		req.Header.Set("X-Request-ID", id)
	}
	if source := sourceFrom(req.Context()); source != "" {
		req.Header.Set(HeaderGatewaySource, source)
	}
	// postgrest-go's Single adds the object media type and its transport
	// then appends its default application/json: send only the first, the
	// one the query asked for, rather than rely on how a proxy merges them.
	if accept := req.Header.Values("Accept"); len(accept) > 1 {
		req.Header["Accept"] = accept[:1]
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		// Never followed: postgrest-go's transport puts the key on every
		// request, so the redirected one would carry it to whatever host
		// Location names. PostgREST does not redirect; a redirect means
		// SUPABASE_URL is wrong (http:// for https://, a proxy's login page).
		resp.Body.Close()
		return nil, &UpstreamError{Status: resp.StatusCode, Message: "redirects are not followed; check SUPABASE_URL"}
	}
	if resp.StatusCode < 400 {
		if slot := bodySlotFrom(req.Context()); slot != nil && resp.StatusCode < 300 {
			body, err := readHead(resp)
			if err != nil {
				return nil, err
			}
			slot.put(body)
			resp.Body, resp.ContentLength = http.NoBody, 0
		}
		return resp, nil
	}
	defer resp.Body.Close()
	upstream := &UpstreamError{Status: resp.StatusCode}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if readErr != nil || json.Unmarshal(body, upstream) != nil {
		// Not PostgREST's JSON (a proxy's HTML page, a cut body): the status
		// is all there is to go on.
		upstream.Code, upstream.Message = "", http.StatusText(resp.StatusCode)
	}
	return nil, upstream
}

// upstreamReadBuffer is each connection's read buffer: a 1,000-row list
// (about 400 KB) arrives in a dozen reads instead of a hundred 4 KiB ones.
// It is as large as the buffer Body.WriteTo copies through, so those reads
// go from the socket straight into it, skipping bufio's own copy. 64 KiB
// measured the same throughput in the load benchmark for about 6 MiB more
// peak RSS (a buffer per pooled connection, times GOGC's headroom).
const upstreamReadBuffer = headSize

// NewHTTPTransport returns the connection pool used to reach Supabase. The
// default transport keeps 2 idle connections per host, which under load
// means a new TCP (and TLS) handshake for most calls. It speaks HTTP/1.1:
// each call is one request on a pooled connection of its own, so HTTP/2's
// multiplexing buys nothing and its framing and flow control cost CPU.
// Compression stays on (Go asks for gzip and decompresses as the body
// streams): across a WAN it shrinks a large list about tenfold.
func NewHTTPTransport(maxIdlePerHost int) *http.Transport {
	if maxIdlePerHost <= 0 {
		maxIdlePerHost = 128
	}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     false,
		ReadBufferSize:        upstreamReadBuffer,
		MaxIdleConns:          maxIdlePerHost * 2,
		MaxIdleConnsPerHost:   maxIdlePerHost,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
	}
}
