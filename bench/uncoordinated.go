package bench

import (
	"context"
	"io"
	"net/http"
	"sync"

	"github.com/symauth/symauth"
)

// Uncoordinated is the peer of the stampede comparison: a RoundTripper that
// refreshes on 401 the way the official SDKs (BDK Java and BDK Python) do.
// Each request that is answered 401 logs in by itself and is replayed with
// the token of its own login: there is no singleflight and no check that
// another request has already replaced the rejected token, so N concurrent
// 401s make N logins.
//
// Otherwise it behaves like symauth: it logs in on first use, sends
// sessionToken on every request and keyManagerToken on Agent API paths, and
// replays a request once. It replays only requests without a body, which is
// all the benchmarks send. It is safe for concurrent use.
type Uncoordinated struct {
	// Login logs in on every call, like *symauth.RSA (not a Session).
	Login symauth.TokenSource
	// Base sends the requests.
	Base http.RoundTripper

	mu  sync.Mutex
	tok *symauth.Token // the last token a login returned; nil: none yet
}

// RoundTrip implements http.RoundTripper.
func (u *Uncoordinated) RoundTrip(req *http.Request) (*http.Response, error) {
	u.mu.Lock()
	tok := u.tok
	u.mu.Unlock()
	if tok == nil {
		var err error
		if tok, err = u.login(req.Context()); err != nil {
			return nil, err
		}
	}
	resp, err := u.send(req, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized || req.Body != nil {
		return resp, err
	}
	// The SDKs' "refresh on 401": this request logs in again, whatever the
	// other requests are doing, then replays.
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if tok, err = u.login(req.Context()); err != nil {
		return nil, err
	}
	return u.send(req, tok)
}

// login logs in and keeps the new token for the next requests.
func (u *Uncoordinated) login(ctx context.Context) (*symauth.Token, error) {
	tok, err := u.Login.Token(ctx)
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	u.tok = tok
	u.mu.Unlock()
	return tok, nil
}

// send sends a copy of req carrying tok.
func (u *Uncoordinated) send(req *http.Request, tok *symauth.Token) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Set(symauth.HeaderSessionToken, tok.SessionToken)
	if tok.KeyManagerToken != "" && isAgentPath(req.URL.Path) {
		out.Header.Set(symauth.HeaderKeyManagerToken, tok.KeyManagerToken)
	}
	resp, err := u.Base.RoundTrip(out)
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}
