package bench_test

import (
	"testing"

	"github.com/symauth/symauth/bench"
)

// TestMemory bounds what symauth retains: a few hundred bytes per Transport,
// the token and little more per cached token, and no growth over many
// requests (cmd/report makes a million; this test 200 000).
func TestMemory(t *testing.T) {
	m, err := bench.MeasureMemory(1000, 200_000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("per Transport %.0f B, per cached token %.0f B (%d B of token strings), growth over %d requests %d B",
		m.PerTransport, m.PerCachedToken, m.TokenBytes, m.Requests, m.Growth())
	if m.PerTransport <= 0 || m.PerTransport > 512 {
		t.Errorf("per Transport: %.0f B, want (0, 512]", m.PerTransport)
	}
	if m.PerCachedToken < float64(m.TokenBytes) || m.PerCachedToken > float64(m.TokenBytes)+512 {
		t.Errorf("per cached token: %.0f B, want the %d B of the token strings plus at most 512", m.PerCachedToken, m.TokenBytes)
	}
	if m.Growth() > bench.MaxGrowth {
		t.Errorf("the heap grew by %d B over %d requests, want at most %d", m.Growth(), m.Requests, bench.MaxGrowth)
	}
}
