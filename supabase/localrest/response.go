package localrest

import (
	"net/http"
	"strconv"
)

// response is a successful answer, built completely before anything is
// written so that a failure late in a handler can still become an error.
type response struct {
	status  int
	headers map[string]string
	body    []byte // nil: no body
}

func (resp *response) write(w http.ResponseWriter, r *http.Request) {
	for k, v := range resp.headers {
		if v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(resp.status)
	if resp.body != nil && r.Method != http.MethodHead {
		_, _ = w.Write(resp.body)
	}
}

// contentRange renders PostgREST's Content-Range: the rows returned as
// lower-upper (or * when none), then the total when counted (or *).
func contentRange(lower, upper int64, total *int64) string {
	rng := "*"
	if (total == nil || *total != 0) && lower <= upper {
		rng = strconv.FormatInt(lower, 10) + "-" + strconv.FormatInt(upper, 10)
	}
	tot := "*"
	if total != nil {
		tot = strconv.FormatInt(*total, 10)
	}
	return rng + "/" + tot
}

// rangeStatus is PostgREST's status for a read: 200 unless a count was
// asked for, then 206 when only part of the rows came back and 416 when the
// offset is past the end.
func rangeStatus(lower, upper int64, total *int64) int {
	switch {
	case total == nil:
		return http.StatusOK
	case lower > *total:
		return http.StatusRequestedRangeNotSatisfiable
	case 1+upper-lower < *total:
		return http.StatusPartialContent
	default:
		return http.StatusOK
	}
}

// profileHeader echoes the schema when the client negotiated it.
func profileHeader(named bool) string {
	if named {
		return exposedSchema
	}
	return ""
}

// optionsResponse answers OPTIONS as PostgREST does: the methods the
// resource allows, no body.
func optionsResponse(allowed string) *response {
	return &response{status: http.StatusOK, headers: map[string]string{"Allow": allowed}}
}
