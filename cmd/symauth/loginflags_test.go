package main

import (
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A PKCS#12 file given as --key is recognized as one, by token, whoami and
// check, with the advice to give it as --cert.
func TestPKCS12AsKey(t *testing.T) {
	p12 := writeMismatchedPKCS12(t) // a PKCS#12 file, whatever it holds
	rsaLogin := []string{"--pod", "https://" + closedAddr(t), "--user", "p12-bot", "--key", p12}
	for _, cmd := range []string{"token", "whoami"} {
		r := runCLI(t, append([]string{cmd}, rsaLogin...)...)
		want := "--key: " + p12 + " is a PKCS#12 file (a certificate and its key), not a PEM private key: for certificate login, give it as --cert " + p12
		if r.code != exitFail || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: exit %d, stderr %q; want %q", cmd, r.code, r.stderr, want)
		}
	}
	r, steps := runCheckCmd(t, rsaLogin...)
	wantStep(t, r.stdout, steps, "FAIL", "key file", p12+": a PKCS#12 file", "this is a PKCS#12 certificate", "--cert "+p12+" with --sessionauth URL")
}

// retryPod is a pod over TLS whose login endpoints answer status, and
// count the calls; with status 200, they answer a token, and the session
// info answers 500.
type retryPod struct {
	*httptest.Server
	calls atomic.Int32
	ca    string // the file of its certificate
}

func newRetryPod(t *testing.T, status int) *retryPod {
	t.Helper()
	p := &retryPod{}
	p.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pod/v2/sessioninfo" {
			http.Error(w, `{"message":"broken"}`, http.StatusInternalServerError)
			return
		}
		p.calls.Add(1)
		if status == http.StatusOK {
			_, _ = io.WriteString(w, `{"name":"sessionToken","token":"not-a-jwt"}`)
			return
		}
		w.Header().Set("Retry-After", "0") // retried at once
		w.WriteHeader(status)
	}))
	t.Cleanup(p.Close)
	p.ca = writeTemp(t, "pod-ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.Certificate().Raw})))
	return p
}

// A command whose login fails says how many attempts the login made, and
// where, and suggests symauth check; a command that fails after its login
// suggests symauth check alone. Check itself says how many attempts a login
// that retried made.
func TestLoginFailureSaysAttempts(t *testing.T) {
	key := writeRSAKey(t)
	for _, tc := range []struct {
		name      string
		status    int
		config    bool
		attempts  string // "" when the login does not fail
		retries   string
		checkHint string
	}{
		{"overloaded", http.StatusServiceUnavailable, false, "5 attempts", "retries included", `run "symauth check" with the same login flags`},
		{"overloaded, --config", http.StatusServiceUnavailable, true, "10 attempts", "retries included", `run "symauth check --config `},
		{"refused", http.StatusUnauthorized, false, "1 attempt", "not retried", `run "symauth check" with the same login flags`},
		{"login ok, API broken", http.StatusOK, false, "", "", `run "symauth check" with the same login flags`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pod := newRetryPod(t, tc.status)
			login := []string{"--pod", pod.URL, "--user", "retry-bot", "--key", key, "--ca", pod.ca}
			if tc.config {
				port := configPort(t, pod.URL)
				login = []string{"--config", writeTemp(t, "config.yaml", "scheme: https\nhost: 127.0.0.1\nport: "+port+
					"\nbot:\n  username: retry-bot\n  privateKey:\n    path: "+key+"\nssl:\n  trustStore:\n    path: "+pod.ca+"\n")}
			}
			for _, cmd := range []string{"token", "whoami"} {
				if cmd == "token" && tc.attempts == "" {
					continue // token makes no API call
				}
				before := pod.calls.Load()
				r := runCLI(t, append([]string{cmd}, login...)...)
				if r.code != exitFail {
					t.Errorf("%s: exit %d; want %d", cmd, r.code, exitFail)
				}
				if !strings.Contains(r.stderr, tc.checkHint) {
					t.Errorf("%s does not suggest symauth check (%q):\n%s", cmd, tc.checkHint, r.stderr)
				}
				if tc.attempts == "" {
					if strings.Contains(r.stderr, "attempt") {
						t.Errorf("%s: a failure after the login speaks of login attempts:\n%s", cmd, r.stderr)
					}
					continue
				}
				want := fmt.Sprintf("the login failed after %s at /login/pubkey/authenticate (%s)", tc.attempts, tc.retries)
				if !strings.Contains(r.stderr, want) {
					t.Errorf("%s does not say %q:\n%s", cmd, want, r.stderr)
				}
				if got, said := pod.calls.Load()-before, strings.Fields(tc.attempts)[0]; fmt.Sprint(got) != said {
					t.Errorf("%s: the pod got %d login calls; the command says %s", cmd, got, said)
				}
			}
			// check says it in the failed login's detail, when the login retried.
			before := pod.calls.Load()
			r, steps := runCheckCmd(t, login...)
			if tc.attempts == "" {
				wantStep(t, r.stdout, steps, "FAIL", "session info", "HTTP 500")
				return
			}
			retried := fmt.Sprintf("(after %s, retries included)", tc.attempts)
			if tc.retries != "retries included" {
				if strings.Contains(r.stdout, "attempt") {
					t.Errorf("check speaks of attempts for a login that was not retried:\n%s", r.stdout)
				}
				return
			}
			wantStep(t, r.stdout, steps, "FAIL", "pod login", "HTTP 503", retried)
			if got, said := pod.calls.Load()-before, strings.Fields(tc.attempts)[0]; fmt.Sprint(got) != said {
				t.Errorf("check: the pod got %d login calls; check says %s", got, said)
			}
		})
	}
}
