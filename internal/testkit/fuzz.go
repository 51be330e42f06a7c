package testkit

import (
	"crypto/x509"
	"testing"
	"time"

	"software.sslmate.com/src/go-pkcs12"
)

// FuzzBudget is how long one call of a parser may take before it counts as a
// hang. Normal inputs take microseconds to milliseconds, even under -race.
const FuzzBudget = 3 * time.Second

// WithinBudget runs fn and fails t if fn has not returned within FuzzBudget.
// A hung fn keeps running in its goroutine until the test binary exits: the
// test has failed by then, and the input is the reproducer.
func WithinBudget(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	timer := time.NewTimer(FuzzBudget)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s has not returned after %v: a hang", what, FuzzBudget)
	}
}

// Reshape returns s with its ASCII letters and digits replaced by others
// (ROT13, digits shifted by 5), so that text made from s is told from fixed
// text; s with an "x" in front when it has none.
func Reshape(s string) string {
	out := []byte(s)
	changed := false
	for i, c := range out {
		switch {
		case c >= 'a' && c <= 'z':
			out[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			out[i] = 'A' + (c-'A'+13)%26
		case c >= '0' && c <= '9':
			out[i] = '0' + (c-'0'+5)%10
		default:
			continue
		}
		changed = true
	}
	if !changed {
		return "x" + s
	}
	return string(out)
}

// P12 is a PKCS#12 file and the password that opens it.
type P12 struct {
	Data     []byte
	Password string
}

// PKCS12Seeds encodes a throw-away P-256 key and its self-signed certificate
// (CN localhost) with every encoder of go-pkcs12, and, last, a trust store.
func PKCS12Seeds(tb testing.TB) []P12 {
	tb.Helper()
	cert := LocalhostCertificate(tb)
	var out []P12
	for _, enc := range []struct {
		e        *pkcs12.Encoder
		password string
	}{
		{pkcs12.Modern, "test-only-password"},
		{pkcs12.LegacyRC2, "changeit"},
		{pkcs12.LegacyDES, "pässwörd"},
		{pkcs12.Passwordless, ""},
	} {
		data, err := enc.e.Encode(cert.PrivateKey, cert.Leaf, []*x509.Certificate{cert.Leaf}, enc.password)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, P12{data, enc.password})
	}
	store, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{cert.Leaf}, "trust-store-password")
	if err != nil {
		tb.Fatal(err)
	}
	return append(out, P12{store, "trust-store-password"})
}
