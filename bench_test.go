package symauth_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/symauth/symauth"
)

// stubBase answers every request with 200 and touches no network, so that a
// benchmark measures only the middleware. Both benchmarks pay for its one
// allocation (the Response).
type stubBase struct{}

func (stubBase) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
}

// staticSource is a TokenSource that always returns the same token.
type staticSource struct{ tok *symauth.Token }

func (s staticSource) Token(context.Context) (*symauth.Token, error) { return s.tok, nil }

var benchToken = &symauth.Token{SessionToken: "eyJhbGciOiJSUzUxMiJ9.session.sig", KeyManagerToken: "0123456789abcdef"}

// floorTransport is the least an authenticating RoundTripper can do: copy the
// request and set two headers.
type floorTransport struct{ base http.RoundTripper }

func (f floorTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.Header.Set(symauth.HeaderSessionToken, benchToken.SessionToken)
	out.Header.Set(symauth.HeaderKeyManagerToken, benchToken.KeyManagerToken)
	return f.base.RoundTrip(out)
}

func benchmarkRoundTrip(b *testing.B, rt http.RoundTripper, path string) {
	req, err := http.NewRequest(http.MethodGet, "https://acme.symphony.com"+path, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := rt.RoundTrip(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkTransport is the warm path: a cached token, a stub base.
func BenchmarkTransport(b *testing.B) {
	tr := symauth.NewTransport(staticSource{benchToken}, stubBase{})
	if _, err := tr.Source.Token(context.Background()); err != nil { // fill the cache
		b.Fatal(err)
	}
	b.Run("pod", func(b *testing.B) { benchmarkRoundTrip(b, tr, "/pod/v2/sessioninfo") })
	b.Run("agent", func(b *testing.B) { benchmarkRoundTrip(b, tr, "/agent/v5/datafeeds") })
}

// BenchmarkFloor is the hand-written floor BenchmarkTransport compares with.
func BenchmarkFloor(b *testing.B) {
	b.Run("agent", func(b *testing.B) { benchmarkRoundTrip(b, floorTransport{stubBase{}}, "/agent/v5/datafeeds") })
}
