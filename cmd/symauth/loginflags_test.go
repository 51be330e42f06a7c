package main

import (
	"strings"
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
