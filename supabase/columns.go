package supabase

import "sort"

// columnKind says how values of a column are checked before a filter on it
// is forwarded.
type columnKind int

const (
	kindBigint columnKind = iota
	kindInteger
	kindText
	kindStatus
	kindSource
	kindTimestamp
	kindTextList // selectable, not filterable
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

// historyColumns is the history of a session (whatsapp_session_history's
// result) as the query parser sees it.
var historyColumns = map[string]columnKind{
	"id":                  kindBigint,
	"whatsapp_session_id": kindBigint,
	"session_id":          kindText,
	"from_status":         kindStatus,
	"to_status":           kindStatus,
	"changes":             kindTextList,
	"source":              kindSource,
	"request_id":          kindText,
	"at":                  kindTimestamp,
}

// HistoryColumns lists the history's columns in the order it returns them.
var HistoryColumns = []string{"id", "whatsapp_session_id", "session_id", "from_status", "to_status", "changes", "source", "request_id", "at"}

// columnSet is what a list query may name: the columns, how their values
// are checked, and which of them order= takes (nil: any).
type columnSet struct {
	name      string
	kinds     map[string]columnKind
	orderable []string
}

var (
	sessionQueryColumns = columnSet{name: "whatsapp_sessions", kinds: sessionColumns}
	// The history is ordered by time; id and at say the same, and nothing
	// else is indexed for it.
	historyQueryColumns = columnSet{name: "the history", kinds: historyColumns, orderable: []string{"id", "at"}}
)

func (cs columnSet) sorted() []string {
	names := make([]string, 0, len(cs.kinds))
	for name := range cs.kinds {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
