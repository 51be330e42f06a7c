package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/symauth/symauth"
)

// noTokens is a TokenSource that never gives one: the path tests need no login.
type noTokens struct{}

func (noTokens) Token(context.Context) (*symauth.Token, error) { return nil, errors.New("no token") }

// recordingOrigin is an upstream that records the request target of each
// request it gets, as a Java pod (Tomcat, Jetty) would receive it.
type recordingOrigin struct {
	mu   sync.Mutex
	seen []string
}

func (o *recordingOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	o.mu.Lock()
	o.seen = append(o.seen, r.RequestURI)
	o.mu.Unlock()
	w.WriteHeader(http.StatusTeapot)
}

func (o *recordingOrigin) take() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.seen
	o.seen = nil
	return s
}

// A path whose segments a Java or Windows origin normalises to ".." is not
// clean either: "..;" (Tomcat and Spring drop the path parameter, so
// /pod/..;/login is /login), a backslash (IIS, some gateways), or a
// double-encoded dot. None of these may reach the origin: the proxy's 404 is
// its only defence that "nothing else is forwarded".
func TestReview17PathNormalisedByOrigin(t *testing.T) {
	up := &recordingOrigin{}
	origin := httptest.NewServer(up)
	defer origin.Close()
	h, err := newProxyHandler(proxyConfig{pod: origin.URL, agent: origin.URL, transport: http.DefaultTransport, source: noTokens{}, maxBody: 1 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(h)
	defer ps.Close()
	for _, line := range []string{
		"GET /pod/..;/login/pubkey/authenticate HTTP/1.1",
		"GET /pod/v1/..;/..;/login/pubkey/authenticate HTTP/1.1",
		"GET /agent/..;/pod/v2/sessioninfo HTTP/1.1",
		"GET /pod/..%3B/login/pubkey/authenticate HTTP/1.1",
		"GET /pod/..%5C..%5Clogin/pubkey/authenticate HTTP/1.1",
		"GET /pod/%252e%252e/login/pubkey/authenticate HTTP/1.1",
		"GET /pod/..\\..\\login/pubkey/authenticate HTTP/1.1",
	} {
		status, body := rawRequest(t, ps.URL, line)
		if seen := up.take(); len(seen) > 0 || status != http.StatusNotFound {
			t.Errorf("%s: %d %s; the origin received %q; want 404 and nothing forwarded", line, status, strings.TrimSpace(body), seen)
		}
	}
}
