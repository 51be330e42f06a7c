package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/internal/testkit/craft"
)

// Each kind of wrong key or certificate file gets a diagnosis of its own in
// the file step.
func TestCheckFileProblems(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	rsaDER := x509.MarshalPKCS1PrivateKey(testkit.RSAKey())
	cert := testkit.LocalhostCertificate(t)
	certPEM := string(testkit.PEM("CERTIFICATE", cert.Certificate[0]))
	encryptedPKCS1 := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00"}, Bytes: []byte{1}}))
	hugeKey := string(testkit.PEM("PRIVATE KEY", craft.PKCS8(craft.RSAKey(7_000_000)))) // a 1.2 MB file
	pod := "https://" + closedAddr(t)
	for _, tc := range []struct {
		name, flag, content, step string
		want                      []string
	}{
		{"empty key", "--key", "", "key file", []string{"the file is empty"}},
		{"DER key", "--key", string(rsaDER), "key file", []string{"binary (DER)", "openssl pkey -inform DER"}},
		{"no PEM", "--key", "just text", "key file", []string{"no PEM private key"}},
		{"encrypted PKCS#8", "--key", string(testkit.PEM("ENCRYPTED PRIVATE KEY", []byte{1})), "key file", []string{"an encrypted PKCS#8 key", "unencrypted"}},
		{"encrypted PKCS#1", "--key", encryptedPKCS1, "key file", []string{"an encrypted PKCS#1 key"}},
		{"certificate as key", "--key", certPEM, "key file", []string{"a certificate, not a private key", "--cert"}},
		{"EC key", "--key", string(testkit.PEM("EC PRIVATE KEY", ecDER)), "key file", []string{"an EC key", "openssl genrsa"}},
		{"OpenSSH key", "--key", string(testkit.PEM("OPENSSH PRIVATE KEY", []byte{1})), "key file", []string{"an OpenSSH key", "ssh-keygen"}},
		{"PKCS#8 EC key", "--key", string(testkit.PEM("PRIVATE KEY", ecPKCS8)), "key file", []string{"a PKCS#8 *ecdsa.PrivateKey"}},
		{"huge PKCS#8 key", "--key", hugeKey, "key file", []string{"the RSA key is 7000000 bits; symauth accepts at most 16384"}},
		{"PEM cert, huge key", "--cert", certPEM + hugeKey, "certificate file", []string{"the RSA key is 7000000 bits; symauth accepts at most 16384"}},
		{"PEM cert, encrypted key", "--cert", certPEM + string(testkit.PEM("ENCRYPTED PRIVATE KEY", []byte{1})), "certificate file", []string{"the private key is encrypted"}},
		{"PEM key only", "--cert", string(testkit.PEM("PRIVATE KEY", ecPKCS8)), "certificate file", []string{"no certificate (BEGIN CERTIFICATE)", "cat bot-cert.pem bot-key.pem"}},
		{"PEM certificate only", "--cert", certPEM, "certificate file", []string{"no private key in the file"}},
		{"PEM key of another certificate", "--cert", certPEM + string(testkit.PEM("PRIVATE KEY", ecPKCS8)), "certificate file", []string{"the key must be the certificate's own"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := writeTemp(t, "credential", tc.content)
			args := []string{"--pod", pod, "--user", "files-bot", "--key", file}
			if tc.flag == "--cert" {
				args = []string{"--sessionauth", pod, "--cert", file}
			}
			r, steps := runCheckCmd(t, args...)
			if r.code != exitFail {
				t.Errorf("exit %d; want %d", r.code, exitFail)
			}
			wantStep(t, r.stdout, steps, "FAIL", tc.step, tc.want...)
		})
	}
}
