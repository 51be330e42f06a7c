package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// No command but `token` prints a token, and none prints key material: not
// on stdout, not on stderr, not in the emulator's log — after successes and
// after failures.
func TestCLINeverPrintsSecrets(t *testing.T) {
	e := startEmulator(t)
	r := runCLI(t, append([]string{"token", "--json"}, e.rsaFlags()...)...)
	var tok struct{ SessionToken, KeyManagerToken string }
	if err := json.Unmarshal([]byte(r.stdout), &tok); err != nil || tok.SessionToken == "" {
		t.Fatalf("token --json: %v %q", err, r.stdout)
	}
	keyPEM := string(readFile(t, e.file("bot-private.pem")))
	keyBody := strings.Split(keyPEM, "\n")[3] // a line of the key's base64, not its header

	wrongKey := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(wrongKey, []byte(strings.Replace(keyPEM, keyBody, strings.Repeat("A", len(keyBody)), 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	var outputs []string
	for _, args := range [][]string{
		append([]string{"whoami"}, e.rsaFlags()...),
		append([]string{"whoami"}, e.certFlags()...),
		append([]string{"check"}, e.rsaFlags()...),
		append([]string{"check"}, e.certFlags()...),
		{"check", "--config", e.file("config.yaml")},
		{"whoami", "--pod", e.url, "--user", "nobody", "--key", e.file("bot-private.pem"), "--ca", e.file("ca.pem")},
		{"check", "--pod", e.url, "--user", "symauth-bot", "--key", wrongKey, "--ca", e.file("ca.pem")},
		{"token", "--pod", e.url, "--user", "nobody", "--key", e.file("bot-private.pem"), "--ca", e.file("ca.pem")},
		{"token", "--sessionauth", e.url, "--cert", e.file("bot.p12"), "--password", "wrong-password", "--ca", e.file("ca.pem")},
		{"demo", "-requests", "200", "-workers", "8", "-session-ends", "1"},
	} {
		r := runCLI(t, args...)
		outputs = append(outputs, r.stdout, r.stderr)
	}
	outputs = append(outputs, e.stderr())
	for _, out := range outputs {
		for what, secret := range map[string]string{
			"session token": tok.SessionToken, "key manager token": tok.KeyManagerToken,
			"private key": keyBody, "PEM block": "PRIVATE KEY-----", "password": "wrong-password", "JWT": "eyJ",
		} {
			if strings.Contains(out, secret) {
				t.Errorf("output shows the %s:\n%.400s", what, out)
			}
		}
	}
}
