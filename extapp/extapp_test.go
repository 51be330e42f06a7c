package extapp_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/extapp"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

func newApp(t testing.TB, srv *symauthtest.Server) *extapp.App {
	t.Helper()
	app, err := extapp.New(extapp.Config{PodURL: srv.URL, AppID: appID, PrivateKey: appKey(), HTTPClient: srv.Client(), Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func TestExtensionAppCircleOfTrust(t *testing.T) {
	srv := newOBOPod(t)
	app := newApp(t, srv)
	tokens, err := app.Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tokens.AppID != appID || len(tokens.AppToken) < 32 || tokens.SymphonyToken == "" || !tokens.ExpireAt.After(time.Now()) {
		t.Fatalf("tokens: %v", tokens)
	}
	other, err := app.Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if other.AppToken == tokens.AppToken {
		t.Fatal("two authentications used the same app token; want a fresh random one each")
	}
	if !app.ValidateTokens(tokens.AppToken, tokens.SymphonyToken) || !app.ValidateTokens(other.AppToken, other.SymphonyToken) {
		t.Fatal("a pair this app obtained does not validate")
	}
	if app.ValidateTokens(tokens.AppToken, other.SymphonyToken) || app.ValidateTokens("unknown", tokens.SymphonyToken) {
		t.Fatal("a mismatched pair validates")
	}
	clock := testkit.NewClock()
	extapp.SetClock(app, clock.Now)
	clock.Advance(time.Until(tokens.ExpireAt) + time.Second)
	if app.ValidateTokens(tokens.AppToken, tokens.SymphonyToken) {
		t.Fatal("an expired pair validates")
	}
	if s := fmt.Sprintf("%v %#v", app, app); s != `extapp.App{AppID:"test-app"} extapp.App{AppID:"test-app"}` {
		t.Fatalf("app prints as %s", s)
	}
	for _, s := range []string{fmt.Sprint(tokens), fmt.Sprintf("%+v %#v %s", tokens, tokens, *tokens)} {
		if strings.Contains(s, tokens.AppToken) || strings.Contains(s, tokens.SymphonyToken) {
			t.Fatalf("tokens printed: %s", s)
		}
	}
}

func TestExtensionAppVerifiesUserJWT(t *testing.T) {
	srv := newOBOPod(t)
	app := newApp(t, srv)
	jwt, err := srv.IssueUserIdentityJWT(appID, "alice", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	user, err := app.VerifyUserJWT(context.Background(), jwt)
	if err != nil {
		t.Fatal(err)
	}
	aliceID, _ := srv.UserID("alice")
	if user.Username != "alice" || user.ID != aliceID {
		t.Fatalf("user %+v; want alice (%d)", user, aliceID)
	}
	if _, err := app.VerifyUserJWT(context.Background(), jwt); err != nil {
		t.Fatal(err)
	}
	if got := srv.Calls(symauthtest.PathPodCert); got != 1 {
		t.Fatalf("pod certificate fetched %d times; want once (cached)", got)
	}

	if err := srv.RegisterApp("other-app", appKey().Public()); err != nil {
		t.Fatal(err)
	}
	otherAud, _ := srv.IssueUserIdentityJWT("other-app", "alice", time.Minute)
	expired, _ := srv.IssueUserIdentityJWT(appID, "alice", -time.Minute)
	for name, tc := range map[string]struct{ token, want string }{
		"another app's": {otherAud, "audience"},
		"expired":       {expired, "expired"},
		"garbage":       {"not.a.jwt", "malformed"},
		"tampered":      {jwt[:len(jwt)-4] + "AAAA", "signature"},
	} {
		_, err := app.VerifyUserJWT(context.Background(), tc.token)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), tc.token) {
			t.Errorf("%s JWT: err = %v; want a refusal mentioning %q, without the JWT", name, err, tc.want)
		}
	}
}

func TestExtensionAppFailures(t *testing.T) {
	srv := newOBOPod(t)
	app := newApp(t, srv)
	srv.InjectFault(symauthtest.PathPodCert, symauthtest.Fault{Status: http.StatusOK, Body: `{"certificate":"not PEM"}`, Times: 1})
	if _, err := app.PodCertificate(context.Background()); err == nil || !strings.Contains(err.Error(), "not PEM") {
		t.Fatalf("bad certificate: %v", err)
	}
	if _, err := app.PodCertificate(context.Background()); err != nil {
		t.Fatalf("a failed fetch must not be cached: %v", err)
	}

	// The pod certificate is no login, and its failure does not say "login".
	other := newApp(t, srv)
	srv.InjectFault(symauthtest.PathPodCert, symauthtest.Fault{Status: http.StatusBadGateway, Times: 5})
	_, err := other.PodCertificate(context.Background())
	if want := "symauth: call to /pod/v1/podcert failed: HTTP 502 Bad Gateway"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("pod certificate behind a broken gateway: %v; want %q", err, want)
	}
	_, err = other.VerifyUserJWT(context.Background(), "a.b.c")
	if err == nil || strings.Contains(err.Error(), "login") {
		t.Fatalf("VerifyUserJWT without the pod certificate: %v; want an error that says no login failed", err)
	}
	srv.ClearFaults()
	for _, tc := range []struct{ body, want string }{
		{`{"certificate":"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}`, "cannot be parsed"},
		{`{"certificate":` + strconv.Quote(string(ecCertificatePEM(t))) + `}`, "key is not RSA"},
		{`{}`, `response has no "certificate"`},
	} {
		srv.InjectFault(symauthtest.PathPodCert, symauthtest.Fault{Status: http.StatusOK, Body: tc.body, Times: 1})
		if _, err := newApp(t, srv).PodCertificate(context.Background()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("pod certificate %s: %v; want %q", tc.body, err, tc.want)
		}
	}

	unknown, err := extapp.New(extapp.Config{PodURL: srv.URL, AppID: "unknown-app", PrivateKey: appKey(), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = unknown.Authenticate(context.Background())
	var authErr *symauth.AuthError
	if !errors.As(err, &authErr) || authErr.StatusCode != http.StatusUnauthorized || authErr.Endpoint != symauthtest.PathExtensionApp {
		t.Fatalf("unknown app: %v", err)
	}
	for name, cfg := range map[string]extapp.Config{
		"extapp: Config.PodURL":     {AppID: appID, PrivateKey: appKey()},
		"extapp: Config.AppID":      {PodURL: srv.URL, PrivateKey: appKey()},
		"extapp: Config.PrivateKey": {PodURL: srv.URL, AppID: appID},
		"extapp: Config.Retry":      {PodURL: srv.URL, AppID: appID, PrivateKey: appKey(), Retry: symauth.RetryPolicy{MaxInterval: -1}},
	} {
		if _, err := extapp.New(cfg); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("missing %s: err = %v", name, err)
		}
	}
}

// ecCertificatePEM is a self-signed certificate with a P-256 key, in PEM.
func ecCertificatePEM(t *testing.T) []byte {
	return testkit.PEM("CERTIFICATE", testkit.LocalhostCertificate(t).Certificate[0])
}
