package utils

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestSupabaseHeaders(t *testing.T) {
	const legacy = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2ln"
	tests := []struct {
		name string
		key  string
		want map[string]string
	}{
		{"secret key goes in apikey only", "sb_secret_abc", map[string]string{"apikey": "sb_secret_abc", "User-Agent": "ua"}},
		{"legacy JWT goes in apikey and bearer", legacy, map[string]string{"apikey": legacy, "Authorization": "Bearer " + legacy, "User-Agent": "ua"}},
		{"unknown opaque key is not a bearer", "opaque", map[string]string{"apikey": "opaque", "User-Agent": "ua"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SupabaseHeaders(tt.key, "ua"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestWriteSuccessRaw(t *testing.T) {
	raw := json.RawMessage(`[{"id":1}]`)
	var buf bytes.Buffer
	if err := WriteSuccessRaw(&buf, raw); err != nil {
		t.Fatal(err)
	}
	got := buf.Bytes()
	if len(got) != SuccessRawSize(raw) {
		t.Errorf("got %d bytes, want SuccessRawSize %d", len(got), SuccessRawSize(raw))
	}
	var env struct {
		Success bool             `json:"success"`
		Data    []map[string]int `json:"data"`
	}
	if err := json.Unmarshal(got, &env); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if !env.Success || len(env.Data) != 1 || env.Data[0]["id"] != 1 {
		t.Errorf("got %s, want success envelope around the array", got)
	}
}

func TestFailureOmitsData(t *testing.T) {
	b, _ := json.Marshal(Failure("not_found", "no such session", nil))
	want := `{"success":false,"error":{"code":"not_found","message":"no such session"}}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}
