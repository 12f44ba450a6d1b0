package localrest

import (
	"math"
	"net/http"
	"regexp"
	"strconv"
)

// rowRange is an inclusive window of row positions, PostgREST's
// NonnegRange; bounded false means no upper end.
type rowRange struct {
	lower   int64
	upper   int64
	bounded bool
}

// allRows is the range of a request that asks for no window.
var allRows = rowRange{}

func (r rowRange) empty() bool { return r.bounded && r.upper < r.lower }

// intersect is the rows both ranges cover.
func (r rowRange) intersect(o rowRange) rowRange {
	out := rowRange{lower: max(r.lower, o.lower)}
	switch {
	case r.bounded && o.bounded:
		out.upper, out.bounded = min(r.upper, o.upper), true
	case r.bounded:
		out.upper, out.bounded = r.upper, true
	case o.bounded:
		out.upper, out.bounded = o.upper, true
	}
	return out
}

// capped restricts the range to at most n rows (max-rows); n 0 is no cap.
func (r rowRange) capped(n int64) rowRange {
	if n <= 0 {
		return r
	}
	last := satAdd(r.lower, n-1)
	if !r.bounded || r.upper > last {
		r.upper, r.bounded = last, true
	}
	return r
}

// limit is the SQL LIMIT for the range, or -1 for none.
func (r rowRange) limit() int64 {
	if !r.bounded {
		return -1
	}
	return max(r.upper-r.lower+1, 0)
}

// rangeHeader is PostgREST's grammar for the Range header: first-[last].
// A header that does not match, such as a bytes= range, is ignored, as
// PostgREST ignores it; Range-Unit is not consulted either.
var rangeHeader = regexp.MustCompile(`^([0-9]+)-([0-9]*)$`)

// parseRangeHeader reads the Range header of a GET.
func parseRangeHeader(v string) rowRange {
	m := rangeHeader.FindStringSubmatch(v)
	if m == nil {
		return allRows
	}
	r := rowRange{lower: parseCount(m[1])}
	if m[2] != "" {
		r.upper, r.bounded = parseCount(m[2]), true
	}
	return r
}

// parseCount reads digits, saturating where PostgREST's unbounded integers
// would simply be larger than any table.
func parseCount(digits string) int64 {
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return math.MaxInt64
	}
	return n
}

func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// window combines the Range header with limit and offset as PostgREST's
// getRanges does: their intersection, except that limit=0 always means no
// rows; an empty window is a 416. max-rows then caps it.
func (q *query) window(header rowRange, maxRows int64) (rowRange, error) {
	params := rowRange{lower: q.offset}
	if q.limit != nil {
		params.upper, params.bounded = satAdd(q.offset, *q.limit)-1, true
	}
	if q.limit != nil && *q.limit == 0 {
		return params, nil
	}
	w := header.intersect(params)
	if w.empty() {
		if header.empty() {
			return w, errRangeBounds()
		}
		return w, errNegativeLimit()
	}
	return w.capped(maxRows), nil
}

func errRangeBounds() *apiError {
	return newError(http.StatusRequestedRangeNotSatisfiable, "PGRST103", "Requested range not satisfiable").
		withDetails("The lower boundary must be lower than or equal to the upper boundary in the Range header.")
}
