package symauthtest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fault describes how the server misbehaves on a request, in this order:
// notify Reached, wait Delay, wait for Hold, then Drop the connection, or
// answer Status, or (Status 0) handle the request normally. Queue one with
// InjectFault.
type Fault struct {
	// Status, when not 0, is answered with Body instead of the real handler.
	// It must be between 200 and 999; other values are answered with 500.
	Status int

	// Body is the body answered with Status; "" means
	// {"code":<Status>,"message":"<http.StatusText(Status)>"}. Its
	// Content-Type is application/json if it is valid JSON, else text/plain,
	// unless Header sets one.
	Body string

	// Header holds extra response headers for Status, such as Retry-After, or
	// Location for a redirect.
	Header http.Header

	// Delay is waited first. The wait ends early, without an answer, when the
	// client goes away or the server closes.
	Delay time.Duration

	// Hold, if non-nil, is waited for (until it is closed) after Delay. The
	// wait ends early, without an answer, when the client goes away or the
	// server closes.
	Hold <-chan struct{}

	// Reached, if non-nil, receives a value, without blocking, as soon as a
	// request meets this fault, so a test knows that the call is in flight.
	// Give it a buffer.
	Reached chan<- struct{}

	// Drop closes the connection without an answer, so the client sees a
	// network error (such as EOF). On HTTP/2 it resets the request's stream
	// instead. It takes precedence over Status. Note that Go's http.Transport
	// silently retries an idempotent request (GET, HEAD …) that fails this way
	// on a reused connection.
	Drop bool

	// Times is how many requests the fault applies to; 0 (or less) means
	// every request until ClearFaults.
	Times int

	// AfterAuth plays the fault after the token check instead of before it:
	// on a path that needs tokens (pod and agent calls, and paths registered
	// with Handle) it applies only to requests whose tokens are valid, and a
	// request answered 401 neither plays nor uses it; so after
	// RevokeSessions a client sees the 401 first. On a path that needs no
	// token (logins, GET /agent/v1/info …) it applies to every request, after
	// any fault without AfterAuth. Faults with and without AfterAuth queue
	// apart: each kind in its own order.
	AfterAuth bool
}

// queuedFault is a Fault with its remaining uses.
type queuedFault struct {
	f    Fault
	left int // < 0: unlimited
}

// faultTable holds the queued faults and the call counts. Safe for concurrent
// use.
type faultTable struct {
	mu     sync.Mutex
	queued [2]map[string][]*queuedFault // [0]: before the token check, [1]: AfterAuth
	calls  map[string]int
}

func (t *faultTable) init() {
	for i := range t.queued {
		t.queued[i] = make(map[string][]*queuedFault)
	}
	t.calls = make(map[string]int)
}

// phase indexes faultTable.queued.
func phase(afterAuth bool) int {
	if afterAuth {
		return 1
	}
	return 0
}

// arrive counts a request on path and returns the fault without AfterAuth
// that applies to it, if any, using up one of its calls.
func (t *faultTable) arrive(path string) (Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls[path]++
	return t.take(phase(false), path)
}

// authorized returns the AfterAuth fault that applies to a request on path
// whose tokens were accepted (or that needs none), if any, using up one of
// its calls.
func (t *faultTable) authorized(path string) (Fault, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.take(phase(true), path)
}

// take returns the first fault of queue ph on path, using up one of its
// calls. Call with mu held.
func (t *faultTable) take(ph int, path string) (Fault, bool) {
	queued := t.queued[ph]
	q := queued[path]
	if len(q) == 0 {
		return Fault{}, false
	}
	qf := q[0]
	if qf.left > 0 {
		qf.left--
		if qf.left == 0 {
			q[0] = nil
			q = q[1:]
			if len(q) == 0 {
				delete(queued, path)
			} else {
				queued[path] = q
			}
		}
	}
	return qf.f, true
}

// InjectFault queues f for requests whose URL path equals path exactly, such
// as PathLogin or "/pod/v2/sessioninfo". Faults on one path apply in the order
// queued: the first one with calls left applies to the next request, so a
// fault with Times 0 hides the ones queued after it. Every path the server
// receives can be faulted, including unknown ones. An on-behalf-of step
// naming a username is matched by the path PathOBOUsername or
// PathCertOBOUsername returns for it. Faults with AfterAuth queue apart from
// the others (see Fault.AfterAuth). Safe for concurrent use.
func (s *Server) InjectFault(path string, f Fault) {
	f.Header = f.Header.Clone()
	left := f.Times
	if left <= 0 {
		left = -1
	}
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	queued := s.faults.queued[phase(f.AfterAuth)]
	queued[path] = append(queued[path], &queuedFault{f: f, left: left})
}

// ClearFaults removes every queued fault. Requests already waiting in a
// fault's Delay or Hold keep waiting. Safe for concurrent use.
func (s *Server) ClearFaults() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	for _, queued := range s.faults.queued {
		clear(queued)
	}
}

// afterAuth plays the AfterAuth fault queued for key, if any, on a request
// whose tokens were accepted or that needs none, and reports whether it
// answered (or dropped) the request.
func (s *Server) afterAuth(w http.ResponseWriter, r *http.Request, key string) bool {
	f, ok := s.faults.authorized(key)
	return ok && s.applyFault(w, r, f)
}

// Calls returns how many requests the server received on exactly this URL
// path since it started or since ResetCalls, faulted ones included. A request
// counts as soon as it arrives, before any fault applies. An on-behalf-of
// step naming a username counts under the path PathOBOUsername or
// PathCertOBOUsername returns for it. Safe for concurrent use.
func (s *Server) Calls(path string) int {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	return s.faults.calls[path]
}

// ResetCalls sets every call count to zero. Safe for concurrent use.
func (s *Server) ResetCalls() {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	clear(s.faults.calls)
}

// applyFault plays f on the request and reports whether it answered (or
// dropped) the request, so that the real handler must not run.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Reached != nil {
		notify(f.Reached)
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		if why := wait(s, r, t.C); why != "" {
			s.logf("fault on %s %s: delay ended early: %s", r.Method, r.URL.Path, why)
			abort(w)
			return true
		}
	}
	if f.Hold != nil {
		if why := wait(s, r, f.Hold); why != "" {
			s.logf("fault on %s %s: hold ended early: %s", r.Method, r.URL.Path, why)
			abort(w)
			return true
		}
	}
	switch {
	case f.Drop:
		s.logf("fault on %s %s: connection dropped", r.Method, r.URL.Path)
		abort(w)
		return true
	case f.Status != 0:
		s.logf("fault on %s %s: answered %d", r.Method, r.URL.Path, f.Status)
		writeFault(w, f)
		return true
	}
	return false
}

// notify sends on ch without blocking. A test that closed ch is done with
// it: the send's panic is recovered rather than crashing the handler.
func notify(ch chan<- struct{}) {
	defer func() { _ = recover() }()
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wait waits for ready and returns "", or returns why it stopped waiting
// early: the client went away or the server is closing.
func wait[T any](s *Server, r *http.Request, ready <-chan T) string {
	select {
	case <-ready:
		return ""
	case <-r.Context().Done():
		return "the client went away"
	case <-s.done:
		return "the server is closing"
	}
}

// writeFault answers f.Status with f.Header and f.Body.
func writeFault(w http.ResponseWriter, f Fault) {
	status, body := f.Status, f.Body
	if status < 200 || status > 999 {
		status = http.StatusInternalServerError
		body = `{"code":500,"message":"symauthtest: invalid Fault.Status ` + strconv.Itoa(f.Status) + `"}`
	}
	if body == "" {
		b, _ := json.Marshal(apiError{Code: status, Message: http.StatusText(status)})
		body = string(b)
	}
	h := w.Header()
	for k, vs := range f.Header {
		h[k] = append([]string(nil), vs...)
	}
	if h.Get("Content-Type") == "" {
		if json.Valid([]byte(body)) {
			h.Set("Content-Type", contentTypeJSON)
		} else {
			h.Set("Content-Type", "text/plain; charset=utf-8")
		}
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// abort ends the request without an answer: on HTTP/1 it hijacks the
// connection and closes it; on HTTP/2, which cannot hijack, it panics with
// http.ErrAbortHandler, which net/http recovers silently by resetting the
// stream.
func abort(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
