package symauth_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/extapp"
	"github.com/symauth/symauth/internal/testkit"
)

// childEnv names the case a child process of the test binary runs.
const childEnv = "SYMAUTH_TEST_CHILD"

// refusingTransport is what httpmock or an OpenTelemetry auto-instrumentation
// put in http.DefaultTransport: a RoundTripper that is not an *http.Transport.
type refusingTransport struct{}

func (refusingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("refusingTransport: no network in this test")
}

// Behaviour 14: no code asserts the type of http.DefaultTransport. With it
// replaced, every constructor of the module builds, and a login works. It
// runs in a child process, so that a panic is seen as a crash and the
// replaced global never reaches another test.
func TestReplacedDefaultTransport(t *testing.T) {
	if os.Getenv(childEnv) == t.Name() {
		replacedDefaultTransportChild(t)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "child: every constructor built") {
		t.Fatalf("the child process with a replaced http.DefaultTransport failed (%v):\n%s", err, out)
	}
}

func replacedDefaultTransportChild(t *testing.T) {
	http.DefaultTransport = refusingTransport{}
	srv := newPod(t) // symauthtest builds its client transport too
	rsaCfg := rsaConfig(srv)
	rsaCfg.HTTPClient = nil // the shared default login client
	if _, err := symauth.NewRSA(rsaCfg); err != nil {
		t.Fatal(err)
	}
	if _, err := symauth.NewCert(certConfig(t, srv, "cert-bot")); err != nil {
		t.Fatal(err)
	}
	if _, err := symauth.NewOBO(symauth.OBOConfig{PodURL: srv.URL, AppID: "app", PrivateKey: botKey()}); err != nil {
		t.Fatal(err)
	}
	if _, err := extapp.New(extapp.Config{PodURL: srv.URL, AppID: "app", PrivateKey: botKey()}); err != nil {
		t.Fatal(err)
	}
	keyPEM := strings.ReplaceAll(string(testkit.PEM("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(botKey()))), "\n", `\n`)
	cfg, err := bdkconfig.Parse([]byte("host: acme.symphony.com\nbot: {username: b, privateKey: {content: \"" + keyPEM + "\"}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.HTTPClient(); err != nil {
		t.Fatal(err)
	}
	if _, err := newRSA(t, rsaConfig(srv)).Token(context.Background()); err != nil {
		t.Fatalf("login with a replaced http.DefaultTransport: %v", err)
	}
	t.Log("child: every constructor built")
}
