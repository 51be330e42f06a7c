package symauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

// scriptedSource is a TokenSource whose answers a test decides: each call takes
// the next error from errs (nil: success) and returns a new token.
type scriptedSource struct {
	mu     sync.Mutex
	calls  int
	errs   []error
	expiry time.Duration // if non-zero, tokens expire this long after issue
	gate   chan struct{} // if non-nil, each call waits for it to be closed
}

func (s *scriptedSource) Token(ctx context.Context) (*symauth.Token, error) {
	if s.gate != nil {
		select {
		case <-s.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		if err != nil {
			return nil, err
		}
	}
	tok := &symauth.Token{SessionToken: fmt.Sprintf("session-%d", s.calls)}
	if s.expiry != 0 {
		tok.Expiry = time.Now().Add(s.expiry)
	}
	return tok, nil
}

func (s *scriptedSource) callCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

func mustToken(t *testing.T, s symauth.TokenSource) *symauth.Token {
	t.Helper()
	tok, err := s.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSessionCachesUntilInvalidated(t *testing.T) {
	src := &scriptedSource{}
	sess := symauth.NewSession(src)
	first := mustToken(t, sess)
	if again := mustToken(t, sess); again != first || src.callCount() != 1 {
		t.Fatalf("second Token: %v after %d logins; want the cached token", again.SessionToken, src.callCount())
	}
	sess.Invalidate(nil)
	sess.Invalidate(&symauth.Token{SessionToken: "someone else's"})
	if mustToken(t, sess) != first {
		t.Fatal("Invalidate of another token dropped the cached one")
	}
	sess.Invalidate(&symauth.Token{SessionToken: first.SessionToken}) // a copy counts
	second := mustToken(t, sess)
	if second == first || src.callCount() != 2 {
		t.Fatalf("after Invalidate: %d logins; want 2", src.callCount())
	}
	sess.Invalidate(first) // late: already replaced
	if mustToken(t, sess) != second || src.callCount() != 2 {
		t.Fatal("a late Invalidate of the old token caused a login")
	}
}

func TestSessionConcurrentCallersShareOneLogin(t *testing.T) {
	src := &scriptedSource{gate: make(chan struct{})}
	sess := symauth.NewSession(src)
	const n = 500
	var wg sync.WaitGroup
	tokens := make([]*symauth.Token, n)
	var started sync.WaitGroup
	started.Add(n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			started.Done()
			tok, err := sess.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		}()
	}
	started.Wait()
	close(src.gate)
	wg.Wait()
	for i := range tokens {
		if tokens[i] != tokens[0] {
			t.Fatalf("caller %d got another token", i)
		}
	}
	if got := src.callCount(); got != 1 {
		t.Fatalf("%d logins; want 1", got)
	}
}

func TestSessionRefreshesBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &scriptedSource{expiry: time.Minute}
		sess := symauth.NewSession(src)
		first := mustToken(t, sess)
		time.Sleep(54 * time.Second) // virtual time: 6 s before expiry
		if mustToken(t, sess) != first {
			t.Fatal("refreshed more than 5 s before expiry")
		}
		time.Sleep(2 * time.Second) // 4 s before expiry
		if mustToken(t, sess) == first || src.callCount() != 2 {
			t.Fatal("not refreshed within 5 s of expiry")
		}
	})
}

// refreshingSource is a user's TokenSource that happens to have a method
// named like the renewal of this package's sources.
type refreshingSource struct {
	scriptedSource
	refreshes int
}

func (r *refreshingSource) Refresh(context.Context, *symauth.Token) (*symauth.Token, error) {
	r.refreshes++
	return &symauth.Token{SessionToken: "from-refresh", Expiry: time.Now().Add(time.Hour)}, nil
}

// A user's source with a Refresh(ctx, *Token) method is renewed like any
// other, by a new Token call: a method that happens to share a name is no
// hidden contract.
func TestSessionIgnoresUsersRefreshMethod(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		src := &refreshingSource{scriptedSource: scriptedSource{expiry: time.Minute}}
		sess := symauth.NewSession(src)
		first := mustToken(t, sess)
		time.Sleep(56 * time.Second) // virtual time: 4 s before expiry
		second := mustToken(t, sess)
		if second == first || second.SessionToken != "session-2" || src.refreshes != 0 || src.callCount() != 2 {
			t.Fatalf("renewed to %v with %d Refresh and %d Token calls; want a second Token call and no Refresh",
				second.SessionToken, src.refreshes, src.callCount())
		}
	})
}

// Behaviour 6: after failures, logins wait 1 s, 2 s, 4 s … up to 30 s; calls in
// the window fail at once with the last error; a success resets the delay.
func TestSessionFailureBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		loginErr := &symauth.AuthError{Endpoint: "/login/pubkey/authenticate", StatusCode: 503}
		src := &scriptedSource{errs: make([]error, 8)}
		for i := range src.errs {
			src.errs[i] = loginErr
		}
		sess := symauth.NewSession(src)
		wantDelays := []time.Duration{1, 2, 4, 8, 16, 30, 30}
		for i, d := range wantDelays {
			d *= time.Second
			if _, err := sess.Token(context.Background()); !errors.Is(err, loginErr) {
				t.Fatalf("failure %d: err = %v", i+1, err)
			}
			calls := src.callCount()
			time.Sleep(d - time.Millisecond)
			_, err := sess.Token(context.Background())
			var authErr *symauth.AuthError
			if !errors.As(err, &authErr) || src.callCount() != calls {
				t.Fatalf("after failure %d, %v into a %v backoff: err=%v, logins %d→%d; want a fast failure", i+1, d-time.Millisecond, d, err, calls, src.callCount())
			}
			time.Sleep(time.Millisecond)
		}
		// The 8th login fails; then success resets the delay to 1 s.
		if _, err := sess.Token(context.Background()); err == nil {
			t.Fatal("8th login: want a failure")
		}
		time.Sleep(30 * time.Second)
		mustToken(t, sess)
		sess.Invalidate(mustToken(t, sess))
		src.mu.Lock()
		src.errs = []error{loginErr}
		src.mu.Unlock()
		if _, err := sess.Token(context.Background()); err == nil {
			t.Fatal("want a failure")
		}
		time.Sleep(time.Second)
		mustToken(t, sess)
	})
}

func TestSessionSourceReturningNothing(t *testing.T) {
	sess := symauth.NewSession(nilSource{})
	if _, err := sess.Token(context.Background()); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Fatalf("err = %v; want a clear error", err)
	}
}

type nilSource struct{}

func (nilSource) Token(context.Context) (*symauth.Token, error) { return nil, nil }

// Behaviour 6 through the Transport against a real server: during the backoff
// requests fail fast with *AuthError and the pod sees no login, then they
// recover when the pod does.
func TestTransportFailsFastDuringBackoff(t *testing.T) {
	srv := newPod(t)
	srv.InjectFault("/login/pubkey/authenticate", symauthtest.Fault{Status: http.StatusServiceUnavailable})
	sess := symauth.NewSession(newRSA(t, rsaConfig(srv)))
	clock := testkit.NewClock()
	symauth.SetSessionClock(sess, clock.Now)
	client := &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}

	for range 3 {
		_, err := client.Get(srv.URL + "/pod/v2/sessioninfo")
		var authErr *symauth.AuthError
		if !errors.As(err, &authErr) || authErr.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("err = %v; want *AuthError with 503", err)
		}
	}
	attempts := srv.Calls("/login/pubkey/authenticate")
	if attempts != 5 { // one login, retried: 5 attempts
		t.Fatalf("login attempts: %d; want 5 (one login, retried), the other requests failing fast", attempts)
	}
	srv.ClearFaults()
	clock.Advance(time.Second)
	if status, _ := get(t, client, srv.URL+"/pod/v2/sessioninfo"); status != http.StatusOK {
		t.Fatalf("after the backoff: %d; want 200", status)
	}
}

// Behaviour 8: a Token never shows its values, whatever prints it.
func TestTokenNeverPrinted(t *testing.T) {
	tok := symauth.Token{
		SessionToken:       "eyJhbGciOiJSUzUxMiJ9.c2Vzc2lvbi1zZWNyZXQ.c2ln",
		KeyManagerToken:    "0123456789abcdefkmsecret",
		AuthorizationToken: "Bearer eyJhbGciOiJSUzI1NiJ9.YXV0aC1zZWNyZXQ.c2ln",
		Expiry:             time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	secrets := []string{"c2Vzc2lvbi1zZWNyZXQ", "kmsecret", "YXV0aC1zZWNyZXQ"}
	var outputs []string
	for _, format := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.3v", "%T"} {
		outputs = append(outputs, fmt.Sprintf(format, tok), fmt.Sprintf(format, &tok))
	}
	outputs = append(outputs, fmt.Sprint(tok), fmt.Sprintln(&tok), tok.String(), tok.GoString())
	outputs = append(outputs, fmt.Sprintf("%+v", struct{ T symauth.Token }{tok}), fmt.Sprintf("%v", []*symauth.Token{&tok}))
	js, err := json.Marshal(struct{ T symauth.Token }{tok})
	if err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, string(js))
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("login", "token", tok, "ptr", &tok)
	slog.New(slog.NewTextHandler(&logs, nil)).Info("login", "token", tok)
	outputs = append(outputs, logs.String())

	for _, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Fatalf("output shows a token: %s", out)
			}
		}
	}
	if !strings.Contains(logs.String(), "[redacted]") || !strings.Contains(tok.String(), "2030-01-02") {
		t.Fatalf("redacted output should say what is there: %s / %s", logs.String(), tok.String())
	}
	if s := (symauth.Token{}).String(); !strings.Contains(s, "SessionToken:none") {
		t.Fatalf("empty token: %s", s)
	}
}

func TestSessionString(t *testing.T) {
	sess := symauth.NewSession(&scriptedSource{})
	if s := fmt.Sprint(sess); s != "symauth.Session{no token}" {
		t.Fatalf("%s", s)
	}
	mustToken(t, sess)
	if s := fmt.Sprintf("%v %#v", sess, sess); strings.Contains(s, "session-1") || !strings.Contains(s, "token cached") {
		t.Fatalf("%s", s)
	}
}
