package supabase

// columnKind says how values of a column are checked before a filter on it
// is forwarded.
type columnKind int

const (
	kindBigint columnKind = iota
	kindInteger
	kindText
	kindStatus
	kindTimestamp
)

// SessionTable is the PostgREST resource the gateway manages.
const SessionTable = "whatsapp_sessions"

// sessionColumns is the whatsapp_sessions table as the query parser sees it.
// It must list exactly the columns of supabase/migrations; a test checks it
// against the migrated database.
var sessionColumns = map[string]columnKind{
	"id":               kindBigint,
	"session_id":       kindText,
	"sesion_id":        kindBigint,
	"phone_number":     kindText,
	"status":           kindStatus,
	"last_seen":        kindTimestamp,
	"auth_folder_path": kindText,
	"server_port":      kindInteger,
	"whatsapp_user_id": kindText,
	"created_at":       kindTimestamp,
	"updated_at":       kindTimestamp,
}

// SessionColumns returns the names of the whatsapp_sessions columns.
func SessionColumns() []string {
	names := make([]string, 0, len(sessionColumns))
	for name := range sessionColumns {
		names = append(names, name)
	}
	return names
}
