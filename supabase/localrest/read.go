package localrest

import (
	"context"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
)

// read serves GET and HEAD on a table: one statement returns the optional
// total, the number of rows on the page and the JSON body, so the response
// is consistent with itself.
func (s *Server) read(ctx context.Context, cat *catalog, req *tableRequest) (*response, error) {
	t, q := req.table, req.query
	b := &sqlBuilder{}
	rel := qualified(t)
	cols, err := selectList(t, rel, q.selectItems)
	if err != nil {
		return nil, err
	}
	where, err := b.where(t, q)
	if err != nil {
		return nil, err
	}
	embedCols, embedConds, err := b.embedSQL(cat, t, rel, q)
	if err != nil {
		return nil, err
	}
	cols = joinNonEmpty(append([]string{cols}, embedCols...))
	if len(embedConds) > 0 {
		if where == "" {
			where = " WHERE " + strings.Join(embedConds, " AND ")
		} else {
			where += " AND " + strings.Join(embedConds, " AND ")
		}
	}
	order, err := orderBy(t, q.order)
	if err != nil {
		return nil, err
	}
	win, err := q.window(req.headerRange, s.maxRows)
	if err != nil {
		return nil, err
	}
	page := "SELECT " + cols + " FROM " + rel + where + order
	if n := win.limit(); n >= 0 {
		page += " LIMIT " + b.bind(n)
	}
	if win.lower > 0 {
		page += " OFFSET " + b.bind(win.lower)
	}
	total := "NULL::bigint"
	if req.prefs.count {
		total = "(SELECT pg_catalog.count(*) FROM " + rel + where + ")"
	}
	sql := "SELECT " + total + ", pg_catalog.count(*), " + jsonBody(req.singular) + " FROM (" + page + ") _t"

	var (
		count *int64
		rows  int64
		body  string
	)
	err = s.inTx(ctx, true, req.prefs, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, sql, b.args...).Scan(&count, &rows, &body); err != nil {
			return err
		}
		if req.singular && rows != 1 {
			return errSingular(rows)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	upper := win.lower + rows - 1
	status := rangeStatus(win.lower, upper, count)
	if status == http.StatusRequestedRangeNotSatisfiable {
		return nil, errOutOfRange(win.lower, *count)
	}
	return &response{
		status: status,
		headers: map[string]string{
			"Content-Type":       contentType(req.singular),
			"Content-Range":      contentRange(win.lower, upper, count),
			"Preference-Applied": req.prefs.applied(false),
			"Content-Profile":    profileHeader(req.profile),
		},
		body: []byte(body),
	}, nil
}

// joinNonEmpty joins select list parts, skipping empty ones: select= may
// name only an empty embed, which selects nothing of its own.
func joinNonEmpty(parts []string) string {
	out := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, ", ")
}
