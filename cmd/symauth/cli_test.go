package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/symauth/symauth"
)

func TestHelp(t *testing.T) {
	r := runCLI(t, "help")
	if r.code != 0 {
		t.Fatalf("help: exit %d", r.code)
	}
	for name := range commands() {
		if !strings.Contains(r.stdout, name) {
			t.Errorf("help does not list %s", name)
		}
		h := runCLI(t, name, "-h")
		if h.code != 0 || !strings.Contains(h.stderr, "Usage: symauth "+name) {
			t.Errorf("%s -h: exit %d\n%s", name, h.code, h.stderr)
		}
		if via := runCLI(t, "help", name); via.code != 0 || via.stderr != h.stderr {
			t.Errorf("help %s differs from %s -h", name, name)
		}
	}
	if r := runCLI(t); r.code != exitUsage {
		t.Errorf("no command: exit %d; want %d", r.code, exitUsage)
	}
	if r := runCLI(t, "frobnicate"); r.code != exitUsage || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %s", r.code, r.stderr)
	}
	if r := runCLI(t, "token", "--no-such-flag"); r.code != exitUsage {
		t.Errorf("bad flag: exit %d", r.code)
	}
	if r := runCLI(t, "token", "stray"); r.code != exitUsage || !strings.Contains(r.stderr, `unexpected argument "stray"`) {
		t.Errorf("stray argument: exit %d, %s", r.code, r.stderr)
	}
}

// The emulator writes files that a client accepts as they are.
func TestEmulatorFiles(t *testing.T) {
	e := startEmulator(t)
	for _, name := range []string{"ca.pem", "bot-private.pem", "bot-public.pem", "bot.p12", "config.yaml"} {
		info, err := os.Stat(e.file(name))
		if err != nil {
			t.Fatal(err)
		}
		if private := name == "bot-private.pem" || name == "bot.p12"; private && info.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s is readable by others: %v", name, info.Mode())
		}
	}
	key, err := symauth.ParsePrivateKey(readFile(t, e.file("bot-private.pem")))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(readFile(t, e.file("bot-public.pem")))
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil || !key.PublicKey.Equal(pub) {
		t.Fatalf("bot-public.pem is not the public half of bot-private.pem: %v", err)
	}
	cert, err := symauth.ParsePKCS12(readFile(t, e.file("bot.p12")), "changeit")
	if err != nil || cert.Leaf.Subject.CommonName != "symauth-bot" {
		t.Fatalf("bot.p12: %v", err)
	}
	config := string(readFile(t, e.file("config.yaml")))
	for _, want := range []string{"host: 127.0.0.1", "username: symauth-bot", e.file("bot-private.pem"), e.file("ca.pem")} {
		if !strings.Contains(config, want) {
			t.Errorf("config.yaml lacks %q:\n%s", want, config)
		}
	}
}

func TestWhoami(t *testing.T) {
	e := startEmulator(t)
	for name, flags := range map[string][]string{"RSA": e.rsaFlags(), "certificate": e.certFlags()} {
		r := runCLI(t, append([]string{"whoami"}, flags...)...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "symauth-bot (user id ") {
			t.Errorf("%s: exit %d\nstdout: %s\nstderr: %s", name, r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stdout+r.stderr, "eyJ") {
			t.Errorf("%s: whoami printed a token", name)
		}
	}
	logs := e.stderr()
	if !strings.Contains(logs, "login ok") || strings.Contains(logs, "eyJ") {
		t.Errorf("emulator log: want login lines and no token:\n%s", logs)
	}
}

// token prints tokens that work with any HTTP client, such as curl.
func TestToken(t *testing.T) {
	e := startEmulator(t)
	r := runCLI(t, append([]string{"token", "--json"}, e.certFlags()...)...)
	if r.code != 0 {
		t.Fatalf("token --json: exit %d: %s", r.code, r.stderr)
	}
	var tok struct{ SessionToken, KeyManagerToken string }
	if err := json.Unmarshal([]byte(r.stdout), &tok); err != nil || tok.SessionToken == "" || tok.KeyManagerToken == "" {
		t.Fatalf("token --json output %q: %v", r.stdout, err)
	}

	r = runCLI(t, append([]string{"token"}, e.rsaFlags()...)...)
	exports := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		name, value, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok || !strings.HasPrefix(value, "'") || !strings.HasSuffix(value, "'") {
			t.Fatalf("not a quoted export line: %q", line)
		}
		exports[name] = strings.Trim(value, "'")
	}
	if r.stderr != "" {
		t.Errorf("token wrote to stderr: %s", r.stderr)
	}

	// Use the printed tokens the way curl would.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(readFile(t, e.file("ca.pem")))
	client := &http.Client{Transport: httpTransport(pool)}
	defer client.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, e.url+"/agent/v5/datafeeds", nil)
	req.Header.Set("sessionToken", exports["SYMPHONY_SESSION_TOKEN"])
	req.Header.Set("keyManagerToken", exports["SYMPHONY_KEY_MANAGER_TOKEN"])
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("agent call with the printed tokens: %s", resp.Status)
	}
}

func TestLoginFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"token"}, "give --key FILE (RSA login) or --cert FILE"},
		{[]string{"token", "--key", "k", "--cert", "c"}, "not both"},
		{[]string{"token", "--key", "k", "--user", "u"}, "--key needs --pod URL"},
		{[]string{"token", "--key", "k", "--pod", "https://p"}, "--key needs --user NAME"},
		{[]string{"token", "--cert", "c"}, "--cert needs --sessionauth URL"},
		{[]string{"token", "--key", "/nonexistent/key.pem", "--pod", "https://p", "--user", "u"}, "--key: open /nonexistent/key.pem"},
		{[]string{"whoami", "--key", "k", "--user", "u"}, "--pod URL is needed"},
		{[]string{"token", "--cert", "c", "--sessionauth", "https://s", "--ca", "/nonexistent/ca.pem"}, "--ca: open /nonexistent/ca.pem"},
	} {
		r := runCLI(t, tc.args...)
		if r.code != exitFail || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// A malformed URL is reported under its flag's name, not the config field's.
func TestConfigErrorsNameTheFlag(t *testing.T) {
	e := startEmulator(t)
	r := runCLI(t, "token", "--pod", "ftp://pod", "--user", "symauth-bot", "--key", e.file("bot-private.pem"))
	if r.code != exitFail || !strings.Contains(r.stderr, "--pod must start with https://") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// --user registers another user's public key; that user can then log in.
func TestEmulatorUserFlag(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	privDER, _ := x509.MarshalPKCS8PrivateKey(key)
	pub, priv := filepath.Join(dir, "alice-public.pem"), filepath.Join(dir, "alice-private.pem")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	e := startEmulator(t, "--user", "alice="+pub, "--session-ttl", "1h")
	r := runCLI(t, "whoami", "--pod", e.url, "--user", "alice", "--key", priv, "--ca", e.file("ca.pem"))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "alice ") {
		t.Fatalf("whoami as alice: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, bad := range [][]string{{"--user", "alice"}, {"--user", "alice=" + priv}, {"--key-bits", "1024"}, {"--session-ttl", "-1s"}} {
		if r := runCLI(t, append([]string{"emulator", "--addr", "127.0.0.1:0"}, bad...)...); r.code == 0 {
			t.Errorf("emulator %v: exit 0; want a refusal", bad)
		}
	}
}
