package symauth_test

import (
	"encoding/asn1"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit/craft"
)

// A 146-byte PFX whose MAC is PBMAC1 with PBKDF2 at exactly the guard's
// limit (1,000,000 iterations), its PRF absent (HMAC-SHA-1, 20-byte blocks)
// and a 64-byte key: four PBKDF2 blocks, 4 million HMAC-SHA-1, per MAC
// computation. Its digest is random: making it needs no password, no key,
// no certificate. With the empty password (a bot.certificate without
// password), go-pkcs12 computes the MAC twice (the "\0\0" password, then the
// nil one, which PBMAC1 turns into the same empty UTF-8 password), and
// pkcs12guard.Check repeats both before the decoder runs: 16 million
// HMAC-SHA-1 before ParsePKCS12 can say "wrong password". The guard bounds
// iterations per derivation, not the work: blocks × iterations × repeats.
func TestReviewBoundsPKCS12AtLimitCost(t *testing.T) {
	kdf := craft.Seq(craft.Octets([]byte("sixteen byte slt")), craft.Int(1_000_000), craft.Int(64))
	alg := craft.AlgorithmIdentifier(craft.OIDPBMAC1, craft.Seq(
		craft.AlgorithmIdentifier(craft.OIDPBKDF2, kdf),
		craft.AlgorithmIdentifier(asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}, craft.Null)))
	mac := craft.Seq(craft.Seq(alg, craft.Octets(make([]byte, 20))), craft.Octets([]byte("x")), craft.Int(1))
	authSafe := craft.Seq(craft.Seq(craft.OID(craft.OIDData), craft.Explicit0(craft.Octets(craft.Seq()))))
	der := craft.Seq(craft.Int(3), craft.Seq(craft.OID(craft.OIDData), craft.Explicit0(craft.Octets(authSafe))), mac)

	done := make(chan error, 1)
	start := time.Now()
	go func() { _, err := symauth.ParsePKCS12(der, ""); done <- err }()
	select {
	case err := <-done:
		took := time.Since(start)
		t.Logf("ParsePKCS12: %v, after %v", err, took)
		if took > 3*time.Second {
			t.Errorf("a %d-byte PKCS#12 file, made without any password, costs ParsePKCS12 %v", len(der), took)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("ParsePKCS12 did not return within 30 s")
	}
}
