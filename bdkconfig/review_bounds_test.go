package bdkconfig_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"

	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/internal/testkit/craft"
)

// The issue: "a 1.2 MB PEM key with a huge inconsistent modulus takes 45 s
// and 6 GiB in ParsePrivateKey: bound the key size you accept". ParsePEM,
// ParsePrivateKey and ParsePKCS12 now call internal/keysize, but a JKS key
// store given as bot.certificate is decoded by javaKeyStoreCertificate
// (jks.go), which hands the key entry's PKCS#8 straight to
// x509.ParsePKCS8PrivateKey: a 125 KB key entry with a 1,000,000-bit
// inconsistent modulus holds Load for tens of seconds (the file limit, 4 MiB,
// allows a key thirty times that size: hours).
func TestReviewBoundsJKSKeySizeBounded(t *testing.T) {
	const password = "changeit"
	ks := keystore.New()
	if err := ks.SetPrivateKeyEntry("bot", keystore.PrivateKeyEntry{
		CreationTime:     time.Now(),
		PrivateKey:       craft.PKCS8(craft.RSAKey(1_000_000)),
		CertificateChain: []keystore.Certificate{{Type: "X509", Content: selfSigned(t, "jks-bot").Certificate[0]}},
	}, []byte(password)); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := ks.Store(&b, []byte(password)); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"bot.jks": b.Bytes()})
	path := writeConfig(t, dir, "host: pod.example.com\nbot:\n  username: bot\n  certificate:\n    path: bot.jks\n    password: "+password+"\n")
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := bdkconfig.Load(path, bdkconfig.WithLogger(quietLogger()))
		done <- err
	}()
	select {
	case err := <-done:
		t.Logf("Load returned after %v: %v", time.Since(start), err)
		if time.Since(start) > 5*time.Second {
			t.Errorf("Load of a %d-byte JKS took %v", b.Len(), time.Since(start))
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Load of a %d-byte JKS whose key entry holds a 1,000,000-bit RSA key did not return within 10 s", b.Len())
	}
}
