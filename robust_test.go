package symauth_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/extapp"
	"github.com/symauth/symauth/symauthtest"
)

// Behaviours 12–16: whatever wraps, panics or hands back, the core recovers.

// metricsDecorator is a user's layer around a Session: it counts tokens and
// passes the context on, as a decorator does.
type metricsDecorator struct {
	inner symauth.TokenSource
	calls atomic.Int32
}

func (m *metricsDecorator) Token(ctx context.Context) (*symauth.Token, error) {
	m.calls.Add(1)
	return m.inner.Token(ctx)
}

// Behaviour 12: a Transport over a decorated Session, a Session over a
// Session (a config file's, given a logger) and a Transport literal all
// recover from a session end with one login.
func TestWrappedSessionsRecover(t *testing.T) {
	for _, tc := range []struct {
		name      string
		transport func(inner *symauth.Session, rsa *symauth.RSA, base http.RoundTripper) http.RoundTripper
	}{
		{"decorated session", func(inner *symauth.Session, _ *symauth.RSA, base http.RoundTripper) http.RoundTripper {
			return symauth.NewTransport(&metricsDecorator{inner: inner}, base)
		}},
		{"session over session", func(inner *symauth.Session, _ *symauth.RSA, base http.RoundTripper) http.RoundTripper {
			return symauth.NewTransport(symauth.NewSessionWithOptions(inner, symauth.SessionOptions{LoginTimeout: time.Minute}), base)
		}},
		{"transport literal", func(_ *symauth.Session, rsa *symauth.RSA, base http.RoundTripper) http.RoundTripper {
			return &symauth.Transport{Source: rsa, Base: base}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newPod(t)
			rsa := newRSA(t, rsaConfig(srv))
			client := &http.Client{Transport: tc.transport(symauth.NewSession(rsa), rsa, srv.Client().Transport)}
			for range 3 {
				if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
					t.Fatalf("status %d", status)
				}
			}
			srv.RevokeSessions()
			for range 3 {
				if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
					t.Fatalf("after the session end: status %d; want 200 after one login", status)
				}
			}
			if pod, _ := loginCalls(srv); pod != 2 {
				t.Fatalf("%d logins; want 2 (the first, one after the session end)", pod)
			}
		})
	}
}

// stubbornCache is a user's cache that does not pass the context on: it
// hands back its token whatever happened.
type stubbornCache struct {
	once sync.Once
	src  symauth.TokenSource
	tok  *symauth.Token
	err  error
}

func (c *stubbornCache) Token(context.Context) (*symauth.Token, error) {
	c.once.Do(func() { c.tok, c.err = c.src.Token(context.Background()) })
	return c.tok, c.err
}

// A source that hands back the token just rejected fails the login, with an
// error saying so, instead of a 401 for ever behind a successful "login".
func TestSourceHandingBackTheRejectedToken(t *testing.T) {
	srv := newPod(t)
	var events []symauth.LoginEvent
	sess := symauth.NewSessionWithOptions(&stubbornCache{src: newRSA(t, rsaConfig(srv))}, symauth.SessionOptions{
		OnLogin: func(ev symauth.LoginEvent) { events = append(events, ev) },
	})
	client := &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}
	get(t, client, srv.URL+symauthtest.PathSessionInfo)
	srv.RevokeSessions()
	_, err := client.Get(srv.URL + symauthtest.PathSessionInfo)
	if err == nil || !strings.Contains(err.Error(), "the token the server had just rejected") {
		t.Fatalf("err = %v; want the login to fail, naming the rejected token handed back", err)
	}
	if len(events) != 2 || events[1].Err == nil {
		t.Fatalf("login events %v; want the second to be a failure", events)
	}
}

// Behaviour 2: in Common JWT mode a renewal keeps the session token; a late
// 401 for the bearer before the renewal leaves the renewed token alone.
func TestInvalidateMatchesTheBearerSent(t *testing.T) {
	srv, clock := commonJWTPod(t)
	_, sess := commonJWTClient(t, srv, clock, srv.Client().Transport)
	before := mustToken(t, sess)
	clock.Advance(57 * time.Second) // within 5 s of the bearer's expiry
	renewed := mustToken(t, sess)
	if renewed == before || renewed.SessionToken != before.SessionToken || renewed.AuthorizationToken == before.AuthorizationToken {
		t.Fatalf("no renewal of the bearer alone: %v → %v", before, renewed)
	}
	sess.Invalidate(before) // the late 401 of a request sent before the renewal
	if mustToken(t, sess) != renewed {
		t.Fatal("the renewed token was dropped for a 401 to the old bearer")
	}
	if pod, _ := loginCalls(srv); pod != 1 {
		t.Fatalf("%d logins; want 1", pod)
	}
}

// Behaviour 13: an endpoint that rejects fresh tokens is remembered for a
// minute, then tried again with a login.
func TestRefusingEndpointIsRememberedForAMinute(t *testing.T) {
	srv := newPod(t)
	sess := symauth.NewSession(newRSA(t, rsaConfig(srv)))
	now := time.Now()
	var clockMu sync.Mutex
	symauth.SetSessionClock(sess, func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return now })
	client := &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}
	const blocked = "/pod/v1/admin/blocked"
	srv.InjectFault(blocked, symauthtest.Fault{Status: http.StatusUnauthorized})
	for range 5 {
		get(t, client, srv.URL+blocked)
	}
	if pod, _ := loginCalls(srv); pod != 2 {
		t.Fatalf("%d logins; want 2", pod)
	}
	clockMu.Lock()
	now = now.Add(61 * time.Second)
	clockMu.Unlock()
	get(t, client, srv.URL+blocked)
	get(t, client, srv.URL+blocked)
	if pod, _ := loginCalls(srv); pod != 3 {
		t.Fatalf("a minute later: %d logins; want 3 (the endpoint is tried again, once)", pod)
	}
}

// Behaviour 14: what a login runs of the user's code — the TokenSource and
// OnLogin — may panic or call runtime.Goexit: every waiting caller gets an
// error carrying the panic's value, and the process goes on. Each case runs
// in a child process, so that a crash is seen as one.
func TestPanicsInPluggedCodeAreErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		sess func() *symauth.Session
		want string
	}{
		{"source panics", func() *symauth.Session {
			return symauth.NewSession(sourceFunc(func(context.Context) (*symauth.Token, error) { panic("metrics exporter bug") }))
		}, "metrics exporter bug"},
		{"source panics with an error", func() *symauth.Session {
			return symauth.NewSession(sourceFunc(func(context.Context) (*symauth.Token, error) { panic(errSentinel) }))
		}, "sentinel"},
		{"OnLogin panics", func() *symauth.Session {
			ok := sourceFunc(func(context.Context) (*symauth.Token, error) { return &symauth.Token{SessionToken: "s"}, nil })
			return symauth.NewSessionWithOptions(ok, symauth.SessionOptions{OnLogin: func(symauth.LoginEvent) { panic("hook bug") }})
		}, "hook bug"},
		{"the Logger's handler panics, and again logging that", func() *symauth.Session {
			ok := sourceFunc(func(context.Context) (*symauth.Token, error) { return &symauth.Token{SessionToken: "s"}, nil })
			return symauth.NewSessionWithOptions(ok, symauth.SessionOptions{Logger: slog.New(panickingHandler{})})
		}, "log shipper bug"},
		{"source calls runtime.Goexit", func() *symauth.Session {
			return symauth.NewSession(sourceFunc(func(context.Context) (*symauth.Token, error) { runtime.Goexit(); return nil, nil }))
		}, "runtime.Goexit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inChild(t, func(t *testing.T) {
				sess := tc.sess()
				var wg sync.WaitGroup
				errs := make([]error, 50)
				for i := range errs {
					wg.Go(func() { _, errs[i] = sess.Token(context.Background()) })
				}
				wg.Wait()
				for _, err := range errs {
					if err == nil || !strings.Contains(err.Error(), tc.want) {
						t.Fatalf("err = %v; want an error carrying %q", err, tc.want)
					}
				}
				if tc.name == "source panics with an error" && !errors.Is(errs[0], errSentinel) {
					t.Fatal("the panic's error is not wrapped")
				}
				if _, err := sess.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "not logging in for another") {
					t.Fatalf("next call: %v; want the failure backoff", err)
				}
			})
		})
	}
}

var errSentinel = errors.New("sentinel")

type sourceFunc func(context.Context) (*symauth.Token, error)

func (f sourceFunc) Token(ctx context.Context) (*symauth.Token, error) { return f(ctx) }

// inChild runs fn in a child process of the test binary and fails t unless
// the child passed: a panic nobody recovers shows as a crash there.
func inChild(t *testing.T, fn func(t *testing.T)) {
	t.Helper()
	if os.Getenv(childEnv) == t.Name() {
		fn(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+strings.ReplaceAll(regexpQuote(t.Name()), "/", "$/^")+"$", "-test.count=1", "-test.v", "-test.timeout=30s")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the child process failed (%v):\n%s", err, out)
	}
}

// regexpQuote quotes the regular expression characters of a test name.
func regexpQuote(name string) string {
	return strings.NewReplacer("(", `\(`, ")", `\)`, ".", `\.`, "+", `\+`, "*", `\*`, "?", `\?`, "[", `\[`, "]", `\]`, "|", `\|`, " ", "_").Replace(name)
}

// Behaviour 14: zero values and typed-nil keys give errors, never panics.
func TestZeroValuesAndNilKeysAreErrors(t *testing.T) {
	ctx := context.Background()
	srv := newPod(t)
	good := certConfig(t, srv, "cert-bot")
	typedNil, zeroKey := good, good
	typedNil.Certificate.PrivateKey = (*rsa.PrivateKey)(nil)
	zeroKey.Certificate.PrivateKey = &rsa.PrivateKey{}
	for name, call := range map[string]func() error{
		"(&RSA{}).Token":          func() error { _, err := (&symauth.RSA{}).Token(ctx); return err },
		"(&Cert{}).Token":         func() error { _, err := (&symauth.Cert{}).Token(ctx); return err },
		"(&OBO{}).UserID":         func() error { _, err := (&symauth.OBO{}).UserID(1); return err },
		"(&OBO{}).Username":       func() error { _, err := (&symauth.OBO{}).Username("alice"); return err },
		"(&Session{}).Token":      func() error { _, err := (&symauth.Session{}).Token(ctx); return err },
		"(&extapp.App{}).PodCert": func() error { _, err := (&extapp.App{}).PodCertificate(ctx); return err },
		"(&extapp.App{}).Authent": func() error { _, err := (&extapp.App{}).Authenticate(ctx); return err },
		"NewCert, typed-nil key":  func() error { _, err := symauth.NewCert(typedNil); return err },
		"NewCert, zero key":       func() error { _, err := symauth.NewCert(zeroKey); return err },
		"NewOBO, typed-nil cert key": func() error {
			_, err := symauth.NewOBO(symauth.OBOConfig{SessionAuthURL: srv.URL, Certificate: typedNil.Certificate})
			return err
		},
		"a source of (nil, nil) behind a literal": func() error {
			tr := &symauth.Transport{Source: sourceFunc(func(context.Context) (*symauth.Token, error) { return nil, nil }), Base: srv.Client().Transport}
			_, err := (&http.Client{Transport: tr}).Get(srv.URL + symauthtest.PathSessionInfo)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("panicked: %v", r)
				}
			}()
			if err := call(); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if (&extapp.App{}).ValidateTokens("a", "b") {
		t.Fatal("a zero App validated tokens")
	}
}

// Behaviour 16: a caller whose context has already ended gets its error at
// once and starts no login.
func TestEndedContextStartsNoLogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		sess := symauth.NewSession(sourceFunc(func(context.Context) (*symauth.Token, error) {
			calls.Add(1)
			return &symauth.Token{SessionToken: "s"}, nil
		}))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for range 10 {
			if _, err := sess.Token(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v; want context.Canceled", err)
			}
		}
		synctest.Wait() // any login started would have run by now
		if n := calls.Load(); n != 0 {
			t.Fatalf("an ended context started %d login(s)", n)
		}
	})
}

// Behaviour 14 for the Goexit case without a child: the waiters are told at
// once, not at their own deadline.
func TestGoexitInSourceReachesWaitersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sess := symauth.NewSession(sourceFunc(func(context.Context) (*symauth.Token, error) { runtime.Goexit(); return nil, nil }))
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		start := time.Now()
		if _, err := sess.Token(ctx); err == nil || !strings.Contains(err.Error(), "runtime.Goexit") {
			t.Fatalf("err = %v", err)
		}
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("waited %v (virtual time) for a login that had ended", waited)
		}
	})
}

// Behaviour 13 with two endpoints that refuse every token (one missing
// entitlement covers several admin endpoints), called in turn: each is
// remembered on its own.
func TestTwoRefusingEndpointsCostNoLoginLoop(t *testing.T) {
	srv := newPod(t)
	client, _ := newBotClient(t, srv)
	a, b := "/pod/v1/admin/user/1/features", "/pod/v1/admin/user/2/features"
	srv.InjectFault(a, symauthtest.Fault{Status: http.StatusUnauthorized})
	srv.InjectFault(b, symauthtest.Fault{Status: http.StatusUnauthorized})
	for i := range 10 {
		path := a
		if i%2 == 1 {
			path = b
		}
		get(t, client, srv.URL+path)
	}
	if pod, _ := loginCalls(srv); pod > 3 {
		t.Fatalf("10 requests to 2 refusing endpoints: %d logins, %d session checks; want at most 3 logins",
			pod, srv.Calls(symauthtest.PathSessionInfo))
	}
}

// Behaviour 13 while the session check is slow: the 401s from the refusing
// endpoint that arrive meanwhile wait for its answer instead of logging in.
func TestRefusalCheckInFlightIsWaitedFor(t *testing.T) {
	srv := newPod(t)
	client, _ := newBotClient(t, srv)
	const blocked = "/pod/v1/admin/blocked"
	hold := make(chan struct{})
	checking := make(chan struct{}, 1)
	srv.InjectFault(symauthtest.PathSessionInfo, symauthtest.Fault{Hold: hold, Reached: checking, Times: 1})
	const requests = 5
	arrived := make(chan struct{}, 2+requests)
	srv.InjectFault(blocked, symauthtest.Fault{Status: http.StatusUnauthorized, Reached: arrived})
	done := make(chan error, requests)
	send := func() {
		resp, err := client.Get(srv.URL + blocked)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}
	go send()
	<-checking // the first request's replay was refused: its session check is held
	for range requests - 1 {
		go send()
	}
	for range 2 + requests - 1 { // the first request and its replay, then one each
		<-arrived
	}
	close(hold)
	for range requests {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if pod, _ := loginCalls(srv); pod != 2 {
		t.Fatalf("%d requests to one refusing endpoint while its session check was slow: %d logins; want 2", requests, pod)
	}
}

// Refresh is "force a login", not "the server rejected this token": a
// source whose token did not change (read from a vault, a fake in tests) may
// answer the same value again.
func TestRefreshOfAnUnchangedTokenIsNoFailure(t *testing.T) {
	src := sourceFunc(func(context.Context) (*symauth.Token, error) {
		return &symauth.Token{SessionToken: "from-the-vault"}, nil // a new *Token, the same value
	})
	sess := symauth.NewSession(src)
	ctx := context.Background()
	if _, err := sess.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sess.Refresh(ctx); err != nil {
		t.Errorf("Refresh: %v; want the source's token", err)
	}
	if _, err := sess.Token(ctx); err != nil {
		t.Errorf("Token after Refresh: %v; want the token, not the failure backoff", err)
	}
}

// panickingHandler is a user's slog.Handler with a bug.
type panickingHandler struct{ slog.Handler }

func (panickingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (panickingHandler) Handle(context.Context, slog.Record) error {
	panic("log shipper bug")
}

// A panicking Logger's error reaches the caller of a Transport too, without
// crashing it.
func TestPanickingLoggerBehindATransport(t *testing.T) {
	inChild(t, func(t *testing.T) {
		srv := newPod(t)
		src := sourceFunc(func(context.Context) (*symauth.Token, error) {
			return &symauth.Token{SessionToken: "s"}, nil
		})
		sess := symauth.NewSessionWithOptions(src, symauth.SessionOptions{Logger: slog.New(panickingHandler{})})
		client := &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}
		if _, err := client.Get(srv.URL + "/pod/v1/x"); err == nil || !strings.Contains(err.Error(), "log shipper bug") {
			t.Fatalf("err = %v; want the handler's panic as an error", err)
		}
	})
}

// panicOnCheck is a base (a tracing layer, a test fake) that panics on one
// call: the session check.
type panicOnCheck struct {
	next     http.RoundTripper
	panicked *atomic.Bool
}

func (p panicOnCheck) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, symauthtest.PathSessionInfo) && p.panicked.CompareAndSwap(false, true) {
		panic("tracer bug")
	}
	return p.next.RoundTrip(r)
}

// A session check that panics (a base's bug, recovered by the caller) still
// settles: later 401s of that endpoint do not wait for it.
func TestPanickingSessionCheckSettles(t *testing.T) {
	srv := newPod(t)
	sess := symauth.NewSession(newRSA(t, rsaConfig(srv)))
	client := &http.Client{Transport: symauth.NewTransport(sess, panicOnCheck{next: srv.Client().Transport, panicked: new(atomic.Bool)})}
	const blocked = "/pod/v1/admin/blocked"
	srv.InjectFault(blocked, symauthtest.Fault{Status: http.StatusUnauthorized})
	func() {
		defer func() { _ = recover() }()
		resp, err := client.Get(srv.URL + blocked)
		if err == nil {
			resp.Body.Close()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+blocked, nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case <-done:
	case <-time.After(12 * time.Second): // past maxCheckTime (10s)
		cancel()
		<-done
		t.Fatal("a request to the endpoint whose check never settled still waits after 12s (no deadline: forever)")
	}
	cancel()
}

// Past 64 remembered endpoints (one missing entitlement, per-user admin
// paths), the oldest memory makes room: a further refusing endpoint costs no
// login loop either.
func TestRefusalMemoryFullForgetsTheOldest(t *testing.T) {
	srv := newPod(t)
	client, _ := newBotClient(t, srv)
	path := func(i int) string { return fmt.Sprintf("/pod/v1/admin/user/%d/features", i) }
	for i := range 65 {
		srv.InjectFault(path(i), symauthtest.Fault{Status: http.StatusUnauthorized})
		get(t, client, srv.URL+path(i))
	}
	before, _ := loginCalls(srv)
	for range 10 {
		get(t, client, srv.URL+path(64))
	}
	if after, _ := loginCalls(srv); after-before > 1 {
		t.Fatalf("10 requests to the 65th refusing endpoint: %d logins; want at most 1", after-before)
	}
}

// A user the pod knew and now refuses (deactivated, app uninstalled for
// them) must not cost one app login per attempt.
func TestOBOKnownUserRefusedLaterCostsOneAppLogin(t *testing.T) {
	srv := newOBOPod(t)
	obo := newOBO(t, symauth.OBOConfig{PodURL: srv.URL, AppID: appID, PrivateKey: botKey(), HTTPClient: srv.Client(), Retry: fastRetry})
	alice := oboUsername(t, obo, "alice")
	if _, err := alice.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(symauthtest.PathOBOUsername("alice"), symauthtest.Fault{Status: http.StatusUnauthorized})
	for range 5 {
		if _, err := alice.Token(context.Background()); err == nil {
			t.Fatal("want the pod's 401")
		}
	}
	if apps := srv.Calls(symauthtest.PathAppLogin); apps > 2 {
		t.Fatalf("%d app logins for 5 attempts of one refused user; want at most 2", apps)
	}
}

// A caller that gives up during the agent check must not make the bot use
// the key manager for the next 240 s.
func TestSKDCheckOfAnEndedLoginIsNotRemembered(t *testing.T) {
	srv := newSKDPod(t, true, "Agent-25.1.0")
	cfg := rsaConfig(srv)
	cfg.AgentURL = srv.URL
	auth := newRSA(t, cfg)
	hold := make(chan struct{})
	defer close(hold)
	reached := make(chan struct{}, 1)
	srv.InjectFault(symauthtest.PathAgentInfo, symauthtest.Fault{Hold: hold, Reached: reached, Times: 1})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-reached; cancel() }()
	_, _ = auth.Token(ctx) // the caller gives up during the check
	srv.ResetCalls()
	for range 3 {
		if _, err := auth.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if _, km := loginCalls(srv); km != 0 {
		t.Fatalf("%d key manager logins on a pod where SKD applies, after one cancelled login; want 0", km)
	}
}
