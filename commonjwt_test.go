package symauth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

// commonJWTPod starts a server on a fake clock, with bearer tokens living one
// minute, and returns it with the clock.
func commonJWTPod(t testing.TB) (*symauthtest.Server, *testkit.Clock) {
	t.Helper()
	clock := testkit.NewClock()
	srv, err := symauthtest.Start(symauthtest.Options{Now: clock.Now, BearerLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if _, err := srv.RegisterUser(botName, botKey().Public()); err != nil {
		t.Fatal(err)
	}
	return srv, clock
}

// commonJWTClient is an RSA bot client with Common JWT, its Session on clock.
func commonJWTClient(t testing.TB, srv *symauthtest.Server, clock *testkit.Clock, base http.RoundTripper, agent ...*recordingServer) (*http.Client, *symauth.Session) {
	t.Helper()
	cfg := rsaConfig(srv)
	for _, a := range agent {
		cfg = withAgent(cfg, a)
	}
	cfg.CommonJWT = true
	sess := symauth.NewSession(newRSA(t, cfg))
	symauth.SetSessionClock(sess, clock.Now)
	return &http.Client{Transport: symauth.NewTransport(sess, base)}, sess
}

// Requests carry Authorization: Bearer instead of sessionToken; the agent
// still gets keyManagerToken.
func TestCommonJWTHeaders(t *testing.T) {
	srv, clock := commonJWTPod(t)
	api := newRecordingServer(t, nil)
	client, sess := commonJWTClient(t, srv, clock, trustingTransport(t, srv, api), api)
	tok, err := sess.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !tok.CommonJWT || !strings.HasPrefix(tok.AuthorizationToken, "Bearer ") || tok.Expiry.Sub(clock.Now()) > time.Minute {
		t.Fatalf("token %v; want a Common JWT token expiring within a minute", tok)
	}
	req, _ := http.NewRequest(http.MethodGet, api.URL+"/agent/v5/datafeeds", nil)
	req.Header.Set("Authorization", "Bearer stale")
	req.Header.Set("sessionToken", "")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	headers, _ := api.requests()
	h := headers[0]
	if got := h.Values("Authorization"); len(got) != 1 || got[0] != tok.AuthorizationToken {
		t.Fatalf("Authorization: %d values; want exactly the bearer token", len(got))
	}
	if tokenValues(h, symauth.HeaderSessionToken) != nil {
		t.Fatal("sessionToken sent in Common JWT mode")
	}
	if got := tokenValues(h, symauth.HeaderKeyManagerToken); len(got) != 1 {
		t.Fatal("no keyManagerToken on the agent call")
	}
}

// The bearer token is renewed before its expiry, once, however many requests
// are in flight; the pod and agent accept the renewed token.
func TestCommonJWTRenewedOnceBeforeExpiry(t *testing.T) {
	srv, clock := commonJWTPod(t)
	client, sess := commonJWTClient(t, srv, clock, srv.Client().Transport)
	if status, body := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	first, _ := sess.Token(context.Background())
	clock.Advance(56 * time.Second) // 4 s before the bearer's exp: inside the 5 s leeway

	var wg sync.WaitGroup
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := symauthtest.PathSessionInfo
			if i%2 == 1 {
				path = symauthtest.PathDatafeeds
			}
			if status, body := get(t, client, srv.URL+path); status != http.StatusOK {
				t.Errorf("%s: %d %s", path, status, body)
			}
		}()
	}
	wg.Wait()
	if got := srv.Calls(symauthtest.PathIDMTokens); got != 1 {
		t.Fatalf("bearer renewals: %d; want 1", got)
	}
	if pod, _ := loginCalls(srv); pod != 1 {
		t.Fatalf("logins: %d; want 1 (renewal is not a login)", pod)
	}
	second, _ := sess.Token(context.Background())
	if second.AuthorizationToken == first.AuthorizationToken || second.SessionToken != first.SessionToken || !second.Expiry.After(first.Expiry) {
		t.Fatal("the renewal did not give a new bearer token for the same session")
	}
}

// When the pod refuses the session at /login/idm/tokens, a full login follows.
func TestCommonJWTRenewalFallsBackToLogin(t *testing.T) {
	srv, clock := commonJWTPod(t)
	client, _ := commonJWTClient(t, srv, clock, srv.Client().Transport)
	get(t, client, srv.URL+symauthtest.PathSessionInfo)
	srv.RevokeSessions()
	clock.Advance(58 * time.Second)
	if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
		t.Fatalf("after a refused renewal: %d", status)
	}
	if idm, pod := srv.Calls(symauthtest.PathIDMTokens), srv.Calls(symauthtest.PathLogin); idm != 1 || pod != 2 {
		t.Fatalf("renewals %d, logins %d; want 1 refused renewal and 2 logins", idm, pod)
	}
}

// A pod without Common JWT gets a clear error, not a silent fallback.
func TestCommonJWTWithoutBearerFromPod(t *testing.T) {
	srv := newPod(t)
	srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusOK, Body: `{"name":"sessionToken","token":"abc"}`})
	cfg := rsaConfig(srv)
	cfg.CommonJWT = true
	_, err := newRSA(t, cfg).Token(context.Background())
	var authErr *symauth.AuthError
	if !errors.As(err, &authErr) || !strings.Contains(authErr.Message, "no authorizationToken") {
		t.Fatalf("err = %v", err)
	}
}

// A certificate bot with Common JWT needs the pod's URL.
func TestCertCommonJWT(t *testing.T) {
	srv, clock := commonJWTPod(t)
	cfg := certConfig(t, srv, "cert-bot")
	cfg.CommonJWT = true
	if _, err := symauth.NewCert(cfg); err == nil || !strings.Contains(err.Error(), "CertConfig.PodURL is missing") {
		t.Fatalf("err = %v", err)
	}
	cfg.PodURL = srv.URL
	sess := symauth.NewSession(mustCert(t, cfg))
	symauth.SetSessionClock(sess, clock.Now)
	client := &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}
	get(t, client, srv.URL+symauthtest.PathSessionInfo)
	clock.Advance(57 * time.Second)
	if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
		t.Fatalf("after renewal: %d", status)
	}
	if got := srv.Calls(symauthtest.PathIDMTokens); got != 1 {
		t.Fatalf("renewals: %d", got)
	}
}

// As BDK Java does, a 401 to a request in Common JWT mode renews the bearer
// first, through /login/idm/tokens, and logs in again only if the pod refuses
// the session there.
func TestCommonJWT401RenewsTheBearerFirst(t *testing.T) {
	srv, clock := commonJWTPod(t)
	client, _ := commonJWTClient(t, srv, clock, srv.Client().Transport)
	get(t, client, srv.URL+symauthtest.PathSessionInfo)
	srv.InjectFault(symauthtest.PathSessionInfo, symauthtest.Fault{Status: http.StatusUnauthorized, Times: 1})
	if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
		t.Fatalf("status %d; want the replay's 200", status)
	}
	if renewals, logins := srv.Calls(symauthtest.PathIDMTokens), srv.Calls(symauthtest.PathLogin); renewals != 1 || logins != 1 {
		t.Fatalf("%d renewals and %d logins; want 1 renewal and only the first login", renewals, logins)
	}
	srv.RevokeSessions() // now the session itself ends: the renewal is refused, a login follows
	if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
		t.Fatalf("after the session ended: %d", status)
	}
	if logins := srv.Calls(symauthtest.PathLogin); logins != 2 {
		t.Fatalf("%d logins; want 2", logins)
	}
}
