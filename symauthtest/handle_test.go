package symauthtest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestHandle(t *testing.T) {
	s, logs := startLogged(t, Options{})
	key := newUser(t, s, "bot")
	st, kt := loginBoth(t, s, key, "bot")
	id, _ := s.UserID("bot")

	calls := make(chan User, 10)
	s.Handle("GET /pod/v1/room/{rid}/info", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, ok := UserFromContext(r.Context())
		if !ok {
			t.Error("no user in the context")
		}
		calls <- u
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"roomId":%q}`, r.PathValue("rid"))
	}))
	s.Handle("POST /agent/v1/thing", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFromContext(r.Context())
		calls <- u
		w.WriteHeader(http.StatusCreated)
	}))

	r := get(t, s, "/pod/v1/room/R1/info", st, "")
	if r.status != http.StatusOK || r.body != `{"roomId":"R1"}` {
		t.Fatalf("registered pod endpoint: %d %s", r.status, r.body)
	}
	if u := <-calls; u != (User{ID: id, Username: "bot"}) {
		t.Errorf("UserFromContext = %+v", u)
	}
	post := func(session, km string) result {
		return do(t, s.Client(), withTokens(newRequest(t, http.MethodPost, s.URL+"/agent/v1/thing", nil), session, km))
	}
	if r := post(st, kt); r.status != http.StatusCreated {
		t.Fatalf("registered agent endpoint: %d %s", r.status, r.body)
	}
	<-calls
	// The agent check applies: a session token alone is not enough.
	wantError(t, post(st, ""), http.StatusUnauthorized, "Invalid session")
	logs.waitLine(t, "refused POST /agent/v1/thing: no keyManagerToken header")
	// Another method on a registered path falls through to symauthtest.
	wantError(t, do(t, s.Client(), withTokens(newRequest(t, http.MethodDelete, s.URL+"/pod/v1/room/R1/info", nil), st, "")),
		http.StatusNotFound, "does not serve")
	if n := s.Calls("/pod/v1/room/R1/info"); n != 2 {
		t.Errorf("Calls = %d, want 2", n)
	}

	// After RevokeSessions the client sees a 401 and the handler is not
	// called.
	s.RevokeSessions()
	wantError(t, get(t, s, "/pod/v1/room/R1/info", st, ""), http.StatusUnauthorized, "Invalid session")
	select {
	case u := <-calls:
		t.Fatalf("handler called with ended session, user %+v", u)
	default:
	}

	// A registered pattern takes precedence, and then needs tokens.
	s.Handle("GET /agent/v1/info", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("mine"))
	}))
	wantError(t, get(t, s, PathAgentInfo, "", ""), http.StatusUnauthorized, "Invalid session")
	st, kt = loginBoth(t, s, key, "bot")
	if r := get(t, s, PathAgentInfo, st, kt); r.body != "mine" {
		t.Errorf("overridden info: %d %s", r.status, r.body)
	}
	if _, ok := UserFromContext(t.Context()); ok {
		t.Error("UserFromContext of a plain context")
	}
}

func TestHandleOnBehalfOf(t *testing.T) {
	s := start(t, Options{})
	appKey := newUser(t, s, "unused") // any RSA key will do for the app
	if err := s.RegisterApp("my-app", &appKey.PublicKey); err != nil {
		t.Fatal(err)
	}
	newUser(t, s, "alice")
	if err := s.InstallApp("my-app", "alice"); err != nil {
		t.Fatal(err)
	}
	appSession := tokenOf(t, postLogin(t, s, PathAppLogin, sign(t, appKey, "my-app", s.now().Add(time.Minute))), "sessionToken")
	r := do(t, s.Client(), withTokens(newRequest(t, http.MethodPost, s.URL+PathOBOUsername("alice"), nil), appSession, ""))
	alice := tokenOf(t, r, "sessionToken")

	got := make(chan User, 1)
	s.Handle("/agent/v1/x", http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		u, _ := UserFromContext(r.Context())
		got <- u
	}))
	if r := get(t, s, "/agent/v1/x", alice, ""); r.status != http.StatusOK {
		t.Fatalf("on-behalf-of call: %d %s", r.status, r.body)
	}
	if u := <-got; u.Username != "alice" || u.App != "my-app" {
		t.Errorf("user = %+v", u)
	}
}

func TestHandlePanicsOutsidePodAndAgent(t *testing.T) {
	s := start(t, Options{})
	for _, pattern := range []string{"/login/x", "GET /relay/x", "example.com/login/", "/podx/y"} {
		func() {
			defer func() {
				if v := recover(); v == nil || !strings.Contains(fmt.Sprint(v), "not under /pod/ or /agent/") {
					t.Errorf("Handle(%q): panic %v", pattern, v)
				}
			}()
			s.Handle(pattern, http.NotFoundHandler())
		}()
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Handle with a nil handler did not panic")
			}
		}()
		s.Handle("/pod/y", nil)
	}()
	s.Handle("example.com/pod/z", http.NotFoundHandler()) // a host is allowed
}

func TestFaultAfterAuth(t *testing.T) {
	s, logs := startLogged(t, Options{})
	key := newUser(t, s, "bot")
	st, kt := loginBoth(t, s, key, "bot")
	s.Handle("GET /pod/v1/faked", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("{}"))
	}))
	for _, path := range []string{"/pod/v1/faked", PathSessionInfo, PathDatafeeds} {
		s.InjectFault(path, Fault{Status: http.StatusServiceUnavailable, AfterAuth: true, Times: 1})
		// A refused request neither plays nor uses the fault.
		wantError(t, get(t, s, path, "bogus", "bogus"), http.StatusUnauthorized, "Invalid session")
		wantError(t, get(t, s, path, st, kt), http.StatusServiceUnavailable, "Service Unavailable")
		logs.waitLine(t, "fault on GET "+path+": answered 503")
		if r := get(t, s, path, st, kt); r.status != http.StatusOK {
			t.Errorf("%s after the fault: %d %s", path, r.status, r.body)
		}
	}

	// Before and after the token check at once: the plain fault first.
	s.InjectFault(PathSessionInfo, Fault{Status: http.StatusBadGateway, Times: 1})
	s.InjectFault(PathSessionInfo, Fault{Status: http.StatusTooManyRequests, AfterAuth: true, Times: 1})
	wantError(t, get(t, s, PathSessionInfo, "", ""), http.StatusBadGateway, "Bad Gateway")
	wantError(t, get(t, s, PathSessionInfo, "", ""), http.StatusUnauthorized, "Invalid session")
	wantError(t, get(t, s, PathSessionInfo, st, ""), http.StatusTooManyRequests, "Too Many Requests")

	// On a path that needs no token, an AfterAuth fault applies to every
	// request.
	s.InjectFault(PathAgentInfo, Fault{Status: http.StatusTeapot, AfterAuth: true, Times: 1})
	if r := get(t, s, PathAgentInfo, "", ""); r.status != http.StatusTeapot {
		t.Errorf("info: %d", r.status)
	}
	s.InjectFault(PathLogin, Fault{Status: http.StatusTeapot, AfterAuth: true})
	s.ClearFaults()
	if r := postLogin(t, s, PathLogin, sign(t, key, "bot", s.now().Add(time.Minute))); r.status != http.StatusOK {
		t.Errorf("login after ClearFaults: %d", r.status)
	}
}
