package bench_test

import (
	"flag"
	"fmt"
	"testing"

	"github.com/symauth/symauth/bench"
)

var stampedeMax = flag.Int("stampede.max", 100,
	"largest N of TestStampede and BenchmarkStampede, which use 10, 100, 1000 … up to it (cmd/report goes to 10000)")

// stampedeSizes are the Ns of the stampede tests and benchmarks.
func stampedeSizes() []int {
	var ns []int
	for n := 10; n <= *stampedeMax; n *= 10 {
		ns = append(ns, n)
	}
	return ns
}

// TestStampede checks the stampede's outcome: after a session ends with N
// requests in flight, symauth logs in once and the uncoordinated peer N
// times, and every request ends with a 200.
func TestStampede(t *testing.T) {
	for _, n := range stampedeSizes() {
		for _, c := range []struct {
			client string
			logins int
		}{{bench.ClientSymauth, 1}, {bench.ClientUncoordinated, n}} {
			t.Run(fmt.Sprintf("%s/n=%d", c.client, n), func(t *testing.T) {
				r, err := bench.RunStampede(testContext(t), c.client, n, true)
				if err != nil {
					t.Fatal(err)
				}
				if r.Logins != c.logins || r.Failed != 0 {
					t.Errorf("%d logins and %d failed requests, want %d and 0", r.Logins, r.Failed, c.logins)
				}
			})
		}
	}
}

// TestStampedeBaseline checks the baseline run: held requests released
// without a session end need no login.
func TestStampedeBaseline(t *testing.T) {
	r, err := bench.RunStampede(testContext(t), bench.ClientSymauth, 10, false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Logins != 0 || r.Failed != 0 || len(r.Latency) != 10 {
		t.Errorf("%d logins, %d failed, %d latencies; want 0, 0, 10", r.Logins, r.Failed, len(r.Latency))
	}
}

// BenchmarkStampede ends a session while N requests are in flight (see
// bench.Stampede) and reports the logins per session end and the p50, p99
// and max latency from the session end to the answers. ns/op includes
// starting a server and is not meaningful.
func BenchmarkStampede(b *testing.B) {
	for _, client := range []string{bench.ClientSymauth, bench.ClientUncoordinated} {
		for _, n := range stampedeSizes() {
			b.Run(fmt.Sprintf("%s/n=%d", client, n), func(b *testing.B) {
				var logins, p50, p99, worst float64
				for b.Loop() {
					r, err := bench.RunStampede(testContext(b), client, n, true)
					if err != nil {
						b.Fatal(err)
					}
					if r.Failed != 0 {
						b.Fatalf("%d requests failed", r.Failed)
					}
					logins += float64(r.Logins)
					p50 += r.Percentile(50).Seconds() * 1e3
					p99 += r.Percentile(99).Seconds() * 1e3
					worst = max(worst, r.Max().Seconds()*1e3)
				}
				runs := float64(b.N)
				b.ReportMetric(logins/runs, "logins/op")
				b.ReportMetric(p50/runs, "p50-ms")
				b.ReportMetric(p99/runs, "p99-ms")
				b.ReportMetric(worst, "max-ms")
			})
		}
	}
}
