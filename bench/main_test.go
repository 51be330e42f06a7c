package bench_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test or benchmark leaves a goroutine behind
// (a server, a connection, a request still waiting).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
