package symauth_test

// Fuzz targets of the exported parsers of key material: ParsePrivateKey and
// ParsePKCS12 (bdkconfig has the configuration's). Their seed corpora are in
// testdata/fuzz/<FuzzName>; the keys there are throw-away 1024-bit (RSA) and
// P-256 (EC) test-only keys, generated for the corpus and used nowhere else.
// Run one with
//
//	go test -run '^$' -fuzz '^FuzzParsePKCS12$' -fuzztime 60s -fuzzminimizetime 5s .
//
// -fuzzminimizetime keeps the fuzzer fuzzing: one call with an RSA key or a
// PKCS#12 file in it takes milliseconds, so minimizing each new interesting
// input for the default 60 s would use the whole run.
//
// Every target asserts properties of the result, not only that nothing
// panics; each call must also return within testkit.FuzzBudget (no hang). The seeds
// run in every go test.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/internal/testkit/craft"
)

// fuzzBase64Windows returns every window of n base64 characters in s.
func fuzzBase64Windows(s string, n int) []string {
	isB64 := func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
	}
	var out []string
	run := 0
	for i := 0; i < len(s); i++ {
		if !isB64(s[i]) {
			run = 0
			continue
		}
		if run++; run >= n {
			out = append(out, s[i+1-n:i+1])
		}
	}
	return out
}

// FuzzParsePrivateKey parses arbitrary bytes as a PEM private key.
//
// A success is an *rsa.PrivateKey that Validates and survives a PKCS#1
// round trip; a failure has no key and a short message holding none of the
// input (no run of 16 base64 characters of it). Writing the input's newlines
// as a literal backslash-n, as environment variables carry keys, changes
// nothing: same key, same error.
func FuzzParsePrivateKey(f *testing.F) {
	rsaKey := botKey()
	pkcs1 := testkit.PEM("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))
	pkcs8DER, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		f.Fatal(err)
	}
	pkcs8 := testkit.PEM("PRIVATE KEY", pkcs8DER)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		f.Fatal(err)
	}
	ecPKCS8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		f.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	edPKCS8, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		f.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(rsaKey.Public())
	if err != nil {
		f.Fatal(err)
	}
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"},
		Bytes:   []byte("not really encrypted")})
	for _, seed := range [][]byte{
		pkcs1,
		pkcs8,
		bytes.ReplaceAll(pkcs8, []byte("\n"), []byte(`\n`)),                       // as an environment variable holds it
		bytes.ReplaceAll(pkcs1, []byte("\n"), []byte("\r\n")),                     // Windows line ends
		append(testkit.PEM("EC PARAMETERS", []byte{6, 8, 42, 134, 72}), pkcs1...), // a block to skip first
		pkcs1[:len(pkcs1)/2],                                   // truncated
		testkit.PEM("RSA PRIVATE KEY", pkcs8DER),               // PKCS#8 under the PKCS#1 label
		testkit.PEM("PRIVATE KEY", pkcs8DER[:len(pkcs8DER)-9]), // truncated DER
		testkit.PEM("EC PRIVATE KEY", ecDER),
		testkit.PEM("PRIVATE KEY", ecPKCS8),
		testkit.PEM("PRIVATE KEY", edPKCS8),
		testkit.PEM("PUBLIC KEY", pubDER),
		testkit.PEM("ENCRYPTED PRIVATE KEY", []byte("opaque")),
		encrypted,
		[]byte("-----BEGIN RSA PRIVATE KEY-----\n!!!not base64!!!\n-----END RSA PRIVATE KEY-----\n"),
		[]byte(base64.StdEncoding.EncodeToString(pkcs8DER)), // DER in base64 without PEM armour
		[]byte("not a key at all"),
		{},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := symauth.ParsePrivateKey(data)
		fuzzCheckKey(t, data, key, err)
		envForm := bytes.ReplaceAll(data, []byte("\n"), []byte(`\n`))
		key2, err2 := symauth.ParsePrivateKey(envForm)
		switch {
		case (err == nil) != (err2 == nil):
			t.Fatalf("newlines written as \\n change the outcome: %v, then %v", err, err2)
		case err != nil && err.Error() != err2.Error():
			t.Fatalf("newlines written as \\n change the error: %q, then %q", err, err2)
		case key != nil && !key.Equal(key2):
			t.Fatalf("newlines written as \\n give another key")
		}
	})
}

func fuzzCheckKey(t *testing.T, data []byte, key *rsa.PrivateKey, err error) {
	t.Helper()
	if err == nil {
		if key == nil {
			t.Fatal("no key and no error")
		}
		if verr := key.Validate(); verr != nil {
			t.Fatalf("the parsed key does not Validate: %v", verr)
		}
		again, perr := x509.ParsePKCS1PrivateKey(x509.MarshalPKCS1PrivateKey(key))
		if perr != nil || !again.Equal(key) {
			t.Fatalf("the parsed key does not survive a PKCS#1 round trip: %v", perr)
		}
		return
	}
	if key != nil {
		t.Fatalf("a key and an error: %v", err)
	}
	msg := err.Error()
	if len(msg) > 256 {
		t.Fatalf("error of %d bytes: %.300q", len(msg), msg)
	}
	text := strings.ReplaceAll(string(data), `\n`, "\n")
	for _, w := range fuzzBase64Windows(msg, 16) {
		if strings.Contains(text, w) {
			t.Fatalf("error %q shows %q of the input", msg, w)
		}
	}
}

// FuzzParsePKCS12 reads arbitrary bytes as a PKCS#12 file with an arbitrary
// password.
//
// It returns within testkit.FuzzBudget. A success holds the leaf first, its parsed
// Leaf, and a private key that belongs to it. A failure never shows the
// password: when the message holds the password's text, the same call with
// another password of the same shape must show it too (it is then fixed text
// or text of the file, not the password).
func FuzzParsePKCS12(f *testing.F) {
	for _, s := range testkit.PKCS12Seeds(f) {
		f.Add(s.Data, s.Password)
		f.Add(s.Data, "wrong-password")
		f.Add(s.Data[:len(s.Data)*2/3], s.Password)
	}
	f.Add([]byte{0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2}, "changeit") // a JKS file
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n"), "changeit")
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03}, "😀 not UCS-2")
	f.Add([]byte{}, "")
	cert := testkit.LocalhostCertificate(f)
	key, _ := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	for _, p := range []craft.PKCS12{ // a MAC and a hidden key asking for 2^40 iterations, salts tagged [4]
		{MAC: craft.PBMAC1{KDF: craft.PBKDF2{Iterations: craft.Huge, Salt: craft.Salt{Class: asn1.ClassContextSpecific}}}},
		{MAC: craft.PBMAC1{KDF: craft.PBKDF2{Iterations: 2}}, Contents: craft.PBES2{KDF: craft.PBKDF2{Iterations: 2}},
			Key: craft.PBES2{KDF: craft.PBKDF2{Iterations: craft.Huge, Salt: craft.Salt{Class: asn1.ClassContextSpecific}}}, KeyWithCertificate: true},
	} {
		p.Password, p.Certificate, p.PrivateKey = "changeit", cert.Certificate[0], key
		f.Add(p.Encode(), "changeit")
	}
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		if len(data) > 64<<10 {
			return
		}
		var cert tls.Certificate
		var err error
		testkit.WithinBudget(t, "ParsePKCS12", func() { cert, err = symauth.ParsePKCS12(data, password) })
		if err == nil {
			fuzzCheckCertificate(t, cert)
			return
		}
		msg := err.Error()
		if password == "" || !strings.Contains(msg, password) {
			return
		}
		// The password's text is in the message: fixed text, text of the
		// file, or the password itself. Only the last follows the password.
		other := testkit.Reshape(password)
		if strings.Contains(msg, other) {
			return // cannot tell
		}
		var errOther error
		testkit.WithinBudget(t, "ParsePKCS12", func() { _, errOther = symauth.ParsePKCS12(data, other) })
		if errOther != nil && strings.Contains(errOther.Error(), other) {
			t.Fatalf("the error shows the password %q: %q (with password %q: %v)", password, msg, other, errOther)
		}
	})
}

func fuzzCheckCertificate(t *testing.T, cert tls.Certificate) {
	t.Helper()
	if len(cert.Certificate) == 0 || cert.Leaf == nil || !bytes.Equal(cert.Certificate[0], cert.Leaf.Raw) {
		t.Fatalf("success without the leaf first and parsed: %d certificates, Leaf %v", len(cert.Certificate), cert.Leaf != nil)
	}
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		t.Fatalf("success with a private key of type %T", cert.PrivateKey)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.Leaf.PublicKey) {
		t.Fatal("success with a private key that is not the leaf's")
	}
}
