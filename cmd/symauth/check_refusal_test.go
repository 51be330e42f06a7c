package main

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os/exec"
	"strings"
	"testing"

	"github.com/symauth/symauth"
)

// The tests of what check says about a pod's refusal of an RSA login: which
// of the user and the key it refused, and the key's fingerprint.

// publicKeyFingerprint is the fingerprint check prints for the public key in
// the PEM file pubFile, computed here from the file's own DER.
func publicKeyFingerprint(t *testing.T, pubFile string) string {
	t.Helper()
	block, _ := pem.Decode(readCheckFile(t, pubFile))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("%s holds no PEM public key", pubFile)
	}
	sum := sha256.Sum256(block.Bytes)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// The key file step shows the fingerprint of the key's public half, the one
// the emulator registered as bot-public.pem, and the command that check's
// advice gives computes the same from that file.
func TestCheckShowsKeyFingerprint(t *testing.T) {
	e := startEmulator(t)
	r, steps := runCheckCmd(t, e.rsaFlags()...)
	want := publicKeyFingerprint(t, e.file("bot-public.pem"))
	wantStep(t, r.stdout, steps, "ok", "key file", "public key "+want)
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skipf("openssl is not installed: %v", err)
	}
	cmd := strings.Replace(fingerprintCommand, "PUBLIC.pem", e.file("bot-public.pem"), 1)
	out, err := exec.Command("sh", "-c", cmd).Output()
	if err != nil {
		t.Fatalf("%s: %v", cmd, err)
	}
	if got := "SHA256:" + strings.TrimSpace(string(out)); got != want {
		t.Errorf("%s prints %s; check prints %s", cmd, got, want)
	}
}

// An unknown user gets the advice about --user alone; a key that is not the
// registered one, the advice about the key, naming the file given and its
// fingerprint, and no word about the user.
func TestCheckTellsUserFromKey(t *testing.T) {
	e := startEmulator(t)
	otherKey := writeRSAKey(t)
	otherPub := writePublicHalf(t, otherKey)

	r, steps := runCheckCmd(t, "--pod", e.url, "--user", "nobody", "--key", e.file("bot-private.pem"), "--ca", e.file("ca.pem"))
	wantStep(t, r.stdout, steps, "FAIL", "pod login", `unknown user "nobody"`, `the pod knows no user "nobody"`, "--user", "Admin Console")
	if strings.Contains(r.stdout, "public half") || strings.Contains(r.stdout, "240 s") {
		t.Errorf("an unknown user gets advice about the key or the clock:\n%s", r.stdout)
	}

	r, steps = runCheckCmd(t, "--pod", e.url, "--user", "symauth-bot", "--key", otherKey, "--ca", e.file("ca.pem"))
	wantStep(t, r.stdout, steps, "FAIL", "pod login", "signature does not verify",
		`no public key for "symauth-bot" that matches --key `+otherKey, "openssl pkey -in "+otherKey+" -pubout",
		"the public half of --key "+otherKey+" has the fingerprint "+publicKeyFingerprint(t, otherPub), fingerprintCommand)
	if strings.Contains(r.stdout, "knows no user") || strings.Contains(r.stdout, "check that --user") {
		t.Errorf("a wrong key gets advice about the user:\n%s", r.stdout)
	}

	// With --config, the advice names the configuration's key.
	config := writeTemp(t, "config.yaml", strings.Replace(string(readCheckFile(t, e.file("config.yaml"))),
		e.file("bot-private.pem"), otherKey, 1))
	r, steps = runCheckCmd(t, "--config", config)
	wantStep(t, r.stdout, steps, "FAIL", "pod login", "signature does not verify",
		"matches bot.privateKey "+otherKey, "openssl pkey -in "+otherKey)
}

// writePublicHalf writes the public half of the private key in keyFile as a
// PEM PUBLIC KEY and returns its path.
func writePublicHalf(t *testing.T, keyFile string) string {
	t.Helper()
	key, err := symauth.ParsePrivateKey(readCheckFile(t, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, "public.pem", string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
}
