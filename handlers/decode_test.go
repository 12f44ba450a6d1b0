package handlers

import (
	"testing"

	"github.com/wasessions/gateway/supabase"
)

func TestCheckKeys(t *testing.T) {
	allowed := map[string]bool{"session_id": true, "sesion_id": true, "meta": true}
	tests := []struct {
		body   string
		reject bool
	}{
		{`{"session_id":"a","sesion_id":1}`, false},
		{` { "session_id" : "a,\"}" , "sesion_id" : 1 } `, false},
		{`{"session\u005fid":"a"}`, false},
		{`{"meta":{"session_id":1,"x":[1,{"y":"}"}]},"sesion_id":2}`, false},
		{`{"Session_ID":"a"}`, true},
		{`{"session_id":"a","session_id":"b"}`, true},
		{`{"meta":{"a":1},"meta":[]}`, true},
		{`{"meta":"x","other":1}`, true},
		{`{"session_id":"a",`, false}, // malformed: left to the decoder
		{`[{"other":1}]`, false},      // not an object: left to the decoder
		{`{"session_id" "a"}`, false}, // malformed
		{`{"session_id":"a\`, false},  // unterminated
	}
	for _, tt := range tests {
		err := checkKeys([]byte(tt.body), allowed)
		if (err != nil) != tt.reject {
			t.Errorf("checkKeys(%s): got %v, want reject=%v", tt.body, err, tt.reject)
		}
		if err != nil && supabase.ErrorCode(err) != supabase.CodeInvalidRequest {
			t.Errorf("checkKeys(%s): got code %s, want invalid_request", tt.body, supabase.ErrorCode(err))
		}
	}
}
