package supabase

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	tests := []struct {
		column, raw string
		want        Filter
	}{
		{"status", "eq.connected", Filter{Column: "status", Op: "eq", Values: []string{"connected"}}},
		{"status", "not.eq.expired", Filter{Column: "status", Negate: true, Op: "eq", Values: []string{"expired"}}},
		{"sesion_id", "eq.1", Filter{Column: "sesion_id", Op: "eq", Values: []string{"1"}}},
		{"session_id", "eq.session_1705312200123_abc123def", Filter{Column: "session_id", Op: "eq", Values: []string{"session_1705312200123_abc123def"}}},
		{"id", "gte.10", Filter{Column: "id", Op: "gte", Values: []string{"10"}}},
		{"server_port", "lt.3000", Filter{Column: "server_port", Op: "lt", Values: []string{"3000"}}},
		{"status", "in.(pending,connected)", Filter{Column: "status", Op: "in", Values: []string{"pending", "connected"}}},
		{"auth_folder_path", `in.("a,b","c\"d")`, Filter{Column: "auth_folder_path", Op: "in", Values: []string{"a,b", `c"d`}}},
		{"phone_number", "is.null", Filter{Column: "phone_number", Op: "is", Values: []string{"null"}}},
		{"phone_number", "not.is.null", Filter{Column: "phone_number", Negate: true, Op: "is", Values: []string{"null"}}},
		{"auth_folder_path", "like.*auth*", Filter{Column: "auth_folder_path", Op: "like", Values: []string{"*auth*"}}},
		{"session_id", "ilike.SESSION*", Filter{Column: "session_id", Op: "ilike", Values: []string{"SESSION*"}}},
		{"last_seen", "gt.2024-01-15T10:30:00Z", Filter{Column: "last_seen", Op: "gt", Values: []string{"2024-01-15T10:30:00Z"}}},
		{"last_seen", "gt.2024-01-15T10:30:00+02:00", Filter{Column: "last_seen", Op: "gt", Values: []string{"2024-01-15T08:30:00Z"}}},
		{"last_seen", "gt.2024-01-15T10:30:00 02:00", Filter{Column: "last_seen", Op: "gt", Values: []string{"2024-01-15T08:30:00Z"}}},
		{"created_at", "lt.2024-01-15", Filter{Column: "created_at", Op: "lt", Values: []string{"2024-01-15T00:00:00Z"}}},
	}
	for _, tt := range tests {
		t.Run(tt.column+"="+tt.raw, func(t *testing.T) {
			got, err := ParseFilter(tt.column, tt.raw)
			if err != nil {
				t.Fatalf("got error %v, want %+v", err, tt.want)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseFilterRejects(t *testing.T) {
	tests := []struct {
		column, raw, wantInMessage string
	}{
		{"nope", "eq.1", "unknown column"},
		{"status", "eq.online", "status must be one of"},
		{"status", "connected", "op.value"},
		{"status", "matches.connected", "op.value"},
		{"status", "not.not.eq.connected", "op.value"},
		{"id", "eq.abc", "integers"},
		{"id", "eq.1;drop table x", "integers"},
		{"sesion_id", "eq.99999999999999999999", "integers"},
		{"server_port", "eq.99999999999", "integers"},
		{"id", "like.1*", "text columns"},
		{"last_seen", "gt.yesterday", "timestamps"},
		{"phone_number", "is.true", "is.null"},
		{"status", "in.()", "at least one"},
		{"status", "in.pending", "parentheses"},
		{"status", `in.("pending`, "parentheses"},
		{"status", `in.("pending)`, "unterminated"},
		{"status", "in.(pending,online)", "status must be one of"},
		{"session_id", "eq.a\x00b", "control characters"},
		{"session_id", "eq." + strings.Repeat("a", 2000), "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.column+"="+tt.raw, func(t *testing.T) {
			_, err := ParseFilter(tt.column, tt.raw)
			if err == nil {
				t.Fatalf("got nil error, want one mentioning %q", tt.wantInMessage)
			}
			if ErrorCode(err) != CodeInvalidRequest {
				t.Errorf("got code %s, want %s", ErrorCode(err), CodeInvalidRequest)
			}
			if !strings.Contains(err.Error(), tt.wantInMessage) {
				t.Errorf("got %q, want it to mention %q", err, tt.wantInMessage)
			}
		})
	}
}

func TestParseListQuery(t *testing.T) {
	q, err := ParseListQuery(url.Values{
		"status": {"eq.connected"},
		"id":     {"gt.1", "lt.100"},
		"select": {"id, status,session_id"},
		"order":  {"created_at.desc,id.asc.nullsfirst"},
		"limit":  {"10"},
		"offset": {"20"},
	}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := ListQuery{
		Filters: []Filter{
			{Column: "id", Op: "gt", Values: []string{"1"}},
			{Column: "id", Op: "lt", Values: []string{"100"}},
			{Column: "status", Op: "eq", Values: []string{"connected"}},
		},
		Select: []string{"id", "status", "session_id"},
		Order:  []OrderTerm{{Column: "created_at", Descending: true}, {Column: "id", Nulls: "nullsfirst"}},
		Limit:  10,
		Offset: 20,
	}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("got %+v, want %+v", q, want)
	}
}

func TestParseListQueryDefaultsLimit(t *testing.T) {
	q, err := ParseListQuery(url.Values{}, 250)
	if err != nil {
		t.Fatal(err)
	}
	if q.Limit != 250 || q.Select != nil || q.Filters != nil {
		t.Errorf("got %+v, want only Limit=250", q)
	}
}

func TestParseListQueryRejects(t *testing.T) {
	tests := []struct {
		name      string
		params    url.Values
		wantParam string
	}{
		{"unknown parameter", url.Values{"foo": {"bar"}}, "foo"},
		{"logic tree not accepted", url.Values{"or": {"(status.eq.pending)"}}, "or"},
		{"embedding", url.Values{"select": {"*,sesiones(*)"}}, "select"},
		{"unknown select column", url.Values{"select": {"id,password"}}, "select"},
		{"bad order direction", url.Values{"order": {"id.up"}}, "order"},
		{"unknown order column", url.Values{"order": {"secret.asc"}}, "order"},
		{"limit zero", url.Values{"limit": {"0"}}, "limit"},
		{"limit over max", url.Values{"limit": {"1001"}}, "limit"},
		{"limit not a number", url.Values{"limit": {"ten"}}, "limit"},
		{"limit twice", url.Values{"limit": {"1", "2"}}, "limit"},
		{"negative offset", url.Values{"offset": {"-1"}}, "offset"},
		{"bad filter", url.Values{"status": {"eq.nope"}}, "status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseListQuery(tt.params, 1000)
			e, ok := err.(*Error)
			if !ok {
				t.Fatalf("got %v, want *Error", err)
			}
			details, _ := e.Details.(map[string]string)
			if e.Code != CodeInvalidRequest || details["parameter"] != tt.wantParam {
				t.Errorf("got code %s parameter %q, want invalid_request naming %q", e.Code, details["parameter"], tt.wantParam)
			}
		})
	}
}

func TestOperandQuotesInsideLogicTree(t *testing.T) {
	tests := []struct {
		f      Filter
		inTree bool
		want   string
	}{
		{Filter{Op: "eq", Values: []string{"a,b"}}, false, "a,b"},
		{Filter{Op: "eq", Values: []string{"a,b"}}, true, `"a,b"`},
		{Filter{Op: "eq", Values: []string{`x"y\z`}}, true, `"x\"y\\z"`},
		{Filter{Op: "in", Values: []string{"a", "b,c"}}, false, `("a","b,c")`},
	}
	for _, tt := range tests {
		if got := operand(tt.f, tt.inTree); got != tt.want {
			t.Errorf("operand(%v, %v): got %s, want %s", tt.f.Values, tt.inTree, got, tt.want)
		}
	}
}

// FuzzParseFilter checks that the parser never panics and that whatever it
// accepts is a known column and operator with values free of control
// characters — the only things allowed to reach Supabase.
func FuzzParseFilter(f *testing.F) {
	for _, seed := range []string{"eq.connected", "not.in.(a,\"b,c\")", "is.null", "gt.2024-01-15T10:30:00Z", "like.*x*", "in.(\"\\\"\")", "eq.", "not."} {
		f.Add("status", seed)
		f.Add("session_id", seed)
		f.Add("last_seen", seed)
	}
	f.Fuzz(func(t *testing.T, column, raw string) {
		got, err := ParseFilter(column, raw)
		if err != nil {
			if ErrorCode(err) != CodeInvalidRequest {
				t.Fatalf("got code %s, want invalid_request", ErrorCode(err))
			}
			return
		}
		if _, ok := sessionColumns[got.Column]; !ok || !filterOperators[got.Op] {
			t.Fatalf("accepted unknown column or operator: %+v", got)
		}
		if len(got.Values) == 0 {
			t.Fatalf("accepted a filter with no value: %+v", got)
		}
		for _, v := range got.Values {
			if ValidateText("v", v) != nil {
				t.Fatalf("accepted a control character in %q", v)
			}
		}
	})
}
