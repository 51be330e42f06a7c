package main

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The tests of --config: token, whoami and check with a BDK configuration.

// configPort is the port of the emulator at u.
func configPort(t *testing.T, u string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Port()
}

// The emulator's config.yaml works as it is with every client command.
func TestConfigFlag(t *testing.T) {
	e := startEmulator(t)
	config := e.file("config.yaml")

	r := runCLI(t, "token", "--config", config)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("token --config: exit %d\n%s", r.code, r.stderr)
	}
	for _, name := range []string{"SYMPHONY_SESSION_TOKEN", "SYMPHONY_KEY_MANAGER_TOKEN"} {
		if !strings.Contains(r.stdout, "export "+name+"='") {
			t.Errorf("token --config: no %s export:\n%s", name, r.stdout)
		}
	}

	r = runCLI(t, "token", "--json", "--config", config)
	var tok struct{ SessionToken, KeyManagerToken string }
	if err := json.Unmarshal([]byte(r.stdout), &tok); r.code != 0 || err != nil || tok.SessionToken == "" || tok.KeyManagerToken == "" {
		t.Fatalf("token --json --config: exit %d, %v\n%s", r.code, err, r.stderr)
	}

	r = runCLI(t, "whoami", "--config", config)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "symauth-bot (user id ") || !strings.Contains(r.stdout, "pod:          "+e.url) {
		t.Errorf("whoami --config: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "eyJ") {
		t.Error("whoami --config printed a token")
	}

	r, steps := runCheckCmd(t, "--config", config)
	if r.code != exitOK {
		t.Fatalf("check --config: exit %d\n%s", r.code, r.stdout)
	}
	var names []string
	for _, s := range steps {
		names = append(names, s.name)
	}
	want := "config, key file, trust store, host, pod login, key manager login, session info, agent"
	if got := strings.Join(names, ", "); got != want {
		t.Errorf("steps %s; want %s\n%s", got, want, r.stdout)
	}
	wantStep(t, r.stdout, steps, "ok", "config", config, `RSA login as "symauth-bot"`)
	wantStep(t, r.stdout, steps, "ok", "key file", e.file("bot-private.pem"), "checked while loading "+config)
	wantStep(t, r.stdout, steps, "ok", "trust store", e.file("ca.pem"))
	wantStep(t, r.stdout, steps, "ok", "session info", `"symauth-bot"`)
	wantStep(t, r.stdout, steps, "ok", "agent", "Agent-")
	if !strings.Contains(r.stdout, "All 8 steps ok.") {
		t.Errorf("no summary:\n%s", r.stdout)
	}
}

// A configuration with the bot's certificate, its paths relative to the file.
func TestConfigCertificate(t *testing.T) {
	e := startEmulator(t)
	config := filepath.Join(e.dir, "cert.yaml")
	writeFile(t, config, "host: 127.0.0.1\nport: "+configPort(t, e.url)+"\n"+
		"bot:\n  certificate: {path: bot.p12, password: changeit}\n"+
		"ssl:\n  trustStore: {path: ca.pem}\n")
	r, steps := runCheckCmd(t, "--config", config)
	if r.code != exitOK {
		t.Fatalf("check --config: exit %d\n%s", r.code, r.stdout)
	}
	wantStep(t, r.stdout, steps, "ok", "config", `certificate login as "symauth-bot"`)
	wantStep(t, r.stdout, steps, "ok", "certificate file", e.file("bot.p12"))
	wantStep(t, r.stdout, steps, "ok", "session auth login")
	wantStep(t, r.stdout, steps, "ok", "key manager login")
	if w := runCLI(t, "whoami", "--config", config); w.code != 0 || !strings.HasPrefix(w.stdout, "symauth-bot (user id ") {
		t.Errorf("whoami --config: exit %d\n%s%s", w.code, w.stdout, w.stderr)
	}
}

// A key that cannot be read fails the config step, naming the key, and the
// same message ends token and whoami.
func TestConfigMissingKey(t *testing.T) {
	e := startEmulator(t)
	missing := filepath.Join(t.TempDir(), "none.pem")
	config := writeTemp(t, "config.yaml",
		strings.ReplaceAll(string(readFile(t, e.file("config.yaml"))), e.file("bot-private.pem"), missing))

	r, steps := runCheckCmd(t, "--config", config)
	if r.code != exitFail {
		t.Errorf("check: exit %d; want %d", r.code, exitFail)
	}
	wantStep(t, r.stdout, steps, "FAIL", "config", config+":", "bot.privateKey.path", missing, "fix the key named above")
	if len(steps) != 1 {
		t.Errorf("steps after the failed config step:\n%s", r.stdout)
	}
	message := config + ":10: bot.privateKey.path: open " + missing
	for _, cmd := range []string{"token", "whoami"} {
		r := runCLI(t, cmd, "--config", config)
		if r.code != exitFail || !strings.Contains(r.stderr, message) || r.stdout != "" {
			t.Errorf("%s: exit %d, stderr %q; want %q", cmd, r.code, r.stderr, message)
		}
	}
}

// --config replaces the login flags: giving one of them too is an error
// naming it.
func TestConfigWithLoginFlags(t *testing.T) {
	for _, args := range [][]string{
		{"token", "--config", "config.yaml", "--pod", "https://acme.symphony.com"},
		{"whoami", "--pod", "https://acme.symphony.com", "--config", "config.yaml"},
		{"token", "--json", "--config", "config.yaml", "--pod="},
	} {
		r := runCLI(t, args...)
		if r.code != exitFail || !strings.Contains(r.stderr, "--config FILE replaces --pod") {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	r, steps := runCheckCmd(t, "--config", "config.yaml", "--ca", "ca.pem", "--timeout", "5s")
	if r.code != exitFail {
		t.Errorf("check: exit %d; want %d", r.code, exitFail)
	}
	wantStep(t, r.stdout, steps, "FAIL", "config", "--config FILE replaces --ca")
}

// A configuration's wrong port fails the host step, naming the
// configuration.
func TestConfigWrongPort(t *testing.T) {
	e := startEmulator(t)
	config := filepath.Join(e.dir, "port1.yaml")
	writeFile(t, config, strings.Replace(string(readFile(t, e.file("config.yaml"))), "port: "+configPort(t, e.url), "port: 1", 1))
	r, steps := runCheckCmd(t, "--config", config)
	if r.code != exitFail {
		t.Errorf("exit %d; want %d", r.code, exitFail)
	}
	wantStep(t, r.stdout, steps, "ok", "config", "https://127.0.0.1:1")
	wantStep(t, r.stdout, steps, "FAIL", "host", "127.0.0.1:1", "connection refused", "pod in "+config)
	for _, name := range []string{"pod login", "key manager login", "session info", "agent"} {
		wantStep(t, r.stdout, steps, "skip", name, "not run")
	}
}

// A configured proxy is checked first: one that nothing listens on fails the
// host step, naming the proxy.
func TestConfigProxyDown(t *testing.T) {
	e := startEmulator(t)
	host, port, _ := strings.Cut(closedAddr(t), ":")
	config := writeTemp(t, "proxy.yaml", string(readFile(t, e.file("config.yaml")))+"proxy:\n  host: "+host+"\n  port: "+port+"\n")
	r, steps := runCheckCmd(t, "--config", config)
	if r.code != exitFail {
		t.Errorf("exit %d; want %d", r.code, exitFail)
	}
	wantStep(t, r.stdout, steps, "FAIL", "host", "through proxy "+host+":"+port, "connection refused")
	wantStep(t, r.stdout, steps, "skip", "pod login", "not run")
}

// The one login of a configuration is reported at the endpoint that failed:
// the key manager of another deployment fails the key manager step only; an
// unknown user fails the pod login, and the key manager step is not reached.
func TestConfigLoginFails(t *testing.T) {
	e, other := startEmulator(t), startEmulator(t)
	cas := writeTemp(t, "cas.pem", string(readFile(t, e.file("ca.pem")))+string(readFile(t, other.file("ca.pem"))))
	base := string(readFile(t, e.file("config.yaml")))
	base = strings.Replace(base, "path: "+e.file("ca.pem"), "path: "+cas, 1)

	otherKM := writeTemp(t, "km.yaml", base+"keyManager:\n  port: "+configPort(t, other.url)+"\n")
	r, steps := runCheckCmd(t, "--config", otherKM)
	if r.code != exitFail {
		t.Errorf("exit %d; want %d", r.code, exitFail)
	}
	wantStep(t, r.stdout, steps, "ok", "pod login")
	wantStep(t, r.stdout, steps, "FAIL", "key manager login", "/relay/pubkey/authenticate", "HTTP 401", "keyManager")
	wantStep(t, r.stdout, steps, "skip", "session info", "key manager login failed")

	nobody := writeTemp(t, "nobody.yaml", strings.Replace(base, "username: symauth-bot", "username: nobody", 1))
	r, steps = runCheckCmd(t, "--config", nobody)
	if r.code != exitFail {
		t.Errorf("exit %d; want %d", r.code, exitFail)
	}
	wantStep(t, r.stdout, steps, "FAIL", "pod login", "HTTP 401", `unknown user "nobody"`, `bot.username "nobody"`)
	wantStep(t, r.stdout, steps, "skip", "key manager login", "not run: pod login failed")
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
