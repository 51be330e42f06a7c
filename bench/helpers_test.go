package bench_test

import (
	"context"
	"crypto/rsa"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/symauth/symauth/bench"
)

// newFixture starts a bench.Fixture for inFlight concurrent requests with key
// (nil: the 2048-bit key) and closes it when tb ends.
func newFixture(tb testing.TB, key *rsa.PrivateKey, inFlight int) *bench.Fixture {
	tb.Helper()
	f, err := bench.NewFixture(testContext(tb), key, inFlight)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.Close)
	return f
}

// testContext is a context that ends with tb, and after two minutes at most,
// so that a stuck run fails instead of hanging.
func testContext(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	tb.Cleanup(cancel)
	return ctx
}

// key returns the process's RSA key of bits bits.
func key(tb testing.TB, bits int) *rsa.PrivateKey {
	tb.Helper()
	k, err := bench.Key(bits)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

// getStatus sends GET url through rt and returns the status, failing tb on
// an error.
func getStatus(tb testing.TB, ctx context.Context, rt http.RoundTripper, url string) int {
	tb.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}
