package symauthtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// newApp registers an app with a new key.
func newApp(t *testing.T, s *Server, appID string) *rsa.PrivateKey {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterApp(appID, &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	return key
}

// appLogin logs appID in with RSA and returns the app session token.
func appLogin(t *testing.T, s *Server, key *rsa.PrivateKey, appID string) string {
	t.Helper()
	r := postLogin(t, s, PathAppLogin, sign(t, key, appID, s.now().Add(4*time.Minute)))
	if r.status != http.StatusOK {
		t.Fatalf("app login: %d %s", r.status, r.body)
	}
	if strings.Contains(r.body, "authorizationToken") {
		t.Errorf("app login answer carries a bearer token: %s", r.body)
	}
	return tokenOf(t, r, "sessionToken")
}

func TestAppRegistry(t *testing.T) {
	s := start(t, Options{})
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key := newUser(t, s, "alice")
	for _, tc := range []struct {
		id   string
		pub  any
		want string
	}{
		{"", &key.PublicKey, "empty app id"},
		{"x", ec.Public(), "*ecdsa.PublicKey"},
		{"x", key, "pass its Public()"},
		{"x", nil, "<nil>"},
	} {
		if err := s.RegisterApp(tc.id, tc.pub); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RegisterApp(%q, %T) = %v, want an error containing %q", tc.id, tc.pub, err, tc.want)
		}
	}
	if _, err := s.IssueAppCertificate(""); err == nil {
		t.Error("IssueAppCertificate with an empty id succeeded")
	}
	if err := s.InstallApp("ghost-app", "alice"); err == nil || !strings.Contains(err.Error(), `unknown app "ghost-app"`) {
		t.Errorf("InstallApp of an unknown app = %v", err)
	}
	newApp(t, s, "app")
	if err := s.InstallApp("app", "alice", "ghost"); err == nil || !strings.Contains(err.Error(), `unknown user "ghost"`) {
		t.Errorf("InstallApp for an unknown user = %v", err)
	}
	if a := s.apps.lookup("app"); len(a.installed) != 0 {
		t.Errorf("a failed InstallApp installed %v", a.installed)
	}
	if err := s.InstallApp("app"); err != nil {
		t.Errorf("InstallApp for nobody: %v", err)
	}

	id, ok := s.UserID("alice")
	if want, _ := s.RegisterUser("alice", &key.PublicKey); !ok || id != want {
		t.Errorf("UserID = %d, %v; want %d", id, ok, want)
	}
	if _, ok := s.UserID("ghost"); ok {
		t.Error("UserID of an unknown user")
	}

	// An app id may equal a username: they are separate.
	newApp(t, s, "alice")
	if got, _ := s.UserID("alice"); got != id {
		t.Errorf("registering an app changed the user's id")
	}
}

func TestAppRSALogin(t *testing.T) {
	clock := newFakeClock()
	s, logs := startLogged(t, Options{Now: clock.Now})
	key := newApp(t, s, "my-app")
	userKey := newUser(t, s, "alice")
	if _, err := s.IssueAppCertificate("cert-only-app"); err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	st := appLogin(t, s, key, "my-app")
	logs.waitLine(t, `app login ok: app "my-app" on /login/pubkey/app/authenticate (RSA, app session)`)

	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(st, claims); err != nil {
		t.Fatal(err)
	}
	if claims["sub"] != "my-app" || claims["userId"] != nil || claims["sessionId"] == nil {
		t.Errorf("app session claims = %v", claims)
	}

	for _, tt := range []struct {
		name, jwt, want string
	}{
		{"unknown app", sign(t, key, "other-app", now.Add(time.Minute)), `unknown app "other-app"`},
		{"a user is not an app", sign(t, userKey, "alice", now.Add(time.Minute)), `unknown app "alice"`},
		{"wrong key", sign(t, userKey, "my-app", now.Add(time.Minute)), `signature does not verify with the public key registered for app "my-app"`},
		{"app without RSA key", sign(t, key, "cert-only-app", now.Add(time.Minute)), `app "cert-only-app" has no RSA public key`},
		{"exp too far ahead", sign(t, key, "my-app", now.Add(6*time.Minute)), "more than the 5 minutes"},
		{"expired", sign(t, key, "my-app", now.Add(-time.Minute)), "expired"},
		{"RS256", signClaims(t, jwt.SigningMethodRS256, key, jwt.MapClaims{"sub": "my-app", "exp": now.Add(time.Minute).Unix()}), "accepts only RS512"},
		{"no sub", signClaims(t, jwt.SigningMethodRS512, key, jwt.MapClaims{"exp": now.Add(time.Minute).Unix()}), "no sub claim naming the app"},
		{"empty", "", "has no token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, postLogin(t, s, PathAppLogin, tt.jwt), http.StatusUnauthorized, tt.want)
			logs.waitLine(t, "refused POST "+PathAppLogin+": ")
		})
	}
	// The app's JWT does not log a user in.
	wantError(t, postLogin(t, s, PathLogin, sign(t, key, "my-app", now.Add(time.Minute))), http.StatusUnauthorized, `unknown user "my-app"`)
	// Request checks are those of the user login.
	wantError(t, do(t, s.Client(), newRequest(t, http.MethodGet, s.URL+PathAppLogin, nil)), http.StatusMethodNotAllowed, "use POST")
	req := loginRequest(t, s, PathAppLogin, "x")
	req.Header.Set("Content-Type", "text/plain")
	wantError(t, do(t, s.Client(), req), http.StatusUnsupportedMediaType, "application/json")

	// An app session is not a user session.
	wantError(t, get(t, s, PathSessionInfo, st, ""), http.StatusUnauthorized, "Invalid session")
	logs.waitLine(t, "the session token is an app session")
	wantError(t, get(t, s, PathDatafeeds, st, ""), http.StatusUnauthorized, "Invalid session")

	// Re-registering replaces the key.
	newKey := newApp(t, s, "my-app")
	wantError(t, postLogin(t, s, PathAppLogin, sign(t, key, "my-app", now.Add(time.Minute))), http.StatusUnauthorized, "signature")
	appLogin(t, s, newKey, "my-app")
	for _, line := range logs.all() {
		if strings.Contains(line, st) {
			t.Fatalf("log line holds a token: %s", line)
		}
	}
}

func TestAppCertLogin(t *testing.T) {
	s, logs := startLogged(t, Options{})
	key := newApp(t, s, "cert-app")
	cert, err := s.IssueAppCertificate("cert-app")
	if err != nil {
		t.Fatal(err)
	}
	if cert.Leaf == nil || cert.Leaf.Subject.CommonName != "cert-app" ||
		!slices.Equal(cert.Leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Fatalf("app certificate leaf: %+v", cert.Leaf)
	}
	post := func(c *http.Client, path string) result {
		return do(t, c, newRequest(t, http.MethodPost, s.URL+path, nil))
	}
	c := http1Client(t, s, cert)
	r := post(c, PathCertAppLogin)
	st := tokenOf(t, r, "sessionToken")
	if strings.Contains(r.body, "authorizationToken") {
		t.Errorf("app login answer carries a bearer token: %s", r.body)
	}
	logs.waitLine(t, `app login ok: app "cert-app" on /sessionauth/v1/app/authenticate (certificate, app session)`)
	if g, ok := s.tokens.lookup(sessionKind, st, s.now()); !ok || g.app != "cert-app" || g.user != nil {
		t.Errorf("app session grant = %+v, %v", g, ok)
	}
	// RSA login still works for the same app.
	appLogin(t, s, key, "cert-app")

	wantError(t, post(s.Client(), PathCertAppLogin), http.StatusUnauthorized, "client certificate required")
	wantError(t, do(t, c, newRequest(t, http.MethodGet, s.URL+PathCertAppLogin, nil)), http.StatusMethodNotAllowed, "use POST")

	// A user's certificate, and a CA certificate for an app registered for
	// RSA only, are not allowed certificate app login.
	userCert, err := s.IssueClientCertificate("cert-user")
	if err != nil {
		t.Fatal(err)
	}
	newApp(t, s, "rsa-app")
	rsaOnly, err := s.ca.clientCertificate("rsa-app")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*http.Client{http1Client(t, s, userCert), http1Client(t, s, rsaOnly)} {
		r := post(c, PathCertAppLogin)
		if r.status != http.StatusForbidden || r.body != `{"code":403,"message":"certificate authentication is not allowed for the requested user"}`+"\n" {
			t.Errorf("%d %s", r.status, r.body)
		}
	}
	logs.waitLine(t, `app "rsa-app" is not registered for certificate login`)
	// An app's certificate does not log a user in.
	wantError(t, post(c, PathSessionAuth), http.StatusForbidden, "not allowed")
}
