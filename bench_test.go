package symauth_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/symauth/symauth"
)

// stubBase answers every request with 200 and touches no network, so that the
// benchmark measures only the middleware, plus the stub's one allocation (the
// Response). bench/ compares it with x/oauth2 and a hand-written floor.
type stubBase struct{}

func (stubBase) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
}

// staticSource is a TokenSource that always returns the same token.
type staticSource struct{ tok *symauth.Token }

func (s staticSource) Token(context.Context) (*symauth.Token, error) { return s.tok, nil }

var benchToken = &symauth.Token{SessionToken: "eyJhbGciOiJSUzUxMiJ9.session.sig", KeyManagerToken: "0123456789abcdef"}

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
