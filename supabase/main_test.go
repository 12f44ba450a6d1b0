package supabase

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a streamed
// body must release its connection and its deadline when closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
