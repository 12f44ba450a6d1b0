package handlers

import (
	"encoding/json"
	"testing"

	"github.com/wasessions/gateway/supabase"
)

// FuzzDecodeBodies feeds arbitrary bytes to the strict decoder for each of
// the three request bodies. It must never panic, must fail only with
// invalid_request, and whatever passes decoding and validation must hold
// the invariants the database relies on.
func FuzzDecodeBodies(f *testing.F) {
	for _, seed := range []string{
		`{"session_id":"session_1705312200123_abc123def","sesion_id":1}`,
		`{"status":"connected","phone_number":"5215512345678","server_port":3000,"last_seen":"2024-01-15T10:30:00Z"}`,
		`{"session_id":"s1","phone_number":null,"status":"connected","last_seen":"2024-01-15T10:30:00.123Z","auth_folder_path":"/a","server_port":1,"whatsapp_user_id":"x@s.whatsapp.net","created_at":"2024-01-15T10:30:00Z","updated_at":"2024-01-15T10:30:00Z"}`,
		`{"session_id":"a","sesion_id":1e3}`,
		`{"status":null}`,
		`[]`, `null`, `{"a":1}`, `{"session_id":"\u0000"}`, `{} {}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var created supabase.NewSession
		if ok := decodeAndValidate(t, body, &created, created.Validate); ok {
			if supabase.ValidateSessionID(created.SessionID) != nil || created.SesionID <= 0 {
				t.Fatalf("accepted an invalid create: %+v", created)
			}
		}
		var patch supabase.SessionPatch
		if ok := decodeAndValidate(t, body, &patch, func() error { return patch.Validate() }); ok {
			if patch.Status.Set && supabase.ValidateStatus(patch.Status.Value) != nil {
				t.Fatalf("accepted an invalid status: %+v", patch.Status)
			}
		}
		var conn supabase.Connection
		if ok := decodeAndValidate(t, body, &conn, func() error { return conn.Validate() }); ok {
			if conn.PhoneNumber != nil && supabase.ValidatePhoneNumber(*conn.PhoneNumber) != nil {
				t.Fatalf("accepted an invalid phone: %q", *conn.PhoneNumber)
			}
			if _, err := json.Marshal(conn); err != nil {
				t.Fatalf("accepted a connection that cannot be forwarded: %v", err)
			}
		}
	})
}

func decodeAndValidate(t *testing.T, body []byte, dst any, validate func() error) bool {
	t.Helper()
	err := decodeStrict(body, dst)
	if err == nil {
		err = validate()
	}
	if err != nil && supabase.ErrorCode(err) != supabase.CodeInvalidRequest {
		t.Fatalf("got code %s for %q, want invalid_request", supabase.ErrorCode(err), body)
	}
	return err == nil
}
