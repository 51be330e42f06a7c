package symauth_test

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

// recordingRT is a RoundTripper that records the headers and contexts of the
// requests it sends through next.
type recordingRT struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []*http.Request
}

func (r *recordingRT) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req.Clone(req.Context()))
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recordingRT) sent() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...)
}

// heldRT holds the first n requests it sees until all n have arrived, so
// that all of them are sent with the same token.
type heldRT struct {
	next    http.RoundTripper
	n       int32
	arrived atomic.Int32
	all     chan struct{}
}

func newHeldRT(next http.RoundTripper, n int) *heldRT {
	return &heldRT{next: next, n: int32(n), all: make(chan struct{})}
}

func (h *heldRT) RoundTrip(req *http.Request) (*http.Response, error) {
	switch k := h.arrived.Add(1); {
	case k == h.n:
		close(h.all)
	case k < h.n:
		<-h.all
	}
	return h.next.RoundTrip(req)
}

type ctxKey string

// A LoginEvent tells who logged in and what each call did.
func TestLoginEventCalls(t *testing.T) {
	srv := newPod(t)
	var events eventRecorder
	srv.InjectFault(symauthtest.PathRelay, symauthtest.Fault{Status: http.StatusBadGateway, Times: 1})
	sess := symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{OnLogin: events.record})
	if _, err := sess.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev := events.all()[0]
	if ev.User != botName || ev.AppID != "" || ev.SKD || ev.Renewal || ev.Context == nil || ev.TraceID != "" {
		t.Fatalf("%+v", ev)
	}
	want := []symauth.LoginCall{{Endpoint: symauthtest.PathLogin, StatusCode: 200, Attempts: 1}, {Endpoint: symauthtest.PathRelay, StatusCode: 200, Attempts: 2}}
	if len(ev.Calls) != len(want) {
		t.Fatalf("calls %+v; want %+v", ev.Calls, want)
	}
	for i, c := range ev.Calls {
		if c.Endpoint != want[i].Endpoint || c.StatusCode != want[i].StatusCode || c.Attempts != want[i].Attempts || c.Duration <= 0 || c.Duration > ev.Duration {
			t.Errorf("call %d: %+v; want %+v, within the login's %v", i, c, want[i], ev.Duration)
		}
	}

	srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusForbidden, Times: 1})
	if _, err := sess.Refresh(context.Background()); err == nil {
		t.Fatal("want a failed login")
	}
	// Once the key manager was needed, both calls start together.
	ev = events.all()[1]
	i := slices.IndexFunc(ev.Calls, func(c symauth.LoginCall) bool { return c.Endpoint == symauthtest.PathLogin })
	if len(ev.Calls) != 2 || i < 0 || ev.Calls[i].StatusCode != http.StatusForbidden || ev.Calls[i].Attempts != 1 {
		t.Fatalf("failed login's calls: %+v", ev.Calls)
	}
}

// SKD, a Common JWT renewal and an on-behalf-of user show in the event.
func TestLoginEventSKDRenewalOBO(t *testing.T) {
	t.Run("SKD", func(t *testing.T) {
		srv := newSKDPod(t, true, "")
		var events eventRecorder
		sess := symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{OnLogin: events.record})
		if _, err := sess.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ev := events.all()[0]; !ev.SKD || len(ev.Calls) != 1 {
			t.Fatalf("SKD %v, calls %+v; want SKD and the session login only", ev.SKD, ev.Calls)
		}
	})
	t.Run("renewal", func(t *testing.T) {
		srv, clock := commonJWTPod(t)
		cfg := rsaConfig(srv)
		cfg.CommonJWT = true
		var events eventRecorder
		sess := symauth.NewSessionWithOptions(newRSA(t, cfg), symauth.SessionOptions{OnLogin: events.record})
		symauth.SetSessionClock(sess, clock.Now)
		if _, err := sess.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		clock.Advance(56 * time.Second)
		if _, err := sess.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		evs := events.all()
		if len(evs) != 2 || evs[0].Renewal || !evs[1].Renewal || evs[1].Cause != symauth.CauseExpiry || evs[1].Workflow != "rsa" ||
			evs[1].User != botName || len(evs[1].Calls) != 1 || evs[1].Calls[0].Endpoint != symauthtest.PathIDMTokens {
			t.Fatalf("%+v", evs)
		}
		srv.RevokeSessions() // the renewal is refused: a login follows, and the event is a login's
		clock.Advance(56 * time.Second)
		if _, err := sess.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ev := events.all()[2]; ev.Renewal || len(ev.Calls) < 2 || ev.Calls[0].StatusCode != http.StatusUnauthorized {
			t.Fatalf("renewal refused: %+v", ev)
		}
	})
	t.Run("OBO", func(t *testing.T) {
		srv := testkit.NewOBOPod(t)
		obo, err := symauth.NewOBO(symauth.OBOConfig{PodURL: srv.URL, AppID: testkit.AppID, PrivateKey: botKey(), HTTPClient: srv.Client()})
		if err != nil {
			t.Fatal(err)
		}
		id, _ := srv.UserID("bob")
		byID, err := obo.UserID(id)
		if err != nil {
			t.Fatal(err)
		}
		for src, wantUser := range map[symauth.TokenSource]string{oboUsername(t, obo, "alice"): "alice", byID: "bob's id"} {
			var events eventRecorder
			sess := symauth.NewSessionWithOptions(src, symauth.SessionOptions{OnLogin: events.record})
			if _, err := sess.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			if wantUser == "bob's id" {
				wantUser = strings.TrimPrefix(strings.TrimSuffix(symauthtest.PathOBOUser(id), "/authenticate"), "/login/pubkey/app/user/")
			}
			if ev := events.all()[0]; ev.Workflow != "obo" || ev.User != wantUser || ev.AppID != testkit.AppID {
				t.Errorf("%+v; want user %s of app %s", ev, wantUser, testkit.AppID)
			}
		}
	})
}

// OnLoginStart gets the values of the context of the request that triggered
// the login and the cause; what it returns reaches the login calls and the
// LoginEvent. The calls carry symauth's User-Agent.
func TestOnLoginStart(t *testing.T) {
	srv := newPod(t)
	rec := &recordingRT{next: srv.Client().Transport}
	cfg := rsaConfig(srv)
	cfg.HTTPClient = &http.Client{Transport: rec}
	var starts []symauth.LoginCause
	var events eventRecorder
	sess := symauth.NewSessionWithOptions(newRSA(t, cfg), symauth.SessionOptions{
		OnLoginStart: func(ctx context.Context, cause symauth.LoginCause) context.Context {
			starts = append(starts, cause) // logins run one at a time
			if ctx.Value(ctxKey("request")) != "r1" {
				t.Errorf("the login's context lacks the request's values")
			}
			if len(starts) == 2 {
				return nil // the context is kept as it is
			}
			return context.WithValue(ctx, ctxKey("span"), "login span")
		},
		OnLogin: events.record,
	})
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey("request"), "r1"))
	if _, err := sess.Token(ctx); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := sess.Refresh(context.WithValue(context.Background(), ctxKey("request"), "r1")); err != nil {
		t.Fatal(err)
	}
	if len(starts) != 2 || starts[0] != symauth.CauseFirst || starts[1] != symauth.CauseManual {
		t.Fatalf("starts %v", starts)
	}
	evs := events.all()
	if evs[0].Context.Value(ctxKey("span")) != "login span" || evs[0].Context.Value(ctxKey("request")) != "r1" || evs[0].Context.Err() != nil {
		t.Fatal("LoginEvent.Context is not the one OnLoginStart returned, detached")
	}
	if evs[1].Context.Value(ctxKey("span")) != nil || evs[1].Context.Value(ctxKey("request")) != "r1" {
		t.Fatal("a nil from OnLoginStart does not keep the login's context")
	}
	ua := regexp.MustCompile(`^symauth/\S+ \(\+Go\)$`)
	sent := rec.sent()
	for i, r := range sent {
		if i < 2 && r.Context().Value(ctxKey("span")) != "login span" {
			t.Errorf("login call %s lacks the context OnLoginStart returned", r.URL.Path)
		}
		if !ua.MatchString(r.Header.Get("User-Agent")) {
			t.Errorf("login call %s: User-Agent %q", r.URL.Path, r.Header.Get("User-Agent"))
		}
	}
	if len(sent) != 4 {
		t.Fatalf("%d login calls; want 4", len(sent))
	}
}

// Fifty requests in flight at a session end: fifty OnReplay calls, one
// login. During the failure backoff, each refused request calls OnBackoff.
func TestOnReplayAndOnBackoff(t *testing.T) {
	const inFlight = 50
	srv := newPod(t)
	var replays atomic.Int32
	var refusals []error
	var mu sync.Mutex
	sess := symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{
		OnReplay: func(req *http.Request) {
			if req.URL.Path == symauthtest.PathSessionInfo && req.Header.Get(symauth.HeaderSessionToken) == "" {
				replays.Add(1)
			}
		},
		OnBackoff: func(ctx context.Context, err error) {
			mu.Lock()
			defer mu.Unlock()
			if ctx.Value(ctxKey("request")) == "refused" {
				refusals = append(refusals, err)
			}
		},
	})
	symauth.SetSessionClock(sess, testkit.NewClock().Now) // the backoff lasts as long as the test
	held := newHeldRT(srv.Client().Transport, inFlight)
	client := &http.Client{Transport: symauth.NewTransport(sess, held)}
	if _, err := sess.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.RevokeSessions()
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
				t.Errorf("status %d", status)
			}
		})
	}
	wg.Wait()
	if pod, _ := loginCalls(srv); replays.Load() != inFlight || pod != 2 {
		t.Fatalf("%d replays and %d logins; want %d and 2", replays.Load(), pod, inFlight)
	}

	srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusForbidden, Times: 1})
	if _, err := sess.Refresh(context.Background()); err == nil {
		t.Fatal("want a failed login")
	}
	ctx := context.WithValue(context.Background(), ctxKey("request"), "refused")
	for range 3 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+symauthtest.PathSessionInfo, nil)
		if _, err := client.Do(req); err == nil {
			t.Fatal("want the backoff's error")
		}
	}
	var authErr *symauth.AuthError
	if len(refusals) != 3 || !errors.As(refusals[0], &authErr) || !strings.Contains(refusals[0].Error(), "not logging in for another") {
		t.Fatalf("refusals %v; want 3 wrapping the login's *AuthError", refusals)
	}
}

// A panic in OnReplay, OnBackoff or OnLoginStart is an error, never a crash
// (checked in a child process).
func TestObservationHookPanics(t *testing.T) {
	inChild(t, func(t *testing.T) {
		srv := newPod(t)
		boom := func() { panic("boom") }
		sess := symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{
			OnReplay:  func(*http.Request) { boom() },
			OnBackoff: func(context.Context, error) { boom() },
		})
		client := &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}
		get(t, client, srv.URL+symauthtest.PathSessionInfo)
		srv.RevokeSessions()
		if _, err := client.Get(srv.URL + symauthtest.PathSessionInfo); err == nil || !strings.Contains(err.Error(), "OnReplay panicked: boom") {
			t.Fatalf("OnReplay's panic: %v", err)
		}
		if _, err := sess.Token(context.Background()); err != nil { // the login that 401 started, before the fault below
			t.Fatal(err)
		}
		srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusForbidden, Times: 1})
		if _, err := sess.Refresh(context.Background()); err == nil || strings.Contains(err.Error(), "panicked") {
			t.Fatalf("the failed login: %v", err)
		}
		if _, err := sess.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "OnBackoff panicked: boom") {
			t.Fatalf("OnBackoff's panic: %v", err)
		}

		started := symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{
			OnLoginStart: func(context.Context, symauth.LoginCause) context.Context { panic("start") },
		})
		if _, err := started.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "panicked: start") {
			t.Fatalf("OnLoginStart's panic: %v", err)
		}
	})
}
