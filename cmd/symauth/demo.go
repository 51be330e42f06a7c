package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// The demo's bot, the stream its messages go to, and its limits.
const (
	demoBot            = "demo-bot"
	demoStreamID       = "iWyZBIOdQQzQj0tKOLRivX___qu6YeyZdA" // shaped like a real stream id
	demoMaxRequests    = 1_000_000
	demoMaxWorkers     = 10_000
	demoRequestTimeout = 10 * time.Second // a hung request fails instead of hanging the demo
)

// demoConfig is what the demo's flags ask for.
type demoConfig struct {
	requests, workers, sessionEnds int
}

// validate checks the flags, naming the one at fault.
func (c demoConfig) validate() error {
	switch {
	case c.requests < 1 || c.requests > demoMaxRequests:
		return fmt.Errorf("--requests %d: give 1 to %d", c.requests, demoMaxRequests)
	case c.workers < 1 || c.workers > demoMaxWorkers:
		return fmt.Errorf("--workers %d: give 1 to %d", c.workers, demoMaxWorkers)
	case c.sessionEnds < 0:
		return fmt.Errorf("--session-ends %d: must not be negative", c.sessionEnds)
	case c.sessionEnds >= c.requests:
		return fmt.Errorf("--session-ends %d: must be less than --requests (%d)", c.sessionEnds, c.requests)
	}
	return nil
}

// endPoint is how many requests have completed when session end k (0-based)
// is due: the ends are spread evenly over the requests.
func (c demoConfig) endPoint(k int) int {
	return (k + 1) * c.requests / (c.sessionEnds + 1)
}

// runDemo is "symauth demo": it prints its report on out, and on errOut
// what went wrong, if anything.
func runDemo(ctx context.Context, args []string, out, errOut io.Writer) int {
	cfg, code, done := parseDemoFlags(args, errOut)
	if done {
		return code
	}
	env, err := startDemoEnv(cfg.workers)
	if err != nil {
		return fail(errOut, "demo", err)
	}
	defer env.close()

	printDemoHeader(out, cfg)
	res := runDemoLoad(ctx, env, cfg)
	res.print(out)
	if err := res.verdict(); err != nil {
		return fail(errOut, "demo", err)
	}
	return exitOK
}

// parseDemoFlags parses and checks the flags; it returns the exit status to
// end with, if any. The workers are capped at the number of requests.
func parseDemoFlags(args []string, errOut io.Writer) (demoConfig, int, bool) {
	var cfg demoConfig
	fs := newFlagSet("demo", "[flags]",
		"Shows symauth at work with nothing to set up. Starts a Symphony emulator (pod, key manager\n"+
			"and agent over TLS) inside this process, creates a bot with a fresh 2048-bit RSA key, and\n"+
			"sends --requests requests (pod reads, agent reads, message posts) from --workers goroutines\n"+
			"through symauth.NewTransport, while ending all sessions --session-ends times. It reports the\n"+
			"failures, the logins (one first login, then exactly one per session end, however many\n"+
			"requests got a 401) and the latency. No file is read or written; nothing leaves loopback.\n"+
			"Exits 1 if a request failed or the logins were not one per session end.", errOut)
	fs.IntVar(&cfg.requests, "requests", 4000, "send `N` requests in all")
	fs.IntVar(&cfg.workers, "workers", 64, "send from `N` goroutines at once")
	fs.IntVar(&cfg.sessionEnds, "session-ends", 2, "end all sessions `N` times, evenly spread over the requests (0: never)")
	if code, done := parseFlags(fs, args); done {
		return cfg, code, true
	}
	if err := cfg.validate(); err != nil {
		fmt.Fprintf(errOut, "symauth demo: %s\n", err)
		return cfg, exitUsage, true
	}
	cfg.workers = min(cfg.workers, cfg.requests)
	return cfg, 0, false
}

// demoEnv is what the demo runs against: the emulator with the bot
// registered, and a client sending through symauth's Transport over an
// observer over the real network.
type demoEnv struct {
	srv     *symauthtest.Server
	network *http.Transport // carries the logins and, under obs, the API calls
	session *symauth.Session
	obs     *observer
	client  *http.Client
	message demoMessage
}

// startDemoEnv starts the emulator and creates the bot, with a fresh 2048-bit
// RSA key, and its client. Nothing logs in yet.
func startDemoEnv(workers int) (*demoEnv, error) {
	srv, err := symauthtest.Start(symauthtest.Options{})
	if err != nil {
		return nil, err
	}
	env, err := newDemoEnv(srv, workers)
	if err != nil {
		srv.Close()
		return nil, err
	}
	return env, nil
}

// newDemoEnv registers the bot on srv and builds its client.
func newDemoEnv(srv *symauthtest.Server, workers int) (*demoEnv, error) {
	key, err := srv.NewUser(demoBot)
	if err != nil {
		return nil, err
	}
	shared, ok := srv.Client().Transport.(*http.Transport)
	if !ok {
		return nil, fmt.Errorf("the emulator's client has a %T, not an *http.Transport", srv.Client().Transport)
	}
	// A clone: the emulator's own client stays as it is. HTTP/2 carries all
	// requests on one connection; should HTTP/1.1 be negotiated instead, every
	// worker keeps its connection for the next request.
	network := shared.Clone()
	network.MaxIdleConnsPerHost = workers
	auth, err := symauth.NewRSA(symauth.RSAConfig{
		PodURL:     srv.URL,
		Username:   demoBot,
		PrivateKey: key,
		HTTPClient: &http.Client{Transport: network},
	})
	if err != nil {
		return nil, err
	}
	obs := &observer{next: network}
	session := symauth.NewSession(auth)
	return &demoEnv{
		srv:     srv,
		network: network,
		session: session,
		obs:     obs,
		client:  &http.Client{Transport: symauth.NewTransport(session, obs), Timeout: demoRequestTimeout},
		message: newDemoMessage(),
	}, nil
}

// close waits for a login that symauth may still be running, then closes the
// client's connections and the emulator, and waits for the emulator's
// goroutines.
//
// A login runs detached from the requests waiting for it, so one may outlive
// requests that an interrupt cut short; the emulator must not close under it.
// Token joins such a login. Otherwise it returns the cached token at once, or
// logs in once more when the interrupt came between a 401 and the login.
func (e *demoEnv) close() {
	ctx, cancel := context.WithTimeout(context.Background(), demoRequestTimeout)
	_, _ = e.session.Token(ctx)
	cancel()
	e.network.CloseIdleConnections()
	e.srv.Close()
}

// logins counts the login calls the emulator has received so far.
func (e *demoEnv) logins() loginCount {
	return loginCount{pod: e.srv.Calls(symauthtest.PathLogin), keyManager: e.srv.Calls(symauthtest.PathRelay)}
}

// loginCount counts login calls at the pod and at the key manager.
type loginCount struct{ pod, keyManager int }

func (a loginCount) minus(b loginCount) loginCount {
	return loginCount{pod: a.pod - b.pod, keyManager: a.keyManager - b.keyManager}
}

// demoMessage is the multipart/form-data body of a message post, made once.
type demoMessage struct {
	body        []byte
	contentType string
}

func newDemoMessage() demoMessage {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	// Writing to a bytes.Buffer cannot fail.
	_ = w.WriteField("message", "<messageML>Hello from the symauth demo</messageML>")
	_ = w.Close()
	return demoMessage{body: buf.Bytes(), contentType: w.FormDataContentType()}
}

// trace follows one request through symauth's Transport: the observer fills
// it in, in the goroutine that called Do, and the worker reads it after Do.
type trace struct {
	saw401 int // the session end (1-based) whose 401 the request got; 0: none
}

// traceKey is the request context key of a *trace.
type traceKey struct{}

// observer is the base RoundTripper under symauth's Transport: every request
// symauth sends, first tries and replays alike, passes through it to the real
// network. It notes on the request's trace which session end a 401 answered.
type observer struct {
	next  http.RoundTripper
	ended atomic.Int32 // session ends so far
}

// RoundTrip implements http.RoundTripper.
func (o *observer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := o.next.RoundTrip(req)
	if tr, ok := req.Context().Value(traceKey{}).(*trace); ok && resp != nil && resp.StatusCode == http.StatusUnauthorized {
		tr.saw401 = int(o.ended.Load())
	}
	return resp, err
}

// demoLoad is one run of the demo's requests. Its methods are safe for
// concurrent use by the workers.
//
// Session end k is due when endPoint(k) requests have completed, and the
// requests after that point wait for it: so the session ends with no request
// in flight, and the next request of every worker carries the ended session's
// token. (Were requests in flight, a slow one could meet two session ends,
// and its replay, which symauth makes only once, would get the second 401.)
type demoLoad struct {
	cfg  demoConfig
	env  *demoEnv
	next atomic.Int64 // requests claimed by the workers

	mu        sync.Mutex // guards the fields below
	completed int
	ends      []sessionEnd
	endDone   chan struct{} // closed at the next session end
}

// sessionEnd records one end of all sessions.
type sessionEnd struct {
	after  int        // requests completed when it happened
	logins loginCount // login calls before it
}

// runDemoLoad sends the requests from the workers, ends the sessions on the
// way, and returns what happened. When ctx ends, the workers stop early.
func runDemoLoad(ctx context.Context, env *demoEnv, cfg demoConfig) *demoResult {
	l := &demoLoad{cfg: cfg, env: env, endDone: make(chan struct{})}
	tallies := make([]*tally, cfg.workers)
	start := time.Now()
	var wg sync.WaitGroup
	for i := range tallies {
		t := &tally{got401: make([]int, cfg.sessionEnds), replayedOK: make([]int, cfg.sessionEnds)}
		tallies[i] = t
		wg.Go(func() { l.work(ctx, t) })
	}
	wg.Wait()
	return newDemoResult(cfg, l.ends, env.logins(), tallies, time.Since(start), ctx.Err() != nil)
}

// work claims requests and sends them until all are claimed or ctx ends.
func (l *demoLoad) work(ctx context.Context, t *tally) {
	for {
		i := int(l.next.Add(1)) - 1
		if i >= l.cfg.requests || !l.waitTurn(ctx, i) {
			return
		}
		l.send(ctx, i, t)
	}
}

// waitTurn waits until the session ends due before request i have happened.
// It reports false if ctx ends first.
func (l *demoLoad) waitTurn(ctx context.Context, i int) bool {
	for {
		endDone, due := l.endDueBefore(i)
		if !due {
			return ctx.Err() == nil
		}
		select {
		case <-endDone:
		case <-ctx.Done():
			return false
		}
	}
}

// endDueBefore reports whether a session end still to come is due before
// request i, and returns a channel closed when it has happened.
func (l *demoLoad) endDueBefore(i int) (<-chan struct{}, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := len(l.ends)
	return l.endDone, k < l.cfg.sessionEnds && i >= l.cfg.endPoint(k)
}

// send sends request i and files the outcome in t.
func (l *demoLoad) send(ctx context.Context, i int, t *tally) {
	defer l.complete()
	tr := new(trace)
	start := time.Now()
	err := l.roundTrip(context.WithValue(ctx, traceKey{}, tr), i)
	switch {
	case err == nil:
		t.latencies = append(t.latencies, time.Since(start))
	case ctx.Err() != nil:
		t.cancelled++
	default:
		t.fail(err)
	}
	if tr.saw401 > 0 {
		t.got401[tr.saw401-1]++
		if err == nil {
			t.replayedOK[tr.saw401-1]++
		}
	}
}

// roundTrip sends request i and reads the answer. An answer other than 2xx
// is an error.
func (l *demoLoad) roundTrip(ctx context.Context, i int) error {
	req, err := l.newRequest(ctx, i)
	if err != nil {
		return err
	}
	resp, err := l.env.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s answered %s", req.Method, req.URL.Path, resp.Status)
	}
	return nil
}

// newRequest returns request i of the mix: two pod reads, two agent reads
// and one message post in every five. The post's body is a bytes.Reader, so
// http.NewRequest sets GetBody and symauth can replay it after a 401.
func (l *demoLoad) newRequest(ctx context.Context, i int) (*http.Request, error) {
	base := l.env.srv.URL
	switch i % 5 {
	case 0, 1:
		return http.NewRequestWithContext(ctx, http.MethodGet, base+symauthtest.PathSessionInfo, nil)
	case 2, 3:
		return http.NewRequestWithContext(ctx, http.MethodGet, base+symauthtest.PathDatafeeds, nil)
	}
	m := l.env.message
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		base+"/agent/v4/stream/"+demoStreamID+"/message/create", bytes.NewReader(m.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", m.contentType)
	return req, nil
}

// complete counts a finished request and, when the next session end is due,
// ends all sessions and lets the requests that waited for it go.
func (l *demoLoad) complete() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.completed++
	k := len(l.ends)
	if k == l.cfg.sessionEnds || l.completed < l.cfg.endPoint(k) {
		return
	}
	l.ends = append(l.ends, sessionEnd{after: l.completed, logins: l.env.logins()})
	l.env.srv.RevokeSessions()
	l.env.obs.ended.Store(int32(len(l.ends)))
	close(l.endDone)
	l.endDone = make(chan struct{})
}

// tally is what one worker saw. Only its worker touches it until the run ends.
type tally struct {
	latencies          []time.Duration // of the requests that succeeded
	failed, cancelled  int
	firstFailure       string
	got401, replayedOK []int // per session end: requests that got a 401, and of those, the ones that then succeeded
}

// fail counts a failed request and keeps the first error.
func (t *tally) fail(err error) {
	t.failed++
	if t.firstFailure == "" {
		t.firstFailure = err.Error()
	}
}
