package symauth_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

const appID = testkit.AppID

var newOBOPod = testkit.NewOBOPod

func newOBO(t testing.TB, cfg symauth.OBOConfig) *symauth.OBO {
	t.Helper()
	o, err := symauth.NewOBO(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// oboUserID is obo.UserID(id), which must succeed.
func oboUserID(t testing.TB, obo *symauth.OBO, id int64) symauth.TokenSource {
	t.Helper()
	src, err := obo.UserID(id)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func sessionUsername(t testing.TB, client *http.Client, srv *symauthtest.Server) string {
	t.Helper()
	status, body := get(t, client, srv.URL+symauthtest.PathSessionInfo)
	if status != http.StatusOK {
		t.Fatalf("sessioninfo: %d %s", status, body)
	}
	var me struct{ Username string }
	if err := json.Unmarshal([]byte(body), &me); err != nil {
		t.Fatal(err)
	}
	return me.Username
}

func TestOBO(t *testing.T) {
	srv := newOBOPod(t)
	obo := newOBO(t, symauth.OBOConfig{PodURL: srv.URL, AppID: appID, PrivateKey: botKey(), HTTPClient: srv.Client(), Retry: fastRetry})
	bobID, _ := srv.UserID("bob")
	for name, src := range map[string]symauth.TokenSource{"alice": oboUsername(t, obo, "alice"), "bob": oboUserID(t, obo, bobID)} {
		client := &http.Client{Transport: symauth.NewTransport(src, srv.Client().Transport)}
		if got := sessionUsername(t, client, srv); got != name {
			t.Fatalf("acting for %s, the pod says %s", name, got)
		}
		if status, _ := get(t, client, srv.URL+symauthtest.PathDatafeeds); status != http.StatusOK {
			t.Fatalf("agent call for %s: %d", name, status)
		}
	}
	if got := srv.Calls(symauthtest.PathAppLogin); got != 1 {
		t.Fatalf("app logins: %d; want 1, shared by every user", got)
	}
	if app, err := obo.AppSession().Token(context.Background()); err != nil || app.SessionToken == "" || srv.Calls(symauthtest.PathAppLogin) != 1 {
		t.Fatalf("AppSession: %v, %v; want the cached app session", app, err)
	}
	tok, err := oboUsername(t, obo, "alice").Token(context.Background())
	if err != nil || tok.KeyManagerToken != "" {
		t.Fatalf("user token %v, err %v; want one without a key manager token", tok, err)
	}
}

// When the pod refuses the app session, it is obtained again once — shared by
// the users — and the user step retried.
func TestOBOAppSessionRenewedOnce(t *testing.T) {
	srv := newOBOPod(t)
	obo := newOBO(t, symauth.OBOConfig{PodURL: srv.URL, AppID: appID, PrivateKey: botKey(), HTTPClient: srv.Client(), Retry: fastRetry})
	alice := &http.Client{Transport: symauth.NewTransport(oboUsername(t, obo, "alice"), srv.Client().Transport)}
	bob := &http.Client{Transport: symauth.NewTransport(oboUsername(t, obo, "bob"), srv.Client().Transport)}
	sessionUsername(t, alice, srv)
	sessionUsername(t, bob, srv)
	srv.RevokeSessions() // ends the app session and the users'
	if sessionUsername(t, alice, srv) != "alice" || sessionUsername(t, bob, srv) != "bob" {
		t.Fatal("wrong users after renewal")
	}
	if got := srv.Calls(symauthtest.PathAppLogin); got != 2 {
		t.Fatalf("app logins: %d; want 2 (one renewal for both users)", got)
	}
}

func TestOBOUserWithoutTheApp(t *testing.T) {
	srv := newOBOPod(t)
	obo := newOBO(t, symauth.OBOConfig{PodURL: srv.URL, AppID: appID, PrivateKey: botKey(), HTTPClient: srv.Client(), Retry: fastRetry})
	_, err := oboUsername(t, obo, "carol").Token(context.Background())
	var authErr *symauth.AuthError
	if !errors.As(err, &authErr) || authErr.StatusCode != http.StatusForbidden || !strings.Contains(authErr.Message, "not installed") {
		t.Fatalf("err = %v; want 403: not installed", err)
	}
	if !strings.HasPrefix(authErr.Endpoint, "/login/pubkey/app/username/carol") {
		t.Fatalf("endpoint %q", authErr.Endpoint)
	}
}

func TestOBOCertificate(t *testing.T) {
	srv := newOBOPod(t)
	cert, err := srv.IssueAppCertificate(appID)
	if err != nil {
		t.Fatal(err)
	}
	obo := newOBO(t, symauth.OBOConfig{SessionAuthURL: srv.URL, Certificate: cert, RootCAs: srv.CertPool(), Retry: fastRetry})
	aliceID, _ := srv.UserID("alice")
	for name, src := range map[string]symauth.TokenSource{"alice": oboUserID(t, obo, aliceID), "bob": oboUsername(t, obo, "bob")} {
		client := &http.Client{Transport: symauth.NewTransport(src, srv.Client().Transport)}
		if got := sessionUsername(t, client, srv); got != name {
			t.Fatalf("acting for %s, the pod says %s", name, got)
		}
	}
	if got := srv.Calls(symauthtest.PathCertAppLogin); got != 1 {
		t.Fatalf("certificate app logins: %d", got)
	}
	if s := obo.String(); s != `symauth.OBO{AppID:"test-app"}` {
		t.Fatalf("String() = %s", s)
	}
}

func TestNewOBOValidation(t *testing.T) {
	srv := newOBOPod(t)
	cert, _ := srv.IssueAppCertificate(appID)
	for _, tc := range []struct {
		name string
		cfg  symauth.OBOConfig
		want string
	}{
		{"neither", symauth.OBOConfig{PodURL: srv.URL, AppID: appID}, "OBOConfig.PrivateKey is missing"},
		{"both", symauth.OBOConfig{PodURL: srv.URL, AppID: appID, PrivateKey: botKey(), Certificate: cert}, "both PrivateKey and Certificate"},
		{"no pod", symauth.OBOConfig{AppID: appID, PrivateKey: botKey()}, "OBOConfig.PodURL is missing"},
		{"no app id", symauth.OBOConfig{PodURL: srv.URL, PrivateKey: botKey()}, "OBOConfig.AppID is missing"},
		{"cert over http", symauth.OBOConfig{SessionAuthURL: "http://127.0.0.1", Certificate: cert}, "OBOConfig.SessionAuthURL must be https"},
		{"cert CN mismatch", symauth.OBOConfig{SessionAuthURL: srv.URL, Certificate: cert, AppID: "other"}, `certificate's CN is "test-app"`},
		{"cert without key", symauth.OBOConfig{SessionAuthURL: srv.URL, Certificate: tls.Certificate{Certificate: cert.Certificate}}, "OBOConfig.Certificate has no private key"},
		{"retry", symauth.OBOConfig{PodURL: srv.URL, AppID: appID, PrivateKey: botKey(), Retry: symauth.RetryPolicy{MaxAttempts: -1}}, "OBOConfig.Retry"},
	} {
		if _, err := symauth.NewOBO(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v; want %q", tc.name, err, tc.want)
		}
	}
	obo := newOBO(t, symauth.OBOConfig{PodURL: srv.URL, AppID: appID, PrivateKey: botKey()})
	for _, id := range []int64{0, -5} {
		if src, err := obo.UserID(id); src != nil || err == nil || !strings.Contains(err.Error(), "user ids are positive") {
			t.Errorf("UserID(%d) = %v, %v; want no source and an error", id, src, err)
		}
	}
	for _, name := range []string{"", " x"} {
		if src, err := obo.Username(name); src != nil || err == nil || !strings.Contains(err.Error(), "OBO username") {
			t.Errorf("Username(%q) = %v, %v; want no source and an error", name, src, err)
		}
	}
}

// The pod answers 401 to the user step for a user it does not know, as it
// does for an app session that ended. Unknown users soon after the app's
// login cost no app login, other users keep working, and later an app
// session that really ended is obtained again, once.
func TestOBOUnknownUsersCostNoAppLogin(t *testing.T) {
	srv := newOBOPod(t)
	obo := newOBO(t, symauth.OBOConfig{PodURL: srv.URL, AppID: appID, PrivateKey: botKey(), HTTPClient: srv.Client(), Retry: fastRetry})
	clock := testkit.NewClock()
	symauth.SetOBOClock(obo, clock.Now)
	if _, err := oboUsername(t, obo, "alice").Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"nobody-1", "nobody-2", "nobody-3", "nobody-4", "nobody-5"} {
		_, err := oboUsername(t, obo, name).Token(context.Background())
		var authErr *symauth.AuthError
		if !errors.As(err, &authErr) || authErr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("unknown user %s: %v; want the pod's 401", name, err)
		}
	}
	if apps := srv.Calls(symauthtest.PathAppLogin); apps != 1 {
		t.Fatalf("%d app logins for 5 unknown users; want 1 (the first)", apps)
	}
	if _, err := oboUsername(t, obo, "bob").Token(context.Background()); err != nil {
		t.Fatalf("a known user after the unknown ones: %v", err)
	}
	srv.RevokeSessions() // the app session ends
	clock.Advance(31 * time.Second)
	if _, err := oboUsername(t, obo, "alice").Token(context.Background()); err != nil {
		t.Fatalf("after the app session ended: %v; want one app login and the user's session", err)
	}
	if apps := srv.Calls(symauthtest.PathAppLogin); apps != 2 {
		t.Fatalf("%d app logins; want 2", apps)
	}
}
