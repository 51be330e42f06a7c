package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
)

// checkStep is one step as "symauth check" printed it.
type checkStep struct {
	marker, name string
	text         string // the detail, then the advice lines
}

// parseCheckSteps splits the output of symauth check into its steps.
func parseCheckSteps(out string) []checkStep {
	var steps []checkStep
	for _, line := range strings.Split(out, "\n") {
		if advice, ok := strings.CutPrefix(line, "      -> "); ok && len(steps) > 0 {
			steps[len(steps)-1].text += "\n" + advice
			continue
		}
		if len(line) < 6+stepNameWidth+2 {
			continue
		}
		switch marker := strings.TrimSpace(line[:4]); marker {
		case "ok", "FAIL", "skip":
			steps = append(steps, checkStep{marker: marker, name: strings.TrimSpace(line[6 : 6+stepNameWidth]), text: line[6+stepNameWidth+2:]})
		}
	}
	return steps
}

// runCheckCmd runs "symauth check args…" and returns its result and steps. It
// fails the test if the output shows a JWT, if anything goes to stderr, if a
// failure comes without advice, or if the exit status is not 0 exactly when
// every step is ok.
func runCheckCmd(t *testing.T, args ...string) (result, []checkStep) {
	t.Helper()
	r := runCLI(t, append([]string{"check"}, args...)...)
	if strings.Contains(r.stdout+r.stderr, "eyJ") {
		t.Errorf("the output shows a JWT:\n%s%s", r.stdout, r.stderr)
	}
	if r.stderr != "" {
		t.Errorf("stderr is not empty:\n%s", r.stderr)
	}
	steps := parseCheckSteps(r.stdout)
	allOK := len(steps) > 0
	for _, s := range steps {
		allOK = allOK && s.marker == "ok"
		if s.marker == "FAIL" && !strings.Contains(s.text, "\n") {
			t.Errorf("step %s fails without advice:\n%s", s.name, r.stdout)
		}
	}
	if allOK != (r.code == exitOK) || (!allOK && r.code != exitFail) {
		t.Errorf("exit status %d; every step ok: %t\n%s", r.code, allOK, r.stdout)
	}
	return r, steps
}

// wantStep checks that the first step called name ended with marker, and
// that its detail and advice hold every phrase.
func wantStep(t *testing.T, out string, steps []checkStep, marker, name string, phrases ...string) {
	t.Helper()
	for _, s := range steps {
		if s.name != name {
			continue
		}
		if s.marker != marker {
			t.Errorf("step %s: %s; want %s\n%s", name, s.marker, marker, out)
		}
		for _, p := range phrases {
			if !strings.Contains(s.text, p) {
				t.Errorf("step %s does not say %q:\n%s", name, p, out)
			}
		}
		return
	}
	t.Errorf("no step %s:\n%s", name, out)
}

// A good setup passes every step, and each step says what it found.
func TestCheckSucceeds(t *testing.T) {
	e := startEmulator(t)
	rsaSteps := []string{"flags", "key file", "CA file", "host", "pod login", "key manager login", "session info", "agent"}
	for _, tc := range []struct {
		name  string
		args  []string
		steps []string
		want  map[string][]string // phrases of steps' details
	}{{
		name:  "RSA",
		args:  e.rsaFlags(),
		steps: rsaSteps,
		want:  map[string][]string{"key file": {"PKCS#8", "RSA 2048 bits"}, "host": {"TLS 1.3"}},
	}, {
		name:  "RSA, PKCS#1 key on one line",
		args:  append(e.rsaFlags(), "--key", writeEscapedPKCS1(t, e.file("bot-private.pem"))),
		steps: rsaSteps,
		want:  map[string][]string{"key file": {"PKCS#1", "RSA 2048 bits", `literal \n`}},
	}, {
		name:  "certificate",
		args:  append(e.certFlags(), "--user", "symauth-bot"),
		steps: []string{"flags", "certificate file", "CA file", "host", "session auth login", "key manager login", "session info", "agent"},
		want: map[string][]string{
			"certificate file": {"PKCS#12", `CN "symauth-bot"`, "issued by symauthtest CA"},
			"host":             {"client certificate accepted"},
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, steps := runCheckCmd(t, append(tc.args, "--agent", e.url)...)
			if r.code != exitOK {
				t.Fatalf("exit %d:\n%s", r.code, r.stdout)
			}
			var names []string
			for _, s := range steps {
				names = append(names, s.name)
			}
			if got, want := strings.Join(names, ", "), strings.Join(tc.steps, ", "); got != want {
				t.Errorf("steps %s; want %s\n%s", got, want, r.stdout)
			}
			for name, phrases := range tc.want {
				wantStep(t, r.stdout, steps, "ok", name, phrases...)
			}
			wantStep(t, r.stdout, steps, "ok", "session info", `"symauth-bot"`)
			wantStep(t, r.stdout, steps, "ok", "agent", "Agent-")
			if !strings.Contains(r.stdout, "All 8 steps ok.") {
				t.Errorf("no summary:\n%s", r.stdout)
			}
		})
	}
}

// Each problem fails its step with advice, and the steps that need it are
// skipped.
func TestCheckFails(t *testing.T) {
	e := startEmulator(t)
	rsaWith := func(user, key, ca string) []string {
		args := []string{"--pod", e.url, "--user", user, "--key", key}
		if ca != "" {
			args = append(args, "--ca", ca)
		}
		return args
	}
	for _, tc := range []struct {
		name    string
		args    func(t *testing.T) []string
		step    string   // the step that fails
		want    []string // phrases of its detail and advice
		skipped []string // steps skipped because of it
	}{{
		name: "another key",
		args: func(t *testing.T) []string {
			return rsaWith("symauth-bot", writeRSAKey(t), e.file("ca.pem"))
		},
		step:    "pod login",
		want:    []string{"HTTP 401", "bot-public.pem", "Admin Console", "fingerprint SHA256:"},
		skipped: []string{"key manager login", "session info"},
	}, {
		name:    "unknown user",
		args:    func(*testing.T) []string { return append(e.rsaFlags(), "--user", "nobody") },
		step:    "pod login",
		want:    []string{"HTTP 401", `unknown user "nobody"`, "Admin Console"},
		skipped: []string{"key manager login", "session info"},
	}, {
		name: "no --ca",
		args: func(*testing.T) []string {
			return rsaWith("symauth-bot", e.file("bot-private.pem"), "")
		},
		step:    "host",
		want:    []string{"not trusted", "pass --ca FILE", "ca.pem"},
		skipped: []string{"pod login", "key manager login", "session info"},
	}, {
		name: "another CA",
		args: func(t *testing.T) []string {
			return rsaWith("symauth-bot", e.file("bot-private.pem"), writeCA(t, "another CA"))
		},
		step:    "host",
		want:    []string{"not trusted", "--ca", "ca.pem"},
		skipped: []string{"pod login", "key manager login", "session info"},
	}, {
		name: "nothing listens",
		args: func(t *testing.T) []string {
			return []string{"--pod", "https://" + closedAddr(t), "--user", "symauth-bot", "--key", e.file("bot-private.pem")}
		},
		step:    "host",
		want:    []string{"connection refused", "nothing listens on 127.0.0.1:", "--pod"},
		skipped: []string{"pod login", "key manager login", "session info"},
	}, {
		name: "garbage key",
		args: func(t *testing.T) []string {
			return rsaWith("symauth-bot", writeTemp(t, "key.pem", "this is not a key\n"), e.file("ca.pem"))
		},
		step:    "key file",
		want:    []string{"no PEM private key", "BEGIN PRIVATE KEY"},
		skipped: []string{"pod login", "key manager login", "session info"},
	}, {
		name: "missing key",
		args: func(t *testing.T) []string {
			return rsaWith("symauth-bot", filepath.Join(t.TempDir(), "none.pem"), e.file("ca.pem"))
		},
		step:    "key file",
		want:    []string{"no such file", "--key"},
		skipped: []string{"pod login"},
	}, {
		name:    "public key as --key",
		args:    func(*testing.T) []string { return rsaWith("symauth-bot", e.file("bot-public.pem"), e.file("ca.pem")) },
		step:    "key file",
		want:    []string{"a public key", "private half"},
		skipped: []string{"pod login"},
	}, {
		name:    "wrong .p12 password",
		args:    func(*testing.T) []string { return append(e.certFlags(), "--password", "wrong") },
		step:    "certificate file",
		want:    []string{"wrong password", "--password", passwordEnv},
		skipped: []string{"host", "session auth login", "key manager login", "session info"},
	}, {
		name:    "certificate of another user",
		args:    func(*testing.T) []string { return append(e.certFlags(), "--user", "other-bot") },
		step:    "certificate file",
		want:    []string{`for "symauth-bot", not --user "other-bot"`},
		skipped: []string{"session auth login"},
	}, {
		name: "PKCS#12 key not the certificate's",
		args: func(t *testing.T) []string {
			return []string{"--sessionauth", e.url, "--cert", writeMismatchedPKCS12(t), "--password", "pw"}
		},
		step:    "certificate file",
		want:    []string{"the private key does not belong to the certificate", "openssl pkcs12 -export"},
		skipped: []string{"host", "session auth login"},
	}, {
		// The server's certificate request names the emulator's CA, so the
		// client does not send a certificate from another CA.
		name: "client certificate from another CA",
		args: func(t *testing.T) []string {
			cert := writeClientCert(t, pkix.Name{CommonName: "another CA"})
			return []string{"--sessionauth", e.url, "--cert", cert, "--ca", e.file("ca.pem")}
		},
		step:    "host",
		want:    []string{"asked for a client certificate, but not one like --cert", "another CA"},
		skipped: []string{"session auth login", "key manager login"},
	}, {
		// A CA named like the emulator's: the client sends the certificate,
		// and the server refuses it, after the handshake under TLS 1.3.
		name: "client certificate from an impostor CA",
		args: func(t *testing.T) []string {
			cert := writeClientCert(t, pkix.Name{Organization: []string{"symauthtest"}, CommonName: "symauthtest CA"})
			return []string{"--sessionauth", e.url, "--cert", cert, "--ca", e.file("ca.pem")}
		},
		step:    "host",
		want:    []string{"refused the client certificate", "CA"},
		skipped: []string{"session auth login", "key manager login"},
	}, {
		name:    "URL with an API path",
		args:    func(*testing.T) []string { return append(e.rsaFlags(), "--pod", e.url+"/pod/") },
		step:    "flags",
		want:    []string{"/pod", "base URL"},
		skipped: nil,
	}, {
		name:    "no credentials",
		args:    func(*testing.T) []string { return []string{"--pod", e.url} },
		step:    "flags",
		want:    []string{"give --key FILE", "--cert"},
		skipped: nil,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, steps := runCheckCmd(t, tc.args(t)...)
			if r.code != exitFail {
				t.Errorf("exit %d; want %d", r.code, exitFail)
			}
			wantStep(t, r.stdout, steps, "FAIL", tc.step, tc.want...)
			for _, name := range tc.skipped {
				wantStep(t, r.stdout, steps, "skip", name, "not run")
			}
		})
	}
}

// With the key manager of another deployment, only the key manager login
// fails: the pod login and the session stay ok.
func TestCheckKeyManagerFails(t *testing.T) {
	e, other := startEmulator(t), startEmulator(t)
	cas := writeTemp(t, "cas.pem", string(readCheckFile(t, e.file("ca.pem")))+string(readCheckFile(t, other.file("ca.pem"))))
	r, steps := runCheckCmd(t, append(e.rsaFlags(), "--km", other.url, "--ca", cas)...)
	if r.code != exitFail {
		t.Errorf("exit %d; want %d", r.code, exitFail)
	}
	wantStep(t, r.stdout, steps, "ok", "pod login")
	wantStep(t, r.stdout, steps, "FAIL", "key manager login", "/relay/pubkey/authenticate", "HTTP 401", "--km")
	wantStep(t, r.stdout, steps, "ok", "session info", `"symauth-bot"`)
}

// When the session may use simplified key delivery, the login makes no key
// manager call, and the check says so.
func TestCheckSimplifiedKeyDelivery(t *testing.T) {
	e := startEmulator(t, "--skd")
	r, steps := runCheckCmd(t, append(e.rsaFlags(), "--agent", e.url)...)
	if r.code != exitOK {
		t.Fatalf("exit %d:\n%s", r.code, r.stdout)
	}
	wantStep(t, r.stdout, steps, "ok", "key manager login", "not needed", "simplified key delivery")
	wantStep(t, r.stdout, steps, "ok", "agent", "Agent-")
}

// writeTemp writes content to a new file called name and returns its path.
func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func readCheckFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeRSAKey writes a new 2048-bit RSA key, registered nowhere, in PKCS#8
// PEM and returns its path.
func writeRSAKey(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "other-private.pem", pemKey(t, key))
}

// writeEscapedPKCS1 writes the RSA key of file in PKCS#1 PEM on one line,
// with literal \n for its line breaks, as an environment variable holds it,
// and returns its path.
func writeEscapedPKCS1(t *testing.T, file string) string {
	t.Helper()
	key, err := symauth.ParsePrivateKey(readCheckFile(t, file))
	if err != nil {
		t.Fatal(err)
	}
	text := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return writeTemp(t, "escaped.pem", strings.ReplaceAll(string(text), "\n", `\n`))
}

// writeMismatchedPKCS12 writes a PKCS#12 file, password "pw", holding a
// certificate and a key that is not its own, and returns its path.
func writeMismatchedPKCS12(t *testing.T) string {
	t.Helper()
	cert, _ := newTestCA(t, pkix.Name{CommonName: "symauth-bot"})
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	data, err := pkcs12.Modern.Encode(other, cert, nil, "pw")
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "mismatched.p12", string(data))
}

// closedAddr is a loopback address nothing listens on.
var closedAddr = testkit.ClosedAddr

// writeCA writes the certificate of a new self-signed CA called cn and
// returns its path.
func writeCA(t *testing.T, cn string) string {
	t.Helper()
	cert, _ := newTestCA(t, pkix.Name{CommonName: cn})
	return writeTemp(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
}

// writeClientCert writes, in one PEM file, a client certificate for
// symauth-bot and its key, issued by a new CA called issuer, and returns its
// path.
func writeClientCert(t *testing.T, issuer pkix.Name) string {
	t.Helper()
	ca, caKey := newTestCA(t, issuer)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{Organization: []string{"symauthtest"}, CommonName: "symauth-bot"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "client.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))+pemKey(t, key))
}

// newTestCA makes a self-signed CA certificate with subject name.
func newTestCA(t *testing.T, name pkix.Name) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               name,
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// pemKey encodes key in PKCS#8 PEM.
func pemKey(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}
