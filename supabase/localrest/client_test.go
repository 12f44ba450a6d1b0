package localrest_test

import (
	"slices"
	"strings"
	"testing"

	postgrest "github.com/supabase-community/postgrest-go"

	"github.com/wasessions/gateway/supabase/supabasetest"
)

// TestPostgrestGoClient drives the server through the client the gateway
// uses, so what the client actually puts on the wire (duplicate Accept
// headers, and=(...) for two filters on one column, Prefer defaults) is
// what is tested.
func TestPostgrestGoClient(t *testing.T) {
	pool := supabasetest.NewPool(t, supabasetest.NewDatabase(t))
	mustExec(t, pool, schema)
	mustExec(t, pool, seed)
	baseURL, key := supabasetest.NewLocalREST(t, pool)
	client := postgrest.NewClient(baseURL+"/rest/v1", "public", map[string]string{"apikey": key})

	t.Run("select with eq", func(t *testing.T) {
		body, _, err := client.From("whatsapp_sessions").Select("*", "", false).Eq("status", "connected").Execute()
		if err != nil {
			t.Fatalf("Execute: %v", err)
		}
		got := ids(t, string(body))
		slices.Sort(got)
		wantIDs(t, got, []int64{2, 5})
	})

	t.Run("two filters on one column", func(t *testing.T) {
		var rows []struct {
			ID int64 `json:"id"`
		}
		count, err := client.From("whatsapp_sessions").Select("id", "exact", false).
			Filter("id", "gt", "1").Filter("id", "lt", "4").
			Order("id", &postgrest.OrderOpts{Ascending: true}).ExecuteTo(&rows)
		if err != nil {
			t.Fatalf("ExecuteTo: %v", err)
		}
		if count != 2 || len(rows) != 2 || rows[0].ID != 2 || rows[1].ID != 3 {
			t.Errorf("got count %d rows %v, want 2 rows, ids 2 and 3", count, rows)
		}
	})

	t.Run("in, is and or", func(t *testing.T) {
		body, _, err := client.From("whatsapp_sessions").Select("id", "", false).
			In("session_id", []string{"s,4", "S5 (x)", "s1"}).Is("sesion_id", "null").Execute()
		if err != nil {
			t.Fatalf("Execute: %v", err)
		}
		got := ids(t, string(body))
		slices.Sort(got)
		wantIDs(t, got, []int64{4, 5})

		body, _, err = client.From("whatsapp_sessions").Select("id", "", false).
			Or("status.eq.expired,id.eq.1", "").Order("id", &postgrest.OrderOpts{Ascending: true}).Execute()
		if err != nil {
			t.Fatalf("Execute: %v", err)
		}
		wantIDs(t, ids(t, string(body)), []int64{1, 4})
	})

	t.Run("single", func(t *testing.T) {
		var row struct {
			SessionID string `json:"session_id"`
		}
		if _, err := client.From("whatsapp_sessions").Select("session_id", "", false).Eq("id", "3").Single().ExecuteTo(&row); err != nil {
			t.Fatalf("ExecuteTo: %v", err)
		}
		if row.SessionID != "s3" {
			t.Errorf("got %q, want s3", row.SessionID)
		}
		_, _, err := client.From("whatsapp_sessions").Select("*", "", false).Eq("status", "pending").Single().Execute()
		if err == nil || !strings.Contains(err.Error(), "PGRST116") {
			t.Errorf("got error %v, want PGRST116", err)
		}
	})

	t.Run("insert, update, delete", func(t *testing.T) {
		var inserted []struct {
			ID     int64  `json:"id"`
			Status string `json:"status"`
		}
		_, err := client.From("whatsapp_sessions").
			Insert(map[string]any{"session_id": "client-1", "sesion_id": 2}, false, "", "representation", "").
			ExecuteTo(&inserted)
		if err != nil || len(inserted) != 1 || inserted[0].Status != "pending" {
			t.Fatalf("Insert: got %v %v, want one pending row", inserted, err)
		}
		id := inserted[0].ID

		body, _, err := client.From("whatsapp_sessions").
			Update(map[string]any{"status": "connected"}, "representation", "").Eq("session_id", "client-1").Execute()
		if err != nil || !strings.Contains(string(body), `"status":"connected"`) {
			t.Fatalf("Update: got %s %v, want the connected row", body, err)
		}

		body, _, err = client.From("whatsapp_sessions").Delete("representation", "").Eq("session_id", "client-1").Execute()
		if err != nil {
			t.Fatalf("Delete: %v", err)
		}
		wantIDs(t, ids(t, string(body)), []int64{id})

		_, _, err = client.From("whatsapp_sessions").Insert(map[string]any{"session_id": "s1"}, false, "", "", "").Execute()
		if err == nil || !strings.Contains(err.Error(), "23505") {
			t.Errorf("duplicate insert: got error %v, want 23505", err)
		}
	})

	t.Run("rpc", func(t *testing.T) {
		if got := client.Rpc("add", "", map[string]int{"a": 20, "b": 22}); got != "42" {
			t.Errorf("Rpc add: got %q (client error %v), want 42", got, client.ClientError)
		}
		// The Insert builder aimed at rpc/ is how the gateway gets errors
		// back as Go errors; it sends Prefer: return=representation.
		body, _, err := client.From("rpc/connect_session").
			Insert(map[string]any{"p_session_id": "s2", "p_status": "disconnected"}, false, "", "", "").Execute()
		if err != nil || !strings.Contains(string(body), `"status": "disconnected"`) {
			t.Errorf("rpc via Insert: got %s %v, want the disconnected row", body, err)
		}
		_, _, err = client.From("rpc/set_status").Insert(map[string]any{"p_id": 4, "p_status": "pending"}, false, "", "", "").Execute()
		if err == nil || !strings.Contains(err.Error(), "PT409") {
			t.Errorf("rpc raising PT409: got error %v, want PT409", err)
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		bad := postgrest.NewClient(baseURL+"/rest/v1", "public", map[string]string{"apikey": "sb_secret_nope"})
		if _, _, err := bad.From("whatsapp_sessions").Select("*", "", false).Execute(); err == nil {
			t.Errorf("got nil error, want the 401")
		}
	})
}
