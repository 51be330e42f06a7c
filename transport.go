package symauth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/symauth/symauth/internal/login"
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

// maxDrainTime bounds how long reading a 401 body may take; then the body is
// closed, which closes the connection, rather than waited for.
var maxDrainTime = time.Second

// Transport is an http.RoundTripper that authenticates requests to Symphony's
// Pod and Agent APIs. It is safe for concurrent use.
//
// For each request it reads a token from its Session (a cached one, without a
// lock), sends a copy of the request with the sessionToken header — and
// keyManagerToken on Agent API paths — through Base, and returns the answer.
// After a 401 it invalidates the token it sent, gets a new one (concurrent
// 401s share one login) and replays the request once, if its body can be
// replayed. The caller's *http.Request is never modified.
//
// Where tokens go: with a source of this package (RSA, Cert, an OBO user, or
// a Session over one), only to the Symphony origins it was configured with
// (scheme, host and port): sessionToken to the pod and the agent,
// keyManagerToken to the agent only. A request to any other origin is sent
// without token headers (any the caller set are removed), and the first one to
// each origin is logged as a warning. With any source, tokens go only over
// https or plain http straight to a loopback host (not through a proxy), and
// on a redirect only while every hop has the first request's origin.
//
// An endpoint that rejects a token just obtained while the session is alive
// (a proxy, a firewall, a missing entitlement: the pod's session info call
// tells, once) is remembered for a minute: its later 401s with that token are
// returned as they are, without a login, while every other endpoint's 401
// still means a session end.
//
// A Transport must not be copied after its first use, and its Source must not
// change after it: the first request wraps a Source that is not a *Session in
// one, which then caches for the Transport.
type Transport struct {
	// Source yields the tokens. A *Session is used as it is; any other
	// source is wrapped in one at the first request.
	Source TokenSource
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper

	state   atomic.Pointer[transportState] // made at the first request
	headers atomic.Pointer[tokenHeaders]   // header values of the last token used
}

// transportState is what a Transport keeps from its first request on.
type transportState struct {
	session *Session        // Source, or the Session wrapping it
	origins *origins        // where tokens may go; nil: the source declares none
	foreign foreignOrigins  // the other origins requests went to, for warnings
	refused refusingTargets // endpoints that rejected a fresh token
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
	if _, ok := src.(*Session); !ok && src != nil {
		src = NewSession(src)
	}
	return &Transport{Source: src, Base: base}
}

// stateOf returns the state made at the first request.
func (t *Transport) stateOf() (*transportState, error) {
	if st := t.state.Load(); st != nil {
		return st, nil
	}
	if t.Source == nil {
		return nil, errors.New("symauth: Transport.Source is nil")
	}
	sess, ok := t.Source.(*Session)
	if !ok {
		sess = NewSession(t.Source)
	}
	st := &transportState{session: sess, origins: sess.symphonyOrigins()}
	if !t.state.CompareAndSwap(nil, st) {
		st = t.state.Load()
	}
	return st, nil
}

// grant says which tokens a request may carry.
type grant uint8

const (
	grantNone      grant = iota
	grantSession         // sessionToken (or Authorization) only
	grantAllTokens       // keyManagerToken too, on Agent API paths
)

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
	if req.URL == nil {
		return nil, errors.New("symauth: request has no URL")
	}
	st, err := t.stateOf()
	if err != nil {
		return nil, err
	}
	g := t.grant(st, req)
	if g == grantNone {
		bodyClosed = true
		resp, err := t.base().RoundTrip(withoutTokens(req))
		if resp != nil {
			resp.Request = req
		}
		return resp, err
	}

	ctx, traceID := req.Context(), []string(nil)
	if st.session.hook().traceID {
		if ctx, traceID, err = requestTraceID(req); err != nil {
			return nil, err
		}
	}
	tok, err := st.session.token(ctx)
	if err != nil {
		return nil, err
	}
	bodyClosed = true
	resp, err := t.send(req, req.Body, tok, g, traceID)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}

	// 401: the token is rejected, unless this endpoint refuses every token
	// (or is being checked for it) and the session still holds the token.
	target := ""
	if ref := st.refused.lookup(req, &target, st.session.clock()); ref != nil && st.session.current.Load() == tok {
		select {
		case <-ref.settled:
		case <-req.Context().Done():
			return resp, nil
		}
		if ref.refusing {
			return resp, nil
		}
	}
	st.session.Invalidate(tok)
	if !replayable(req) {
		return resp, nil
	}
	// The login starts before this answer's body is drained: with many
	// requests in flight at a session end, the body of the first 401 may
	// wait behind the others' frames, and the login must not.
	st.session.startLogin(ctx)
	drainAndClose(resp)
	if err := st.session.logReplay(req); err != nil {
		return nil, err
	}
	if tok, err = st.session.token(ctx); err != nil {
		return nil, err
	}
	body := req.Body
	if req.GetBody != nil {
		if body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	resp, err = t.send(req, body, tok, g, traceID)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		if target == "" {
			target = targetOf(req)
		}
		t.judgeRefusal(st, req, g, target, tok, traceID)
	}
	return resp, err
}

// The calls that tell whether a session is alive: the pod's session info
// for the session token, the agent's datafeed list for both tokens (each
// needs what it checks, and is cheap).
const (
	sessionInfoPath   = "/pod/v2/sessioninfo"
	datafeedsListPath = "/agent/v5/datafeeds"
)

// maxCheckTime bounds the session check of judgeRefusal.
const maxCheckTime = 10 * time.Second

// judgeRefusal is called when target rejected tok, just obtained: either the
// session ended again between the login and the replay (or its key manager
// token did), or target refuses every token. A call that needs the same
// tokens tells which, once per endpoint: the requests that meet a 401 there
// meanwhile wait for its answer. Only a refusal is remembered; a session
// that ended costs the next request a login, as usual.
func (t *Transport) judgeRefusal(st *transportState, req *http.Request, g grant, target string, tok *Token, traceID []string) {
	ref := st.refused.begin(target, st.session.clock())
	if ref == nil {
		return
	}
	refusing := false
	defer func() { st.refused.settle(target, ref, refusing, st.session.clock()) }() // even if the check panics
	refusing = t.sessionAlive(st, req, g, target, tok, traceID)
}

// sessionAlive asks Symphony whether the tokens req carried are alive, at
// the pod (or the agent, for an Agent API request with a key manager token)
// the source declares, or else at the request's own origin and deployment
// context. A rejection by the checking call itself, or a 401 from it now,
// means the session ended; so does a request the check cannot be placed
// for. Any other answer, or none, means the session is alive. The check
// carries req's trace id (traceID, nil when TraceID is off).
func (t *Transport) sessionAlive(st *transportState, req *http.Request, g grant, target string, tok *Token, traceID []string) bool {
	agentCheck := g == grantAllTokens && tok.KeyManagerToken != "" && isAgentPath(req.URL.Path)
	checkPath := sessionInfoPath
	if agentCheck {
		checkPath = datafeedsListPath
	}
	base, ok := checkBase(st.origins, req.URL, agentCheck)
	if !ok || strings.HasSuffix(target, checkPath) {
		return false
	}
	ctx, cancel := context.WithTimeout(req.Context(), maxCheckTime)
	defer cancel()
	check, err := http.NewRequestWithContext(ctx, http.MethodGet, base+checkPath, nil)
	if err != nil {
		return false
	}
	resp, err := t.send(check, nil, tok, g, traceID)
	if err != nil {
		return true
	}
	drainAndClose(resp)
	return resp.StatusCode != http.StatusUnauthorized
}

// checkBase is the base URL of the session check of a request to u: the
// declared pod or agent, or else u's origin and the path before its "/pod/"
// or "/agent/" (a deployment context); ok is false when u has neither.
func checkBase(o *origins, u *url.URL, agent bool) (string, bool) {
	switch {
	case o != nil && agent:
		return o.agentURL, true
	case o != nil:
		return o.podURL, true
	}
	for _, api := range [...]string{"/pod/", "/agent/"} {
		if i := strings.Index(u.Path, api); i >= 0 {
			return u.Scheme + "://" + u.Host + u.Path[:i], true
		}
	}
	return "", false
}

// grant says which tokens req may carry: none over plain http unless it goes
// straight to a loopback host, none on a redirect hop once the chain left the
// first request's origin, and, for a source that declares its origins, none
// to another origin (logged) and the key manager token to the agent's only.
func (t *Transport) grant(st *transportState, req *http.Request) grant {
	u := req.URL
	switch u.Scheme {
	case "https":
	case "http":
		if !validate.IsLoopbackHost(u.Hostname()) || proxied(t.base(), req) {
			return grantNone
		}
	default:
		return grantNone
	}
	if req.Response != nil && !sameOriginChain(req) {
		return grantNone
	}
	switch o := st.origins; {
	case o == nil:
		return grantAllTokens
	case !o.session.has(u.Scheme, u.Host):
		st.foreign.warn(st.session.logger, req.Context(), u, o.names)
		return grantNone
	case o.agent.has(u.Scheme, u.Host):
		return grantAllTokens
	}
	return grantSession
}

// send sends a copy of req with body, the headers of tok that g allows and
// X-Trace-Id when traceID is not nil, through Base. The response's Request
// is set to req, so that the copy holding the tokens does not travel further.
func (t *Transport) send(req *http.Request, body io.ReadCloser, tok *Token, g grant, traceID []string) (*http.Response, error) {
	out := new(http.Request)
	*out = *req
	out.Body = body
	extra, drop := 2, dropped(0) // the token headers
	if tok.CommonJWT {
		drop |= dropAuthorization
	}
	if traceID != nil {
		extra++
		drop |= dropTraceID
	}
	out.Header = cloneHeaderWithout(req.Header, extra, drop)
	h := t.headersFor(tok)
	out.Header[h.sessionName] = h.sessionValue
	if g == grantAllTokens && h.keyManagerToken != nil && isAgentPath(req.URL.Path) {
		out.Header[canonicalKeyManagerToken] = h.keyManagerToken
	}
	if traceID != nil {
		out.Header[login.HeaderTraceID] = traceID // a map of out's own, the caller's in any letter case left out
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

// proxied reports whether base may send req through a proxy: unless it is
// an *http.Transport whose Proxy names none for req, it may (a wrapper could
// hide one), so plain http gets no token through it.
func proxied(base http.RoundTripper, req *http.Request) bool {
	ht, ok := base.(*http.Transport)
	if !ok {
		return true
	}
	if ht.Proxy == nil {
		return false
	}
	proxy, err := ht.Proxy(req)
	return err != nil || proxy != nil
}

// sameOriginChain reports whether every earlier hop of req's redirect chain
// has req's origin: once a hop left it, tokens stay off for the whole chain.
func sameOriginChain(req *http.Request) bool {
	for r := req; r.Response != nil && r.Response.Request != nil; r = r.Response.Request {
		if !sameOrigin(r.Response.Request.URL, req.URL) {
			return false
		}
	}
	return true
}

// withoutTokens returns req, or a copy of it without any token header when it
// has one.
func withoutTokens(req *http.Request) *http.Request {
	if !hasTokenHeader(req.Header) {
		return req
	}
	out := new(http.Request)
	*out = *req
	out.Header = cloneHeaderWithout(req.Header, 0, 0)
	return out
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

// drainAndClose reads a little of resp's body, so that the connection can be
// reused, and closes it, waiting maxDrainTime at most. A body that takes
// longer is closed then, which ends the read and the connection; a body that
// net/http decompresses cannot be interrupted by Close while a read holds
// it, so that one is read and closed on a goroutine of its own, which ends
// with the connection.
func drainAndClose(resp *http.Response) {
	body := resp.Body
	drain := func() {
		_, _ = io.CopyN(io.Discard, body, maxDrainBytes)
		_ = body.Close()
	}
	if !resp.Uncompressed {
		stop := time.AfterFunc(maxDrainTime, func() { _ = body.Close() })
		drain()
		stop.Stop()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		drain()
	}()
	timer := time.NewTimer(maxDrainTime)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
	}
}

// refusingTargets remembers the endpoints that rejected a token just obtained
// while the session was alive: they refuse every token (a proxy, a
// firewall, a missing entitlement), and their later 401s cost no login. Each
// memory ends after refusalMemory, so that even a bot calling nothing else
// tries again; at most maxRefusingTargets are kept. It is safe for
// concurrent use.
type refusingTargets struct {
	mu       sync.Mutex
	byTarget map[string]*refusal
	size     atomic.Int32 // len(byTarget), read without the lock
}

// refusal is what is known of one endpoint.
type refusal struct {
	settled  chan struct{} // closed once the session check has answered
	refusing bool          // set before settled is closed: the session was alive
	until    time.Time     // end of the memory
}

const (
	refusalMemory      = time.Minute
	maxRefusingTargets = 64
)

// targetOf names the endpoint of req: scheme, host and path.
func targetOf(req *http.Request) string {
	return req.URL.Scheme + "://" + strings.ToLower(req.URL.Host) + req.URL.Path
}

// lookup returns what is known of req's endpoint at now: a check in flight,
// or a refusal; nil when nothing is. When anything is remembered, it names
// the endpoint in *target (see targetOf); when nothing is, it takes no lock
// and makes no name: a 401 wave at a session end pays neither.
func (r *refusingTargets) lookup(req *http.Request, target *string, now time.Time) *refusal {
	if r.size.Load() == 0 {
		return nil
	}
	*target = targetOf(req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if ref := r.byTarget[*target]; ref != nil && now.Before(ref.until) {
		return ref
	}
	return nil
}

// begin starts the check of target, which just rejected a fresh token, and
// returns it for the caller to settle; nil when a check or a refusal is in
// effect already. A full memory forgets the endpoint whose memory ends first.
func (r *refusingTargets) begin(target string, now time.Time) *refusal {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ref := r.byTarget[target]; ref != nil && now.Before(ref.until) {
		return nil
	}
	if r.byTarget == nil {
		r.byTarget = map[string]*refusal{}
	}
	oldest := ""
	for t, ref := range r.byTarget {
		switch {
		case !now.Before(ref.until):
			delete(r.byTarget, t)
		case oldest == "" || ref.until.Before(r.byTarget[oldest].until):
			oldest = t
		}
	}
	if len(r.byTarget) >= maxRefusingTargets {
		delete(r.byTarget, oldest)
	}
	ref := &refusal{settled: make(chan struct{}), until: now.Add(maxCheckTime)}
	r.byTarget[target] = ref
	r.size.Store(int32(len(r.byTarget)))
	return ref
}

// settle records what the check of ref found: a refusal is remembered for
// refusalMemory; a session that ended leaves nothing.
func (r *refusingTargets) settle(target string, ref *refusal, refusing bool, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref.refusing = refusing
	if refusing {
		ref.until = now.Add(refusalMemory)
	} else if r.byTarget[target] == ref {
		delete(r.byTarget, target)
	}
	r.size.Store(int32(len(r.byTarget)))
	close(ref.settled)
}
