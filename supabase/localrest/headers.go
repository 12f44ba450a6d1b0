package localrest

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// maxBodyBytes caps request bodies; the gateway sends small JSON objects,
// and an unbounded read would let one request exhaust memory.
const maxBodyBytes = 1 << 20

// negotiate picks the response media type from Accept, best quality first:
// a JSON array, or a single object for application/vnd.pgrst.object+json.
func negotiate(h http.Header) (singular bool, err error) {
	type offer struct {
		mime string
		raw  string
		q    float64
	}
	var offers []offer
	for _, line := range h.Values("Accept") {
		for _, item := range strings.Split(line, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			mt, params, perr := mime.ParseMediaType(item)
			if perr != nil {
				mt, params = strings.ToLower(strings.TrimSpace(strings.Split(item, ";")[0])), nil
			}
			q := 1.0
			if qs, ok := params["q"]; ok {
				if v, err := strconv.ParseFloat(qs, 64); err == nil {
					q = v
				}
				delete(params, "q")
			}
			raw := mt
			if len(params) > 0 {
				raw = item
			}
			if q > 0 {
				offers = append(offers, offer{mime: mt, raw: raw, q: q})
			}
		}
	}
	if len(offers) == 0 {
		return false, nil
	}
	sort.SliceStable(offers, func(i, j int) bool { return offers[i].q > offers[j].q })
	var tried []string
	for _, o := range offers {
		plain := o.raw == o.mime // a nulls=stripped variant is not served here
		switch {
		case plain && (o.mime == "application/json" || o.mime == "application/vnd.pgrst.array+json" ||
			o.mime == "*/*" || o.mime == "application/*"):
			return false, nil
		case plain && (o.mime == "application/vnd.pgrst.object+json" || o.mime == "application/vnd.pgrst.object"):
			return true, nil
		}
		tried = append(tried, o.raw)
	}
	return false, errMediaType(tried)
}

// contentType is the Content-Type of a successful JSON response.
func contentType(singular bool) string {
	if singular {
		return "application/vnd.pgrst.object+json; charset=utf-8"
	}
	return "application/json; charset=utf-8"
}

// checkProfile enforces schema selection: PostgREST reads Content-Profile on
// writes and Accept-Profile on reads, and only public is exposed here. It
// returns whether the client named the schema, which PostgREST echoes back.
func checkProfile(r *http.Request) (named bool, err error) {
	header := "Accept-Profile"
	switch r.Method {
	case http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete:
		header = "Content-Profile"
	}
	profile, ok := r.Header[header]
	if !ok || len(profile) == 0 {
		return false, nil
	}
	if profile[0] != exposedSchema {
		return false, errUnacceptableSchema(profile[0])
	}
	return true, nil
}

// readBody reads a JSON request body within maxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil {
			mt = ct
		}
		switch mt {
		case "application/json", "application/vnd.pgrst.object+json", "application/vnd.pgrst.array+json":
		case "text/csv", "application/x-www-form-urlencoded", "text/plain", "text/xml", "application/octet-stream":
			return nil, errNotImplemented("request bodies of type " + mt)
		default:
			return nil, errInvalidBody("Content-Type not acceptable: " + mt)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, newError(http.StatusRequestEntityTooLarge, "PGRST102",
			"Request body is larger than the local PostgREST server accepts ("+strconv.Itoa(maxBodyBytes)+" bytes)")
	}
	if err != nil {
		return nil, errInvalidBody("Could not read the request body")
	}
	return body, nil
}
