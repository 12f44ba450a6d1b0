package auth_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind, which is how
// we prove that TokenVerifier.Close stops the JWKS refresher and its fetches.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
