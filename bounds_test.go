package symauth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/internal/testkit/craft"
)

// Hostile credentials are refused by their size or cost parameters, before
// any expensive work: each call below returns in milliseconds once fixed.

// failSafe bounds each call: far above what the refusals take, it only turns
// a regression into a failure instead of a hang.
const failSafe = 10 * time.Second

// refusal runs fn and returns its error, or fails t if fn has not returned
// within failSafe (fn then keeps running until the test binary exits).
func refusal(t *testing.T, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(failSafe):
		t.Fatalf("no answer after %v", failSafe)
		return nil
	}
}

// A key with a 7,000,000-bit modulus (a 1.2 MB PEM file) is refused by its
// size, in both PEM forms, and as the key of a certificate PEM: crypto/x509
// would spend more than ten minutes finding it inconsistent.
func TestHugeRSAKeyRefused(t *testing.T) {
	der := craft.RSAKey(7_000_000)
	const want = "the RSA key is 7000000 bits; symauth accepts at most 16384"
	pkcs1, pkcs8 := testkit.PEM("RSA PRIVATE KEY", der), testkit.PEM("PRIVATE KEY", craft.PKCS8(der))
	for name, key := range map[string][]byte{"PKCS#1": pkcs1, "PKCS#8": pkcs8} {
		err := refusal(t, func() error { _, err := symauth.ParsePrivateKey(key); return err })
		testkit.WantError(t, err, "symauth: ParsePrivateKey: "+want)
		if strings.Contains(err.Error(), "MII") {
			t.Errorf("%s: the error shows key material: %v", name, err)
		}
	}
	certPEM := testkit.PEM("CERTIFICATE", testkit.LocalhostCertificate(t).Certificate[0])
	for name, key := range map[string][]byte{
		"PKCS#1": pkcs1, "PKCS#8": pkcs8,
		// tls.X509KeyPair reads a key block as PKCS#1 or PKCS#8 whatever its label.
		"PKCS#8 labelled PKCS#1": testkit.PEM("RSA PRIVATE KEY", craft.PKCS8(der)),
		"PKCS#1 labelled EC":     testkit.PEM("EC PRIVATE KEY", der),
	} {
		err := refusal(t, func() error { _, err := symauth.ParsePEM(append(certPEM, key...)); return err })
		testkit.WantError(t, err, "symauth: ParsePEM: "+want)
		if strings.Contains(err.Error(), "MII") {
			t.Errorf("%s: the error shows key material: %v", name, err)
		}
	}
}
