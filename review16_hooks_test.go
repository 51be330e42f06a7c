package symauth_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// review16: an OnLoginStart that calls back into its Session (an exporter
// that reads the token, a hook that waits on something honouring ctx) runs
// before the login's LoginTimeout applies, with a context that never ends:
// the login never ends, and the Session is wedged for every caller.
func TestReview16OnLoginStartReentrantWedgesSession(t *testing.T) {
	srv := newPod(t)
	release := make(chan struct{})
	var sess *symauth.Session
	var calls atomic.Int32
	var hadDeadline atomic.Bool
	sess = symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{
		LoginTimeout: 100 * time.Millisecond,
		OnLoginStart: func(ctx context.Context, _ symauth.LoginCause) context.Context {
			if calls.Add(1) != 1 {
				return nil
			}
			_, ok := ctx.Deadline()
			hadDeadline.Store(ok)
			done := make(chan struct{})
			go func() { _, _ = sess.Token(ctx); close(done) }()
			select {
			case <-done: // the inner Token ended with the login's context
			case <-release: // the test's cleanup
			}
			return nil
		},
	})
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := sess.Token(ctx)
	took := time.Since(start)
	if !hadDeadline.Load() {
		t.Errorf("OnLoginStart's context has no deadline: the login's LoginTimeout (100ms) does not bound it")
	}
	if took > time.Second {
		t.Fatalf("Token waited %v and got %v: the login never ended within its LoginTimeout of 100ms "+
			"(OnLoginStart calling sess.Token deadlocks the login goroutine; every later caller waits for it too)", took.Round(time.Millisecond), err)
	}
}

// review16: the caller's X-Trace-Id header is checked on its first value
// only; a second value (overlong, with spaces) is sent silently, though the
// doc says an id that is not 1 to 128 visible ASCII characters fails the
// request.
func TestReview16TraceIDSecondHeaderValueUnchecked(t *testing.T) {
	b := newTracedBot(t, true)
	bad := "two words " + strings.Repeat("x", 300)
	req, _ := http.NewRequest(http.MethodGet, b.pod+symauthtest.PathSessionInfo, nil)
	req.Header["X-Trace-Id"] = []string{"ok1", bad}
	resp, err := b.client.Do(req)
	if err == nil {
		resp.Body.Close()
		sent := b.api.sent()
		t.Fatalf("a request whose X-Trace-Id has a second, invalid value (%d bytes, spaces) succeeded; sent X-Trace-Id %d values: %.40q…",
			len(bad), len(sent[len(sent)-1].Header.Values("X-Trace-Id")), sent[len(sent)-1].Header.Values("X-Trace-Id"))
	}
}

// review16: a caller who set the header with a non-canonical key
// (req.Header["x-trace-id"], as a map literal or a proxy copying raw
// headers does) is not seen: symauth adds a new id beside the caller's, the
// request goes out with two different X-Trace-Id values, and the login's
// log lines carry symauth's id rather than the caller's.
func TestReview16TraceIDNonCanonicalHeaderKey(t *testing.T) {
	b := newTracedBot(t, true)
	req, _ := http.NewRequest(http.MethodGet, b.pod+symauthtest.PathSessionInfo, nil)
	req.Header["x-trace-id"] = []string{"mine"}
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	sent := b.api.sent()[0]
	var ids []string
	for k, v := range sent.Header {
		if strings.EqualFold(k, "X-Trace-Id") {
			ids = append(ids, v...)
		}
	}
	if len(ids) != 1 || ids[0] != "mine" || b.events.all()[0].TraceID != "mine" {
		t.Fatalf("sent trace ids %q, login's trace id %q; want only the caller's %q", ids, b.events.all()[0].TraceID, "mine")
	}
}

// review16: an OnLoginStart that returns a context already ended (derived
// from one of its own that it cancelled, or from a request's) fails the
// shared login with a bare "context canceled" that does not name the hook,
// and puts the Session in its failure backoff for every caller.
func TestReview16OnLoginStartCancelledContext(t *testing.T) {
	srv := newPod(t)
	var calls atomic.Int32
	sess := symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{
		OnLoginStart: func(ctx context.Context, _ symauth.LoginCause) context.Context {
			if calls.Add(1) > 1 {
				return nil
			}
			c, cancel := context.WithCancel(ctx)
			cancel()
			return c
		},
	})
	_, first := sess.Token(context.Background())
	_, second := sess.Token(context.Background())
	if first == nil || !strings.Contains(first.Error(), "OnLoginStart") || second != nil {
		t.Fatalf("login: %v; next caller: %v; want an error naming OnLoginStart, and no failure backoff for the others", first, second)
	}
}

// review16: 100 requests, each with its own trace id, at a session end:
// the one login carries one id, the same on its calls, its log lines and
// its LoginEvent, and it is the id of one of the requests that got a 401.
func TestReview16TraceIDConcurrentSessionEnd(t *testing.T) {
	const n = 100
	srv := newPod(t)
	logins := &recordingRT{next: srv.Client().Transport}
	logs := &lockedBuffer{}
	cfg := rsaConfig(srv)
	cfg.HTTPClient = &http.Client{Transport: logins}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var events eventRecorder
	sess := symauth.NewSessionWithOptions(newRSA(t, cfg), symauth.SessionOptions{TraceID: true, OnLogin: events.record})
	if _, err := sess.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.RevokeSessions()
	first := len(logins.sent())
	client := &http.Client{Transport: symauth.NewTransport(sess, newHeldRT(srv.Client().Transport, n))}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			getWith(t, client, symauth.WithTraceID(context.Background(), fmt.Sprintf("req%03d", i)), srv.URL+symauthtest.PathSessionInfo, nil)
		})
	}
	wg.Wait()
	evs := events.all()
	if len(evs) != 2 {
		t.Fatalf("%d logins; want 2", len(evs))
	}
	id := evs[1].TraceID
	if !strings.HasPrefix(id, "req") {
		t.Fatalf("the session end's login has trace id %q; want one of the requests'", id)
	}
	for _, r := range logins.sent()[first:] {
		if got := r.Header.Values("X-Trace-Id"); len(got) != 1 || got[0] != id {
			t.Errorf("login call %s: X-Trace-Id %q; want %q", r.URL.Path, got, id)
		}
	}
	for _, r := range logs.records(t) {
		if id, ok := r["trace_id"].(string); ok && r["msg"] == "symauth: login" && id != evs[0].TraceID && id != evs[1].TraceID {
			t.Errorf("login log line with trace id %q of neither login", id)
		}
	}
}

// review16: with TraceID on, a request to a foreign origin, and a Symphony
// request redirected to one, carry no X-Trace-Id of symauth's.
func TestReview16TraceIDNotToForeignOrigins(t *testing.T) {
	srv := newPod(t)
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Values("X-Trace-Id"); len(v) != 0 {
			t.Errorf("the foreign origin got X-Trace-Id %q (path %s)", v, r.URL.Path)
		}
	}))
	defer foreign.Close()
	srv.Handle("/pod/v1/review16/redirect", http.RedirectHandler(foreign.URL+"/elsewhere", http.StatusFound))
	sess := symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{TraceID: true})
	client := &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}
	getWith(t, client, context.Background(), foreign.URL+"/direct", nil)
	getWith(t, client, symauth.WithTraceID(context.Background(), "ctxid"), srv.URL+"/pod/v1/review16/redirect", nil)
}

// review16: with TraceID on, the session check symauth sends on its own
// after a replay is refused again (GET /pod/v2/sessioninfo with the bot's
// tokens) carries no X-Trace-Id: in Symphony's logs it cannot be tied to
// the request that caused it, though "every request" carries one.
func TestReview16TraceIDOnSessionCheck(t *testing.T) {
	srv := newPod(t)
	srv.Handle("/pod/v1/review16/deny", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	sess := symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{TraceID: true})
	api := &recordingRT{next: srv.Client().Transport}
	client := &http.Client{Transport: symauth.NewTransport(sess, api)}
	getWith(t, client, symauth.WithTraceID(context.Background(), "case-7"), srv.URL+"/pod/v1/review16/deny", nil)
	checks := 0
	for _, r := range api.sent() {
		if r.URL.Path == symauthtest.PathSessionInfo {
			checks++
			if got := r.Header.Values("X-Trace-Id"); len(got) != 1 || got[0] != "case-7" {
				t.Errorf("the session check: X-Trace-Id %q; want the request's %q", got, "case-7")
			}
		}
	}
	if checks == 0 {
		t.Fatalf("no session check sent; requests: %d", len(api.sent()))
	}
}
