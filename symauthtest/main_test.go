package symauthtest

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// fakeClock is an injectable clock, safe for concurrent use.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	// Far from the real clock, to prove Options.Now is what counts.
	return &fakeClock{now: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logSink collects Logf lines, safe for concurrent use.
type logSink struct {
	t     *testing.T
	mu    sync.Mutex
	lines []string
	ch    chan string // every line, if non-nil; never blocks
}

func (l *logSink) Logf(format string, args ...any) {
	line := strings.TrimSpace(fmt.Sprintf(format, args...))
	l.t.Log(line)
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	if l.ch != nil {
		select {
		case l.ch <- line:
		default:
		}
	}
}

func (l *logSink) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// waitLine waits for a line containing want.
func (l *logSink) waitLine(t *testing.T, want string) {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case line := <-l.ch:
			if strings.Contains(line, want) {
				return
			}
		case <-timeout.C:
			t.Fatalf("no log line containing %q; got %q", want, l.all())
		}
	}
}

// start starts a server closed at the end of the test.
func start(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// startLogged starts a server whose log goes to the returned sink.
func startLogged(t *testing.T, opts Options) (*Server, *logSink) {
	t.Helper()
	sink := &logSink{t: t, ch: make(chan string, 100)}
	opts.Logf = sink.Logf
	return start(t, opts), sink
}

// newUser registers a user with a new key.
func newUser(t *testing.T, s *Server, name string) *rsa.PrivateKey {
	t.Helper()
	key, err := s.NewUser(name)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// sign signs a login JWT with RS512 for sub, expiring at exp.
func sign(t *testing.T, key *rsa.PrivateKey, sub string, exp time.Time) string {
	t.Helper()
	return signClaims(t, jwt.SigningMethodRS512, key, jwt.MapClaims{"sub": sub, "exp": exp.Unix()})
}

func signClaims(t *testing.T, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// result is a read and closed response.
type result struct {
	status int
	header http.Header
	body   string
}

// do sends req with c and reads the whole answer; it fails the test on a
// transport error.
func do(t *testing.T, c *http.Client, req *http.Request) result {
	t.Helper()
	r, err := tryDo(c, req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func tryDo(c *http.Client, req *http.Request) (result, error) {
	resp, err := c.Do(req)
	if err != nil {
		return result{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, err
	}
	return result{status: resp.StatusCode, header: resp.Header, body: string(body)}, nil
}

func newRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// loginRequest makes a POST of {"token": jwt} to s.URL+path.
func loginRequest(t *testing.T, s *Server, path, jwtString string) *http.Request {
	t.Helper()
	body, err := json.Marshal(map[string]string{"token": jwtString})
	if err != nil {
		t.Fatal(err)
	}
	req := newRequest(t, http.MethodPost, s.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return req
}

// postLogin posts {"token": jwt} to s.URL+path.
func postLogin(t *testing.T, s *Server, path, jwtString string) result {
	t.Helper()
	return do(t, s.Client(), loginRequest(t, s, path, jwtString))
}

// login logs in on path and returns the token, checking the answer's name.
func login(t *testing.T, s *Server, path, jwtString string) string {
	t.Helper()
	r := postLogin(t, s, path, jwtString)
	if r.status != http.StatusOK {
		t.Fatalf("login on %s: %d %s", path, r.status, r.body)
	}
	return tokenOf(t, r, map[string]string{PathLogin: "sessionToken", PathRelay: "keyManagerToken"}[path])
}

// tokenOf decodes a login answer and checks its name.
func tokenOf(t *testing.T, r result, wantName string) string {
	t.Helper()
	var a loginAnswer
	if err := json.Unmarshal([]byte(r.body), &a); err != nil {
		t.Fatalf("login answer %q: %v", r.body, err)
	}
	if a.Name != wantName || a.Token == "" {
		t.Fatalf("login answer %q: want name %q and a token", r.body, wantName)
	}
	return a.Token
}

// loginBoth logs name in on the pod and key manager with key.
func loginBoth(t *testing.T, s *Server, key *rsa.PrivateKey, name string) (session, km string) {
	t.Helper()
	j := sign(t, key, name, s.now().Add(4*time.Minute))
	return login(t, s, PathLogin, j), login(t, s, PathRelay, j)
}

// get sends GET s.URL+path with the given token headers ("" omits one).
func get(t *testing.T, s *Server, path, session, km string) result {
	t.Helper()
	req := newRequest(t, http.MethodGet, s.URL+path, nil)
	setTokens(req, session, km)
	return do(t, s.Client(), req)
}

func setTokens(req *http.Request, session, km string) {
	if session != "" {
		req.Header.Set(headerSessionToken, session)
	}
	if km != "" {
		req.Header.Set(headerKeyManagerToken, km)
	}
}

// wantError checks an answer's status and that its JSON error message
// contains msg.
func wantError(t *testing.T, r result, status int, msg string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (body %s)", r.status, status, r.body)
	}
	var e apiError
	if err := json.Unmarshal([]byte(r.body), &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if e.Code != status || !strings.Contains(e.Message, msg) {
		t.Fatalf("error body %q: want code %d and a message containing %q", r.body, status, msg)
	}
}

// http1Client returns a client of s that speaks only HTTP/1.1, closed at the
// end of the test.
func http1Client(t *testing.T, s *Server, certs ...tls.Certificate) *http.Client {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool(), Certificates: certs}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}
