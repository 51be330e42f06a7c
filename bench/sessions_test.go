package bench_test

import (
	"testing"

	"github.com/symauth/symauth/bench"
)

// Many logged-in sessions in one process cost a bounded amount each and no
// goroutine each (cmd/report measures 10 000; this test 1 000).
func TestManySessions(t *testing.T) {
	r, err := bench.MeasureSessions(testContext(t), 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d sessions: %.0f B each on the client side, %.0f B in the fake pod; goroutines %d -> %d",
		r.Sessions, r.PerSession(), r.PerServerRecord(), r.GoroutinesBefore, r.GoroutinesAfter)
	if r.PerSession() > 2000 {
		t.Errorf("%.0f B per session; want at most 2 000 (10 000 sessions under 20 MB)", r.PerSession())
	}
	if r.GoroutinesAfter > r.GoroutinesBefore+4 {
		t.Errorf("goroutines %d -> %d: want a constant number, not one per session", r.GoroutinesBefore, r.GoroutinesAfter)
	}
}
