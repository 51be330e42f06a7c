package bench_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/symauth/symauth"
	"golang.org/x/oauth2"
)

// The warm path: a RoundTrip with a cached token over a stub base, which is
// the middleware's own cost. Every contender sends the same request through
// the same stub.

// stubBase answers every request 200 without any network. It returns a fresh
// *http.Response on every call, since symauth sets the response's Request
// back to the caller's: that one allocation is paid by every contender, and
// the "stub" benchmark measures it alone so it can be subtracted.
type stubBase struct{}

func (stubBase) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
}

// floorTransport is the least an authenticating RoundTripper can do: a
// shallow copy of the request and a new header map holding the caller's
// headers and the two tokens (value slices made once, not per request).
type floorTransport struct {
	base                http.RoundTripper
	session, keyManager []string
}

func (f *floorTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	out := new(http.Request)
	*out = *r
	out.Header = make(http.Header, len(r.Header)+2)
	for k, v := range r.Header {
		out.Header[k] = v
	}
	out.Header["Sessiontoken"] = f.session
	out.Header["Keymanagertoken"] = f.keyManager
	return f.base.RoundTrip(out)
}

// staticSource always returns the same token: what a Session caches.
type staticSource struct{ tok *symauth.Token }

func (s staticSource) Token(context.Context) (*symauth.Token, error) { return s.tok, nil }

// Tokens of realistic length: a pod session token is a JWT of a few hundred
// characters, a key manager token 128 hex digits.
var (
	warmSession    = "eyJhbGciOiJSUzUxMiJ9." + strings.Repeat("x", 400) + ".sig"
	warmKeyManager = strings.Repeat("0", 128)
)

// warmContenders returns the RoundTrippers of the warm-path comparison, each
// over stubBase with its token cached.
func warmContenders(tb testing.TB) []struct {
	name string
	rt   http.RoundTripper
} {
	sym := symauth.NewTransport(staticSource{&symauth.Token{SessionToken: warmSession, KeyManagerToken: warmKeyManager}}, stubBase{})
	if _, err := sym.Source.Token(context.Background()); err != nil { // fill the cache
		tb.Fatal(err)
	}
	reuse := oauth2.ReuseTokenSource(nil, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: warmSession, TokenType: "Bearer"}))
	if _, err := reuse.Token(); err != nil { // fill the cache
		tb.Fatal(err)
	}
	return []struct {
		name string
		rt   http.RoundTripper
	}{
		{"stub", stubBase{}},
		{"floor", &floorTransport{base: stubBase{}, session: []string{warmSession}, keyManager: []string{warmKeyManager}}},
		{"symauth", sym},
		{"oauth2", &oauth2.Transport{Source: reuse, Base: stubBase{}}},
	}
}

// warmRequest is an Agent API call (both token headers) with one header of
// the caller's.
func warmRequest(tb testing.TB) *http.Request {
	req, err := http.NewRequest(http.MethodGet, "https://acme.symphony.com/agent/v5/datafeeds", nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	return req
}

// BenchmarkWarm compares the warm path of symauth, oauth2's Transport over
// a ReuseTokenSource, the hand-written floor and the bare stub, serially and
// from GOMAXPROCS goroutines.
func BenchmarkWarm(b *testing.B) {
	req := warmRequest(b)
	for _, c := range warmContenders(b) {
		b.Run("serial/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if resp, err := c.rt.RoundTrip(req); err != nil || resp.StatusCode != http.StatusOK {
					b.Fatal(err)
				}
			}
		})
	}
	for _, c := range warmContenders(b) {
		b.Run("parallel/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if resp, err := c.rt.RoundTrip(req); err != nil || resp.StatusCode != http.StatusOK {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// TestWarmContendersAuthenticate checks that each contender really adds its
// tokens, so that the benchmark compares like with like.
func TestWarmContendersAuthenticate(t *testing.T) {
	req := warmRequest(t)
	for _, c := range warmContenders(t) {
		var sent *http.Request
		rt := c.rt
		switch tr := rt.(type) {
		case *symauth.Transport:
			tr.Base = capture{&sent}
		case *oauth2.Transport:
			tr.Base = capture{&sent}
		case *floorTransport:
			tr.base = capture{&sent}
		default:
			continue // the stub adds nothing
		}
		if _, err := rt.RoundTrip(req); err != nil {
			t.Fatal(err)
		}
		got := sent.Header.Get(symauth.HeaderSessionToken) + sent.Header.Get("Authorization")
		if got != warmSession && got != "Bearer "+warmSession {
			t.Errorf("%s: sent no session token", c.name)
		}
		if req.Header.Get(symauth.HeaderSessionToken) != "" || req.Header.Get("Authorization") != "" {
			t.Errorf("%s: modified the caller's request", c.name)
		}
	}
}

// capture is a stub base that remembers the request it was sent.
type capture struct{ sent **http.Request }

func (c capture) RoundTrip(r *http.Request) (*http.Response, error) {
	*c.sent = r
	return stubBase{}.RoundTrip(r)
}

// warmHeaderCounts are the numbers of caller headers of BenchmarkWarmHeaders.
var warmHeaderCounts = []int{0, 5, 20, 50}

// warmRequestWithHeaders is the Agent API call of warmRequest with n headers
// of the caller's, set one by one as a client does: the first five are the
// usual ones (Accept, Content-Type …), the rest are X-Custom-NN.
func warmRequestWithHeaders(tb testing.TB, n int) *http.Request {
	req, err := http.NewRequest(http.MethodGet, "https://acme.symphony.com/agent/v5/datafeeds", nil)
	if err != nil {
		tb.Fatal(err)
	}
	usual := []string{"Accept", "Content-Type", "User-Agent", "X-Trace-Id", "Accept-Language"}
	for i := range n {
		name := fmt.Sprintf("X-Custom-%02d", i)
		if i < len(usual) {
			name = usual[i]
		}
		req.Header.Set(name, "value")
	}
	return req
}

// BenchmarkWarmHeaders is the serial warm path of symauth, the floor and
// oauth2 with 0, 5, 20 and 50 caller headers: what copying the caller's
// headers costs each of them.
func BenchmarkWarmHeaders(b *testing.B) {
	for _, n := range warmHeaderCounts {
		req := warmRequestWithHeaders(b, n)
		for _, c := range warmContenders(b) {
			if c.name == "stub" {
				continue
			}
			b.Run(fmt.Sprintf("headers=%d/%s", n, c.name), func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if resp, err := c.rt.RoundTrip(req); err != nil || resp.StatusCode != http.StatusOK {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
