package keysize_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"strings"
	"testing"

	"github.com/symauth/symauth/internal/keysize"
	"github.com/symauth/symauth/internal/testkit/craft"
)

// Real keys pass, in both forms; so does anything that is not an RSA key
// (crypto/x509 refuses it at once).
func TestKeysPass(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ec)
	ecSEC1, _ := x509.MarshalECPrivateKey(ec)
	for name, der := range map[string][]byte{
		"PKCS#1": x509.MarshalPKCS1PrivateKey(key), "PKCS#8": pkcs8,
		"EC PKCS#8": ecPKCS8, "EC SEC 1": ecSEC1, "garbage": []byte("not DER"), "empty": nil,
		// At the limits: crypto/x509 refuses these inconsistent keys quickly.
		"16384-bit modulus":         craft.RSAKey(keysize.MaxRSABits),
		"8192-bit primes":           craft.RSAKeyWith(keysize.MaxRSABits, 16000, 8192, 8192, 8000, 0, 0),
		"16 primes":                 craft.RSAKeyWith(4096, 0, 0, 0, 0, 14, 256),
		"numbers as long as the N":  craft.RSAKeyWith(4096, 4096, 2048, 2048, 4096, 1, 2048),
		"not RSA inside PKCS#8":     craft.Seq(craft.Int(0), craft.AlgorithmIdentifier(x509OIDEd25519, nil), craft.Octets(craft.RSAKey(50000))),
		"PKCS#8 holding no PKCS#1":  craft.PKCS8([]byte("garbage")),
		"PKCS#1 with trailing data": append(x509.MarshalPKCS1PrivateKey(key), 0, 0),
	} {
		if err := keysize.PrivateKey(der); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

var x509OIDEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}

// Each bound refuses the key, in both forms, naming the sizes only.
func TestOversizedKeysRefused(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		der        []byte
	}{
		{"a 16385-bit modulus", "the RSA key is 16385 bits; symauth accepts at most 16384", craft.RSAKey(keysize.MaxRSABits + 1)},
		{"a 7,000,000-bit modulus", "the RSA key is 7000000 bits; symauth accepts at most 16384", craft.RSAKey(7_000_000)},
		{"an 8193-bit prime", "the RSA key has a 8193-bit prime factor; symauth accepts at most 8192 bits", craft.RSAKeyWith(16384, 0, 8193, 0, 0, 0, 0)},
		{"a huge Q", "the RSA key has a 1000000-bit prime factor", craft.RSAKeyWith(4096, 0, 0, 1_000_000, 0, 0, 0)},
		{"a huge other prime", "the RSA key has a 9000-bit prime factor", craft.RSAKeyWith(4096, 0, 0, 0, 0, 2, 9000)},
		{"17 primes", "the RSA key has 17 prime factors; symauth accepts at most 16", craft.RSAKeyWith(4096, 0, 0, 0, 0, 15, 64)},
		{"D longer than N", "the 2048-bit RSA key is malformed: it holds a number larger than its modulus", craft.RSAKeyWith(2048, 2049, 0, 0, 0, 0, 0)},
		{"CRT values longer than N", "malformed", craft.RSAKeyWith(2048, 0, 0, 0, 1_000_000, 0, 0)},
	} {
		for form, der := range map[string][]byte{"PKCS#1": tc.der, "PKCS#8": craft.PKCS8(tc.der)} {
			err := keysize.PrivateKey(der)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s, %s: %v; want %q", tc.name, form, err, tc.want)
			}
		}
		if err := keysize.PKCS1(craft.PKCS8(tc.der)); err != nil {
			t.Errorf("%s: PKCS1 reads PKCS#8 DER: %v", tc.name, err)
		}
		if err := keysize.PKCS8(tc.der); err != nil {
			t.Errorf("%s: PKCS8 reads PKCS#1 DER: %v", tc.name, err)
		}
	}
}
