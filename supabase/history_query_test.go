package supabase

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseHistoryQuery(t *testing.T) {
	tests := []struct {
		query string
		want  ListQuery
	}{
		{"", ListQuery{Limit: 100}},
		{"source=eq.webhook", ListQuery{Filters: []Filter{{Column: "source", Op: "eq", Values: []string{"webhook"}}}, Limit: 100}},
		{"from_status=is.null", ListQuery{Filters: []Filter{{Column: "from_status", Op: "is", Values: []string{"null"}}}, Limit: 100}},
		{"to_status=in.(expired,connected)", ListQuery{Filters: []Filter{{Column: "to_status", Op: "in", Values: []string{"expired", "connected"}}}, Limit: 100}},
		{"at=gte.2024-01-15", ListQuery{Filters: []Filter{{Column: "at", Op: "gte", Values: []string{"2024-01-15T00:00:00Z"}}}, Limit: 100}},
		{"order=at.desc&limit=5&offset=2", ListQuery{Order: []OrderTerm{{Column: "at", Descending: true}}, Limit: 5, Offset: 2}},
		{"select=id,source,changes", ListQuery{Select: []string{"id", "source", "changes"}, Limit: 100}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			params, _ := url.ParseQuery(tt.query)
			got, err := ParseHistoryQuery(params, 100)
			if err != nil {
				t.Fatalf("got error %v, want %+v", err, tt.want)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseHistoryQueryRejects(t *testing.T) {
	tests := []struct {
		query, param, wantInMessage string
	}{
		{"source=eq.dashboard", "source", "source must be one of create, webhook, patch, expiry, delete, other"},
		{"to_status=eq.online", "to_status", "to_status must be one of"},
		{"order=source.asc", "order", "id or at only"},
		{"order=status", "order", "not a column of the history"},
		{"status=eq.pending", "status", "unknown parameter"},
		{"row_after=is.null", "row_after", "unknown parameter"},
		{"select=row_after", "select", "not a column of the history"},
		{"changes=eq.status", "changes", "cannot be filtered"},
		{"limit=101", "limit", "from 1 to 100"},
		{"id=eq.x", "id", "integers"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			params, _ := url.ParseQuery(tt.query)
			_, err := ParseHistoryQuery(params, 100)
			var e *Error
			if err == nil || !errors.As(err, &e) || e.Code != CodeInvalidRequest {
				t.Fatalf("got %v, want an invalid_request error", err)
			}
			if !strings.Contains(e.Message, tt.wantInMessage) {
				t.Errorf("got message %q, want it to contain %q", e.Message, tt.wantInMessage)
			}
			if d, _ := e.Details.(map[string]string); d["parameter"] != tt.param {
				t.Errorf("got details %v, want parameter %q", e.Details, tt.param)
			}
		})
	}
}
