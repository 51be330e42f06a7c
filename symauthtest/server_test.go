package symauthtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestNewServerServesTLSOnLoopback(t *testing.T) {
	s := NewServer()
	defer s.Close()
	u, err := url.Parse(s.URL)
	if err != nil || u.Scheme != "https" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
		t.Fatalf("URL = %q", s.URL)
	}
	if c1, c2 := s.Client(), s.Client(); c1 != c2 {
		t.Error("Client is not the same client on every call")
	}
	// The same server under another host name (for cross-host tests).
	r := do(t, s.Client(), newRequest(t, http.MethodGet, "https://localhost:"+u.Port()+PathAgentInfo, nil))
	if r.status != http.StatusOK {
		t.Errorf("via localhost: %d", r.status)
	}

	block, _ := pem.Decode(s.CACertPEM())
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatal("CACertPEM is not a PEM certificate")
	}
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil || !ca.IsCA {
		t.Fatalf("CA certificate: %v", err)
	}
	pem := s.CACertPEM()
	pem[0] = 'X'
	if s.CACertPEM()[0] == 'X' {
		t.Error("CACertPEM returns the server's own slice")
	}
}

func TestServerCertificateNames(t *testing.T) {
	a, err := newAuthority()
	if err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]string{"": "", "0.0.0.0": "", "::1": "", "10.1.2.3": "10.1.2.3", "pod.test": "pod.test", "localhost": ""} {
		cert, err := a.serverCertificate(host)
		if err != nil {
			t.Fatal(err)
		}
		leaf := cert.Leaf
		names := []string{"127.0.0.1", "::1", "localhost"}
		if want != "" {
			names = append(names, want)
		}
		for _, n := range names {
			if err := leaf.VerifyHostname(n); err != nil {
				t.Errorf("listen host %q: %v", host, err)
			}
		}
		if got := len(leaf.DNSNames) + len(leaf.IPAddresses); got != len(names) {
			t.Errorf("listen host %q: %d names, want %d", host, got, len(names))
		}
	}
}

func TestStartOptions(t *testing.T) {
	if _, err := Start(Options{Addr: "no-port"}); err == nil {
		t.Error("Start with a bad address succeeded")
	}
	if _, err := Start(Options{Addr: "256.0.0.1:0"}); err == nil {
		t.Error("Start on an impossible address succeeded")
	}
	s := start(t, Options{Addr: ":0"})
	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") {
		t.Errorf("URL for an unspecified address = %q", s.URL)
	}
	if r := get(t, s, PathAgentInfo, "", ""); r.status != http.StatusOK {
		t.Errorf("info: %d", r.status)
	}
	if got := dialAddr(&net.UnixAddr{Name: "/tmp/x", Net: "unix"}); got != "/tmp/x" {
		t.Errorf("dialAddr(unix) = %q", got)
	}
}

func TestMustStartPanicsOnError(t *testing.T) {
	// NewServer only fails when the loopback cannot be listened on; check the
	// panic path through Start's error instead.
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	mustStart(Options{Addr: "bad"})
}

func TestUsers(t *testing.T) {
	s := start(t, Options{})
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := newUser(t, s, "a")
	for _, tc := range []struct {
		name string
		pub  any
		want string
	}{
		{"", &key.PublicKey, "empty username"},
		{"x", ec.Public(), "*ecdsa.PublicKey"},
		{"x", key, "pass its Public()"},
		{"x", nil, "<nil>"},
	} {
		if _, err := s.RegisterUser(tc.name, tc.pub); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RegisterUser(%q, %T) = %v, want an error containing %q", tc.name, tc.pub, err, tc.want)
		}
	}
	if _, err := s.NewUser(""); err == nil {
		t.Error("NewUser with an empty name succeeded")
	}
	if _, err := s.IssueClientCertificate(""); err == nil {
		t.Error("IssueClientCertificate with an empty name succeeded")
	}
	idA, _ := s.RegisterUser("a", &key.PublicKey)
	idB, _ := s.RegisterUser("b", &key.PublicKey)
	if idA < 349026222342000 || idB == idA {
		t.Errorf("ids %d and %d", idA, idB)
	}

	// Re-registering replaces the key: the old key no longer logs in.
	newKey := newUser(t, s, "a")
	if id, _ := s.RegisterUser("a", &newKey.PublicKey); id != idA {
		t.Errorf("re-registered id %d, want %d", id, idA)
	}
	wantError(t, postLogin(t, s, PathLogin, sign(t, key, "a", time.Now().Add(time.Minute))), http.StatusUnauthorized, "signature")
	login(t, s, PathLogin, sign(t, newKey, "a", time.Now().Add(time.Minute)))
}

func TestConcurrentLogins(t *testing.T) {
	s := start(t, Options{SessionLifetime: time.Hour})
	key := newUser(t, s, "bot")
	j := sign(t, key, "bot", time.Now().Add(4*time.Minute)) // a JWT may be reused
	const n = 200
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		tokens = map[string]bool{}
		errs   = make(chan string, n)
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := PathLogin
			if i%2 == 1 {
				path = PathRelay
			}
			r, err := tryDo(s.Client(), loginRequest(t, s, path, j))
			if err != nil || r.status != http.StatusOK {
				errs <- "login failed"
				return
			}
			mu.Lock()
			tokens[r.body] = true
			mu.Unlock()
			if i%10 == 0 {
				s.RevokeSessions()
				s.SetSessionLifetime(time.Hour)
				s.Calls(path)
				s.InjectFault("/y", Fault{Status: 500, Times: 1})
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if len(tokens) != n {
		t.Errorf("%d distinct answers for %d logins", len(tokens), n)
	}
	if got := s.Calls(PathLogin) + s.Calls(PathRelay); got != n {
		t.Errorf("Calls = %d", got)
	}
}

func TestCloseReleasesHeldRequests(t *testing.T) {
	logs := &logSink{t: t}
	s, err := Start(Options{Logf: logs.Logf})
	if err != nil {
		t.Fatal(err)
	}
	reached := make(chan struct{}, 2)
	never := make(chan struct{})
	s.InjectFault(PathAgentInfo, Fault{Hold: never, Reached: reached})
	s.InjectFault(PathHealth, Fault{Delay: time.Hour, Reached: reached})
	c1 := http1Client(t, s)
	errc := make(chan error, 2)
	for _, c := range []struct {
		client *http.Client
		path   string
	}{{c1, PathAgentInfo}, {s.Client(), PathHealth}} {
		req := newRequest(t, http.MethodGet, s.URL+c.path, nil)
		go func() {
			r, err := tryDo(c.client, req)
			if err == nil && r.status == http.StatusOK {
				err = errNoError
			}
			errc <- err
		}()
	}
	<-reached
	<-reached
	s.Close()
	s.Close() // harmless
	for range 2 {
		if err := <-errc; err == nil || err == errNoError {
			t.Errorf("held request after Close: %v", err)
		}
	}
	c1.CloseIdleConnections()
	goleak.VerifyNone(t)
	ended := 0
	for _, line := range logs.all() {
		if strings.Contains(line, "ended early") {
			ended++
		}
	}
	if ended != 2 {
		t.Errorf("%d lines about waits ended by Close, want 2: %q", ended, logs.all())
	}

	// Calls after Close fail to connect; methods stay usable.
	if _, err := tryDo(s.Client(), newRequest(t, http.MethodGet, s.URL+PathAgentInfo, nil)); err == nil {
		t.Error("request after Close succeeded")
	}
	s.InjectFault("/z", Fault{})
	s.RevokeSessions()
	_ = s.Calls("/z")
}

// errNoError marks a request that unexpectedly succeeded.
var errNoError = errors.New("request succeeded")

func TestLogfNotCalledAfterClose(t *testing.T) {
	var mu sync.Mutex
	closed := false
	s, err := Start(Options{Logf: func(string, ...any) {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			t.Error("Logf called after Close")
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	get(t, s, "/nothing", "", "")
	// A TLS handshake failure goes to Logf too.
	tr := &http.Transport{}
	if _, err := tryDo(&http.Client{Transport: tr}, newRequest(t, http.MethodGet, s.URL, nil)); err == nil {
		t.Error("untrusting client connected")
	}
	tr.CloseIdleConnections()
	s.Close()
	mu.Lock()
	closed = true
	mu.Unlock()
	s.logf("after close")
}
