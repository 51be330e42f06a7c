package symauthtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// oboPost posts an on-behalf-of step to s.URL+path with the app session
// ("" omits the header), over c.
func oboPost(t *testing.T, s *Server, c *http.Client, path, appSession string) result {
	t.Helper()
	req := newRequest(t, http.MethodPost, s.URL+path, nil)
	setTokens(req, appSession, "")
	return do(t, c, req)
}

// oboSession runs the RSA on-behalf-of step and returns the user session.
func oboSession(t *testing.T, s *Server, path, appSession string) string {
	t.Helper()
	r := oboPost(t, s, s.Client(), path, appSession)
	if r.status != http.StatusOK {
		t.Fatalf("on-behalf-of on %s: %d %s", path, r.status, r.body)
	}
	return tokenOf(t, r, "sessionToken")
}

// oboSetup starts a server with app "my-app" installed by "alice" (not by
// "bob"), and returns the app session.
func oboSetup(t *testing.T, opts Options) (*Server, *logSink, string) {
	t.Helper()
	s, logs := startLogged(t, opts)
	key := newApp(t, s, "my-app")
	newUser(t, s, "alice")
	newUser(t, s, "bob")
	if err := s.InstallApp("my-app", "alice"); err != nil {
		t.Fatal(err)
	}
	return s, logs, appLogin(t, s, key, "my-app")
}

func TestOBORSA(t *testing.T) {
	s, logs, appSession := oboSetup(t, Options{})
	aliceID, _ := s.UserID("alice")
	for _, path := range []string{PathOBOUser(aliceID), PathOBOUsername("alice")} {
		r := oboPost(t, s, s.Client(), path, appSession)
		st := tokenOf(t, r, "sessionToken")
		var a loginAnswer
		if err := json.Unmarshal([]byte(r.body), &a); err != nil || !strings.HasPrefix(a.AuthorizationToken, "Bearer ") {
			t.Errorf("RSA on-behalf-of answer %s lacks a bearer token", r.body)
		}
		logs.waitLine(t, `on-behalf-of ok: app "my-app" acts for user "alice" (id `)
		info := get(t, s, PathSessionInfo, st, "")
		if info.status != http.StatusOK || !strings.Contains(info.body, `"username":"alice"`) {
			t.Errorf("sessioninfo with the OBO session: %d %s", info.status, info.body)
		}
		// No key manager token: the agent accepts an OBO session without.
		if r := get(t, s, PathDatafeeds, st, ""); r.status != http.StatusOK {
			t.Errorf("agent with the OBO session and no keyManagerToken: %d %s", r.status, r.body)
		}
		wantError(t, get(t, s, PathDatafeeds, st, "bogus"), http.StatusUnauthorized, "Invalid session")
		if r := get(t, s, PathSessionInfo, a.AuthorizationToken, ""); r.status != http.StatusUnauthorized {
			t.Errorf("a bearer token as session token: %d", r.status)
		}
	}
	if n := s.Calls(PathOBOUser(aliceID)) + s.Calls(PathOBOUsername("alice")); n != 2 {
		t.Errorf("Calls = %d, want 2", n)
	}
}

func TestOBOCertificate(t *testing.T) {
	s, logs := startLogged(t, Options{})
	if _, err := s.IssueAppCertificate("cert-app"); err != nil {
		t.Fatal(err)
	}
	cert, err := s.IssueAppCertificate("cert-app")
	if err != nil {
		t.Fatal(err)
	}
	newUser(t, s, "alice")
	if err := s.InstallApp("cert-app", "alice"); err != nil {
		t.Fatal(err)
	}
	withCert := http1Client(t, s, cert)
	appSession := tokenOf(t, do(t, withCert, newRequest(t, http.MethodPost, s.URL+PathCertAppLogin, nil)), "sessionToken")
	aliceID, _ := s.UserID("alice")
	for _, path := range []string{PathCertOBOUser(aliceID), PathCertOBOUsername("alice")} {
		// The client certificate is not needed on this step.
		for _, c := range []*http.Client{withCert, s.Client()} {
			r := oboPost(t, s, c, path, appSession)
			var a map[string]string
			if err := json.Unmarshal([]byte(r.body), &a); err != nil || r.status != http.StatusOK || len(a) != 1 || a["sessionToken"] == "" {
				t.Fatalf("certificate on-behalf-of: %d %s", r.status, r.body)
			}
			logs.waitLine(t, `on-behalf-of ok: app "cert-app" acts for user "alice"`)
			if r := get(t, s, PathDatafeeds, a["sessionToken"], ""); r.status != http.StatusOK {
				t.Errorf("agent with the certificate OBO session: %d %s", r.status, r.body)
			}
		}
	}
}

func TestOBORefusals(t *testing.T) {
	s, logs, appSession := oboSetup(t, Options{})
	aliceID, _ := s.UserID("alice")
	bobID, _ := s.UserID("bob")
	userSession, _ := loginBoth(t, s, newUser(t, s, "carol"), "carol")
	const ghostID = 1

	tests := []struct {
		name, path, session string
		status              int
		msg, reason         string
	}{
		{"no session", PathOBOUser(aliceID), "", 401, "Invalid session", "no sessionToken header"},
		{"unknown session", PathOBOUsername("alice"), "bogus", 401, "Invalid session", "the session token is unknown or has ended"},
		{"user session", PathOBOUser(aliceID), userSession, 401, "Invalid session", "the session token is a user session, not an app session"},
		{"cert: no session", PathCertOBOUser(aliceID), "", 401, "Invalid session", "no sessionToken header"},
		{"not installed", PathOBOUser(bobID), appSession, 403, `user "bob" has not installed app "my-app"`, `user "bob" has not installed app "my-app"`},
		{"not installed by name", PathOBOUsername("bob"), appSession, 403, `user "bob" has not installed app "my-app"`, "not installed"},
		{"cert: not installed", PathCertOBOUsername("bob"), appSession, 403, `user "bob" has not installed app "my-app"`, "not installed"},
		{"unknown user id", PathOBOUser(ghostID), appSession, 401, "unknown user id 1", `app "my-app" asked for unknown user id 1`},
		{"unknown username", PathOBOUsername("ghost"), appSession, 401, `unknown username "ghost"`, `asked for unknown username "ghost"`},
		{"cert: unknown user id", PathCertOBOUser(ghostID), appSession, 404, "user id 1 not found", "unknown user id 1"},
		{"cert: unknown username", PathCertOBOUsername("ghost"), appSession, 404, `username "ghost" not found`, `unknown username "ghost"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, oboPost(t, s, s.Client(), tt.path, tt.session), tt.status, tt.msg)
			logs.waitLine(t, tt.reason)
		})
	}
	wantError(t, get(t, s, PathOBOUser(aliceID), appSession, ""), http.StatusMethodNotAllowed, "use POST")

	// Paths that are not an on-behalf-of step.
	for _, path := range []string{
		"/login/pubkey/app/user/abc/authenticate",
		"/login/pubkey/app/user//authenticate",
		"/login/pubkey/app/username//authenticate",
		"/login/pubkey/app/username/a/b/authenticate",
		"/login/pubkey/app/user/1/other",
		"/login/pubkey/app/group/1/authenticate",
		"/sessionauth/v1/app/user/1/authenticate/x",
	} {
		req := newRequest(t, http.MethodPost, s.URL, nil)
		req.URL.Opaque = path // sent as is
		r := do(t, s.Client(), withTokens(req, appSession, ""))
		if r.status != http.StatusNotFound {
			t.Errorf("%s: %d %s", path, r.status, r.body)
		}
	}
	// A user who installs the app later can be served.
	if err := s.InstallApp("my-app", "bob"); err != nil {
		t.Fatal(err)
	}
	oboSession(t, s, PathOBOUser(bobID), appSession)
}

func TestOBOUsernameEscaping(t *testing.T) {
	s, _, appSession := oboSetup(t, Options{})
	for _, name := range []string{"a b/c?d%e", "bot@acme.com", "semi;colon,comma+plus"} {
		newUser(t, s, name)
		if err := s.InstallApp("my-app", name); err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{PathOBOUsername(name), PathCertOBOUsername(name)} {
			s.InjectFault(path, Fault{Status: http.StatusServiceUnavailable, Times: 1})
			if r := oboPost(t, s, s.Client(), path, appSession); r.status != http.StatusServiceUnavailable {
				t.Errorf("%s: fault not applied: %d", path, r.status)
			}
			r := oboPost(t, s, s.Client(), path, appSession)
			if r.status != http.StatusOK {
				t.Fatalf("%s: %d %s", path, r.status, r.body)
			}
			if n := s.Calls(path); n != 2 {
				t.Errorf("Calls(%s) = %d, want 2", path, n)
			}
		}
	}
	// Escaping "@" anyway counts under the canonical path.
	req := newRequest(t, http.MethodPost, s.URL, nil)
	req.URL.Opaque = "/login/pubkey/app/username/bot%40acme.com/authenticate"
	if r := do(t, s.Client(), withTokens(req, appSession, "")); r.status != http.StatusOK {
		t.Errorf("escaped @: %d %s", r.status, r.body)
	}
	if n := s.Calls(PathOBOUsername("bot@acme.com")); n != 3 {
		t.Errorf("Calls = %d, want 3", n)
	}
	if got := PathOBOUsername("a b/c"); got != "/login/pubkey/app/username/a%20b%2Fc/authenticate" {
		t.Errorf("PathOBOUsername = %q", got)
	}
	if got := PathCertOBOUser(42); got != "/sessionauth/v1/app/user/42/authenticate" {
		t.Errorf("PathCertOBOUser = %q", got)
	}
	if _, ok := parseOBO(&url.URL{Path: PathAppLogin}); ok {
		t.Error("the app login path parses as an on-behalf-of step")
	}
}

func TestOBOSessionsEnd(t *testing.T) {
	clock := newFakeClock()
	s, logs, appSession := oboSetup(t, Options{Now: clock.Now, SessionLifetime: time.Hour})
	aliceID, _ := s.UserID("alice")
	userSession := oboSession(t, s, PathOBOUser(aliceID), appSession)

	clock.Advance(time.Hour)
	wantError(t, oboPost(t, s, s.Client(), PathOBOUser(aliceID), appSession), http.StatusUnauthorized, "Invalid session")
	logs.waitLine(t, "the session token is unknown or has ended (on-behalf-of needs the app session token)")
	wantError(t, get(t, s, PathDatafeeds, userSession, ""), http.StatusUnauthorized, "Invalid session")

	s.SetSessionLifetime(0)
	userSession = oboSession(t, s, PathOBOUsername("alice"), appSession)
	if n := s.RevokeSessions(); n != 3 { // the app session, and two OBO sessions
		t.Errorf("RevokeSessions = %d, want 3", n)
	}
	wantError(t, oboPost(t, s, s.Client(), PathOBOUser(aliceID), appSession), http.StatusUnauthorized, "Invalid session")
	wantError(t, get(t, s, PathSessionInfo, userSession, ""), http.StatusUnauthorized, "Invalid session")
}
