package migrate_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: every server,
// pool and transaction the tests open must be closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
