package symauth

import (
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"

	"github.com/symauth/symauth/internal/validate"
)

// Canonical forms of the header names, as http.Header.Set would store them.
var (
	canonicalSessionToken    = textproto.CanonicalMIMEHeaderKey(HeaderSessionToken)
	canonicalKeyManagerToken = textproto.CanonicalMIMEHeaderKey(HeaderKeyManagerToken)
)

const headerAuthorization = "Authorization"

// maxDrainBytes bounds how much of a 401 body is read before the connection is
// given back and the request replayed.
const maxDrainBytes = 64 << 10

// Transport is an http.RoundTripper that authenticates requests to Symphony's
// Pod and Agent APIs. It is safe for concurrent use.
//
// For each request it reads a token from Source (a cached one, without a lock,
// when Source is a *Session), sends a copy of the request with the sessionToken
// header — and keyManagerToken on Agent API paths — through Base, and returns
// the answer. After a 401 it invalidates the token it sent, gets a new one
// (concurrent 401s share one login) and replays the request once, if its body
// can be replayed. The caller's *http.Request is never modified.
//
// Tokens are only attached to https requests, or plain http to a loopback
// host, and never to a redirect hop whose host differs from the original
// request's host; on such requests any sessionToken or keyManagerToken header
// is removed and nothing else happens.
//
// A Transport must not be copied after its first use.
type Transport struct {
	// Source yields the tokens. It should be a *Session (NewTransport makes
	// one): any other source is asked for a token on every request.
	Source TokenSource
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper

	headers atomic.Pointer[tokenHeaders] // header values of the last token used
}

// tokenHeaders are the headers of one token, made once per token rather than
// once per request. The value slices are shared by every request sent with the
// token: their capacity equals their length, so an append made further down
// the stack copies instead of writing into them.
type tokenHeaders struct {
	tok             *Token
	sessionName     string   // canonical "Sessiontoken", or "Authorization" for Common JWT
	sessionValue    []string // the session token, or the bearer token
	keyManagerToken []string // nil when the token has none
}

// headersFor returns the headers of tok, from the cache when tok is the token
// of the previous request.
func (t *Transport) headersFor(tok *Token) *tokenHeaders {
	if h := t.headers.Load(); h != nil && h.tok == tok {
		return h
	}
	h := &tokenHeaders{tok: tok, sessionName: canonicalSessionToken, sessionValue: []string{tok.SessionToken}}
	if tok.CommonJWT {
		h.sessionName, h.sessionValue = headerAuthorization, []string{tok.AuthorizationToken}
	}
	if tok.KeyManagerToken != "" {
		h.keyManagerToken = []string{tok.KeyManagerToken}
	}
	t.headers.Store(h)
	return h
}

// NewTransport returns a Transport over base (nil: http.DefaultTransport) that
// caches the tokens of src: src is wrapped in a Session unless it is one. It
// does not touch the network.
func NewTransport(src TokenSource, base http.RoundTripper) *Transport {
	if _, ok := src.(*Session); !ok {
		src = NewSession(src)
	}
	return &Transport{Source: src, Base: base}
}

// RoundTrip implements http.RoundTripper. A failed login is returned as an
// error wrapping *AuthError; a server's answer is always returned as a
// response with a nil error. The request body is closed on every path.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	bodyClosed := false // true once the body is handed to Base, which closes it
	if req.Body != nil {
		defer func() {
			if !bodyClosed {
				req.Body.Close()
			}
		}()
	}
	switch {
	case req.URL == nil:
		return nil, errors.New("symauth: request has no URL")
	case t.Source == nil:
		return nil, errors.New("symauth: Transport.Source is nil")
	}
	if !mayCarryTokens(req) {
		bodyClosed = true
		return t.base().RoundTrip(withoutTokens(req))
	}

	tok, err := t.Source.Token(req.Context())
	if err != nil {
		return nil, err
	}
	bodyClosed = true
	resp, err := t.send(req, req.Body, tok)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}

	// 401: the token is rejected. Replay once, if the body can be replayed.
	sess, _ := t.Source.(*Session) // any other source has nothing to invalidate
	if sess != nil {
		sess.Invalidate(tok)
	}
	if !replayable(req) {
		return resp, nil
	}
	drainAndClose(resp.Body)
	if sess != nil {
		sess.logReplay(req)
	}
	if tok, err = t.Source.Token(req.Context()); err != nil {
		return nil, err
	}
	body := req.Body
	if req.GetBody != nil {
		if body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	return t.send(req, body, tok)
}

// send sends a copy of req with body and tok's headers through Base. The
// response's Request is set to req, so that the copy holding the tokens does
// not travel further.
func (t *Transport) send(req *http.Request, body io.ReadCloser, tok *Token) (*http.Response, error) {
	out := new(http.Request)
	*out = *req
	out.Body = body
	out.Header = cloneHeaderWithout(req.Header, 2, tok.CommonJWT)
	h := t.headersFor(tok)
	out.Header[h.sessionName] = h.sessionValue
	if h.keyManagerToken != nil && isAgentPath(req.URL.Path) {
		out.Header[canonicalKeyManagerToken] = h.keyManagerToken
	}
	resp, err := t.base().RoundTrip(out)
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}

// CloseIdleConnections closes the idle connections of Base, if it has such a
// method (an *http.Transport does).
func (t *Transport) CloseIdleConnections() {
	if c, ok := t.base().(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// mayCarryTokens reports whether tokens may be attached to req: its scheme is
// https, or http to a loopback host, and it is not a redirect hop to a host
// other than the original request's.
func mayCarryTokens(req *http.Request) bool {
	switch req.URL.Scheme {
	case "https":
	case "http":
		if !validate.IsLoopbackHost(req.URL.Hostname()) {
			return false
		}
	default:
		return false
	}
	if req.Response == nil {
		return true
	}
	first := req
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return strings.EqualFold(first.URL.Hostname(), req.URL.Hostname())
}

// withoutTokens returns req, or a copy of it without any token header when it
// has one.
func withoutTokens(req *http.Request) *http.Request {
	if !hasTokenHeader(req.Header) {
		return req
	}
	out := new(http.Request)
	*out = *req
	out.Header = cloneHeaderWithout(req.Header, 0, false)
	return out
}

func hasTokenHeader(h http.Header) bool {
	for k := range h {
		if isTokenHeader(k, false) {
			return true
		}
	}
	return false
}

// cloneHeaderWithout copies h, leaving out the token headers in any letter
// case — and Authorization too when withAuthorization — with room for extra
// more entries. Value slices are shared with h but capped, so an append to
// the copy never writes into h's arrays.
func cloneHeaderWithout(h http.Header, extra int, withAuthorization bool) http.Header {
	out := make(http.Header, len(h)+extra)
	for k, v := range h {
		if !isTokenHeader(k, withAuthorization) {
			out[k] = v[:len(v):len(v)]
		}
	}
	return out
}

func isTokenHeader(k string, withAuthorization bool) bool {
	return strings.EqualFold(k, HeaderSessionToken) || strings.EqualFold(k, HeaderKeyManagerToken) ||
		withAuthorization && strings.EqualFold(k, headerAuthorization)
}

// isAgentPath reports whether path is on the Agent API: under /agent/, after
// an optional deployment context ("/ctx/agent/…").
func isAgentPath(path string) bool {
	return strings.Contains(path, "/agent/")
}

// replayable reports whether req's body can be sent a second time.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// drainAndClose reads a little of body, so that the connection can be reused,
// and closes it.
func drainAndClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, maxDrainBytes)
	_ = body.Close()
}
