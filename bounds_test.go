package symauth_test

import (
	"crypto/x509"
	"encoding/asn1"
	"fmt"
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

// PKCS#12 files asking for 2^40 key-derivation iterations (about 40 hours of
// a core) are refused before go-pkcs12 runs any: through the PBMAC1 MAC of
// RFC 9579 whatever the password, and, with the password, through a shrouded
// key's or the encrypted contents' PBES2, the key hidden in the encrypted
// contents too. Each salt is tagged [4], which go-pkcs12 takes for an OCTET
// STRING. An RSA key of 7,000,000 bits in the file is refused by its size.
func TestPKCS12BombsRefused(t *testing.T) {
	cert := testkit.LocalhostCertificate(t)
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	const password = "changeit"
	small := craft.PBKDF2{Iterations: 2048}
	huge := craft.PBKDF2{Iterations: craft.Huge, Salt: craft.Salt{Class: asn1.ClassContextSpecific}}
	const iterations = "symauth: ParsePKCS12: the PKCS#12 file's %s asks for 1099511627776 key-derivation iterations; symauth runs at most 1000000"
	for _, tc := range []struct {
		name, want string
		file       craft.PKCS12
		passwords  []string
	}{
		{"PBMAC1 MAC", fmt.Sprintf(iterations, "MAC"),
			craft.PKCS12{MAC: craft.PBMAC1{KDF: huge}, Key: craft.PBES2{KDF: small}, Contents: craft.PBES2{KDF: small}},
			[]string{password, "any other", ""}},
		{"shrouded key", fmt.Sprintf(iterations, "shrouded key"),
			craft.PKCS12{MAC: craft.PBMAC1{KDF: small}, Key: craft.PBES2{KDF: huge}, Contents: craft.PBES2{KDF: small}},
			[]string{password}},
		{"encrypted contents", fmt.Sprintf(iterations, "encrypted contents"),
			craft.PKCS12{MAC: craft.PBMAC1{KDF: small}, Key: craft.PBES2{KDF: small}, Contents: craft.PBES2{KDF: huge}},
			[]string{password}},
		{"shrouded key in the encrypted contents", fmt.Sprintf(iterations, "shrouded key"),
			craft.PKCS12{MAC: craft.PBMAC1{KDF: small}, Key: craft.PBES2{KDF: huge}, Contents: craft.PBES2{KDF: small}, KeyWithCertificate: true},
			[]string{password}},
		{"huge RSA key", "symauth: ParsePKCS12: the RSA key is 7000000 bits; symauth accepts at most 16384",
			craft.PKCS12{MAC: craft.PBMAC1{KDF: small}, Contents: craft.PBES2{KDF: small}, PrivateKey: craft.PKCS8(craft.RSAKey(7_000_000))},
			[]string{password}},
		{"huge shrouded RSA key", "symauth: ParsePKCS12: the RSA key is 7000000 bits; symauth accepts at most 16384",
			craft.PKCS12{MAC: craft.PBMAC1{KDF: small}, Key: craft.PBES2{KDF: small}, PrivateKey: craft.PKCS8(craft.RSAKey(7_000_000))},
			[]string{password}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.file
			p.Password, p.Certificate = password, cert.Certificate[0]
			if p.PrivateKey == nil {
				p.PrivateKey = keyDER
			}
			data := p.Encode()
			for _, pw := range tc.passwords {
				err := refusal(t, func() error { _, err := symauth.ParsePKCS12(data, pw); return err })
				if err == nil || err.Error() != tc.want {
					t.Errorf("password %q: %v; want %q", pw, err, tc.want)
				}
			}
		})
	}
}
