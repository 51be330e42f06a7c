package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/symauth/symauth"
)

// The proxy's own paths and bounds.
const (
	healthPath = "/symauth/health"

	// healthWait bounds how long the health check waits for a token: a
	// login under way answers 503 after it, within a Kubernetes probe's
	// default timeout of 1 s.
	healthWait = 500 * time.Millisecond

	// bodyReadTimeout bounds the reading of a request body that is
	// buffered for a replay.
	bodyReadTimeout = time.Minute

	// defaultMaxReplayBody is how much of a request body is buffered, so
	// that the request can be replayed after a 401, unless --max-replay-body
	// says otherwise.
	defaultMaxReplayBody = 8 << 20
)

// identityHeaders are the client's headers that the proxy drops: the proxy
// owns the bot's identity.
var identityHeaders = []string{symauth.HeaderSessionToken, symauth.HeaderKeyManagerToken, "Authorization"}

// proxyConfig is what a proxyHandler is built from.
type proxyConfig struct {
	pod, agent string              // base URLs: /pod/… goes to pod, /agent/… to agent
	transport  http.RoundTripper   // a symauth.Transport: adds the tokens, heals 401s
	source     symauth.TokenSource // the Transport's Session, asked by the health check
	maxBody    int64               // request bodies up to this size are buffered for a replay
	logger     *log.Logger         // one line per failed request; nil: none
}

// proxyHandler is the sidecar: it forwards /pod/… to the pod and /agent/…
// to the agent through a symauth.Transport, which adds the bot's tokens,
// logs in once per session end and replays, and it answers GET
// /symauth/health. Any other path, and any path that is not clean or that
// an origin could read as another, is refused with 404: it is not an open
// proxy, and a path can never name another host. A request whose Host is
// not the proxy's address (421), one a web browser sent (403) and an
// Upgrade (501) are refused too (see refusal).
//
// What is cached: nothing but what the Transport caches (the tokens, the
// connections). The network is touched for each forwarded request, and by
// the health check only when the Session has no token (it then logs in). It
// is safe for concurrent use. Responses stream: a body of unknown length (a
// stream) is flushed to the client as it comes, any other goes out as it is
// read, and a long-poll such as a datafeed read is held only by the server.
type proxyHandler struct {
	pod, agent *url.URL
	source     symauth.TokenSource
	maxBody    int64
	bodyWait   time.Duration // bodyReadTimeout; shorter in tests
	rp         *httputil.ReverseProxy
	logger     *log.Logger
	inFlight   atomic.Int64 // requests being forwarded
}

func newProxyHandler(cfg proxyConfig) (*proxyHandler, error) {
	pod, err := baseURL("pod", cfg.pod)
	if err != nil {
		return nil, err
	}
	agent, err := baseURL("agent", cfg.agent)
	if err != nil {
		return nil, err
	}
	h := &proxyHandler{pod: pod, agent: agent, source: cfg.source, maxBody: cfg.maxBody, bodyWait: bodyReadTimeout, logger: cfg.logger}
	h.rp = &httputil.ReverseProxy{
		Rewrite:      h.rewrite,
		Transport:    cfg.transport,
		BufferPool:   copyBuffers{},
		ErrorHandler: h.upstreamError,
		ErrorLog:     cfg.logger,
	}
	return h, nil
}

// baseURL parses the base URL of an origin the proxy forwards to.
func baseURL(what, s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(s, "/"))
	if err != nil {
		return nil, errors.New("the " + what + " URL: " + err.Error())
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, errors.New("the " + what + " URL " + s + " is not an http(s)://HOST URL")
	}
	return u, nil
}

func (h *proxyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if status, why := refusal(r); status != 0 {
		h.logf(r, "refused (%d): %s", status, why)
		writeJSONError(w, status, "symauth proxy: "+why)
		return
	}
	if r.URL.Path == healthPath {
		h.health(w, r)
		return
	}
	if !h.bufferBody(w, r) {
		return
	}
	h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	h.rp.ServeHTTP(w, r)
}

// rewrite sends the request to its origin, without the client's identity.
func (h *proxyHandler) rewrite(pr *httputil.ProxyRequest) {
	target := h.agent
	if strings.HasPrefix(pr.In.URL.Path, "/pod/") {
		target = h.pod
	}
	pr.SetURL(target)
	for name := range pr.Out.Header {
		for _, id := range identityHeaders {
			if strings.EqualFold(name, id) {
				delete(pr.Out.Header, name)
			}
		}
	}
}

// bufferBody reads r's body, when it is at most maxBody bytes, so that the
// Transport can replay r after a 401 (it sets GetBody); a larger body is
// streamed, and a 401 to it reaches the client. It answers the client and
// returns false when the body cannot be read.
func (h *proxyHandler) bufferBody(w http.ResponseWriter, r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 || r.ContentLength > h.maxBody {
		return true
	}
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(h.bodyWait))     // unsupported only in tests' recorders
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }() // the rest of a large body, the connection's next request
	data, err := io.ReadAll(io.LimitReader(r.Body, h.maxBody+1))
	if err != nil {
		w.Header().Set("Connection", "close") // the rest of the body is not waited for
		writeJSONError(w, http.StatusBadRequest, "symauth proxy: reading the request body: "+err.Error())
		return false
	}
	if int64(len(data)) > h.maxBody { // a chunked body beyond the cap: what was read, then the rest
		r.Body = readCloser{io.MultiReader(bytes.NewReader(data), r.Body), r.Body}
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	r.ContentLength, r.TransferEncoding = int64(len(data)), nil
	return true
}

// copyBuffers are the buffers the ReverseProxy copies response bodies
// through, reused rather than allocated for each request.
type copyBuffers struct{}

var copyBufferPool = sync.Pool{New: func() any { return new([32 << 10]byte) }}

func (copyBuffers) Get() []byte  { return copyBufferPool.Get().(*[32 << 10]byte)[:] }
func (copyBuffers) Put(b []byte) { copyBufferPool.Put((*[32 << 10]byte)(b)) }

type readCloser struct {
	io.Reader
	io.Closer
}

// maxLoggedPath bounds the request path in a log line.
const maxLoggedPath = 200

// upstreamError answers a request that got no response: 503 when the login
// failed (Retry-After: the Session's backoff is at least a second), 502
// otherwise, and logs a line.
func (h *proxyHandler) upstreamError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil { // the client went away: no one to answer
		return
	}
	status := http.StatusBadGateway
	var authErr *symauth.AuthError
	if errors.As(err, &authErr) {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	}
	h.logf(r, "%v", err)
	writeJSONError(w, status, "symauth proxy: "+err.Error())
}

// logf logs one line about r: its method, its path as sent, quoted and cut
// to maxLoggedPath bytes, and the message, its control characters replaced,
// so that no client can start a line of its own. No message holds a token:
// the client's are never read, and symauth's errors carry none.
func (h *proxyHandler) logf(r *http.Request, format string, args ...any) {
	if h.logger == nil {
		return
	}
	msg := strings.Map(func(c rune) rune {
		if unicode.IsControl(c) {
			return '?'
		}
		return c
	}, fmt.Sprintf(format, args...))
	h.logger.Printf("%s %q: %s", r.Method, limit(r.URL.EscapedPath(), maxLoggedPath), msg)
}

// health answers 200 when the Session holds a token (or gets one within
// healthWait), else 503 with the reason: the last login error during the
// failure backoff, or that a login is under way. The reason never holds a
// token: symauth's errors carry none.
func (h *proxyHandler) health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSONError(w, http.StatusMethodNotAllowed, "symauth proxy: "+healthPath+" answers GET and HEAD")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), healthWait)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if _, err := h.source.Token(ctx); err != nil {
		reason := err.Error()
		if ctx.Err() != nil {
			reason = "a login is under way"
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "not logged in: "+reason+"\n")
		return
	}
	_, _ = io.WriteString(w, "ok: logged in\n")
}

// writeJSONError answers status with a body shaped like Symphony's errors,
// {"code":…,"message":…}, which bots already parse.
func writeJSONError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}{status, message})
}
