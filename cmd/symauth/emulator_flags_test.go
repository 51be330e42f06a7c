package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/extapp"
)

// -h says what the new flags and SIGHUP do.
func TestEmulatorHelp(t *testing.T) {
	r := runCLI(t, "emulator", "-h")
	for _, want := range []string{"SIGHUP ends every session now", "-keep", "ca-key.pem", "-app ID=PUBLIC.pem",
		"-extension-app ID=PUBLIC.pem", "-datafeed-wait", "every interface"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("emulator -h lacks %q:\n%s", want, r.stderr)
		}
	}
}

// SIGHUP ends every session: the bot's next call gets a 401, and symauth
// logs in again.
func TestEmulatorSIGHUP(t *testing.T) {
	dir := t.TempDir()
	e := startEmu(t, "--addr", "127.0.0.1:0", "--dir", dir, "--key-bits", "2048")
	var logins atomic.Int32
	cfg, err := bdkconfig.Load(filepath.Join(dir, "config.yaml"), bdkconfig.WithOnLogin(func(ev symauth.LoginEvent) {
		if ev.Err == nil {
			logins.Add(1)
		}
	}))
	if err != nil {
		t.Fatal(err)
	}
	client, err := cfg.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	call(t, client, http.MethodGet, cfg.PodURL()+"/pod/v2/sessioninfo", "", nil, http.StatusOK, nil)
	next := 0 // the log line after the last SIGHUP's: each round waits for its own
	for round := 1; round <= 2; round++ {
		if err := e.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		i, _ := e.waitFor(t, next, "SIGHUP: ended all sessions (1 were live)")
		next = i + 1
		call(t, client, http.MethodGet, cfg.PodURL()+"/pod/v2/sessioninfo", "", nil, http.StatusOK, nil)
		if n := logins.Load(); n != int32(round)+1 {
			t.Fatalf("after SIGHUP %d: %d logins, want %d", round, n, round+1)
		}
	}
}

// --keep reuses the CA, the bot's key and config.yaml: a client configured
// against the first run works against the second as it is.
func TestEmulatorKeep(t *testing.T) {
	dir := t.TempDir()
	first := startEmu(t, "--addr", "127.0.0.1:0", "--dir", dir, "--key-bits", "2048", "--keep")
	names := []string{"ca.pem", "ca-key.pem", "bot-private.pem", "bot-public.pem", "bot.p12", "config.yaml"}
	before := map[string][]byte{}
	for _, name := range names {
		before[name] = readFile(t, filepath.Join(dir, name))
	}
	for _, name := range []string{"ca-key.pem", "bot-private.pem", "bot.p12"} {
		if info, err := os.Stat(filepath.Join(dir, name)); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", name, info.Mode(), err)
		}
	}
	cfg, err := bdkconfig.Load(filepath.Join(dir, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	client, err := cfg.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	call(t, client, http.MethodGet, cfg.PodURL()+"/pod/v2/sessioninfo", "", nil, http.StatusOK, nil)
	first.stop(t)

	u, _ := url.Parse(first.url)
	second := startEmu(t, "--addr", u.Host, "--dir", dir, "--key-bits", "2048", "--keep")
	second.waitFor(t, 0, "kept ca.pem, ca-key.pem, bot-private.pem, bot-public.pem, bot.p12, config.yaml in ")
	if logs := second.stderr(); strings.Contains(logs, "generating") || strings.Contains(logs, "warning") {
		t.Errorf("second start:\n%s", logs)
	}
	for _, name := range names {
		if !bytes.Equal(before[name], readFile(t, filepath.Join(dir, name))) {
			t.Errorf("--keep changed %s", name)
		}
	}
	// The same client, trusting the first run's ca.pem, with the first run's
	// session (ended: the emulator forgot it) logs in again.
	call(t, client, http.MethodGet, cfg.PodURL()+"/pod/v2/sessioninfo", "", nil, http.StatusOK, nil)
	// The first run's bot.p12 logs in too.
	e := &emulator{url: second.url, dir: dir}
	if r := runCLI(t, append([]string{"whoami"}, e.certFlags()...)...); r.code != 0 || !strings.HasPrefix(r.stdout, "symauth-bot ") {
		t.Errorf("whoami with the kept bot.p12: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	second.stop(t)

	// On another port, the kept config.yaml is stale: the emulator says so.
	third := startEmu(t, "--addr", "127.0.0.1:0", "--dir", dir, "--keep")
	third.waitFor(t, 0, "warning: the kept config.yaml points at "+first.url)

	// Without --keep, everything is new.
	fresh := startEmu(t, "--addr", "127.0.0.1:0", "--dir", dir, "--key-bits", "2048")
	fresh.waitFor(t, 0, "wrote ca.pem, ca-key.pem, bot-private.pem, bot-public.pem, bot.p12, config.yaml to ")
	for _, name := range []string{"ca.pem", "ca-key.pem", "bot-private.pem"} {
		if bytes.Equal(before[name], readFile(t, filepath.Join(dir, name))) {
			t.Errorf("without --keep, %s is unchanged", name)
		}
	}
}

// --keep refuses a CA it cannot use, and needs --dir.
func TestEmulatorKeepErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--keep"}, "--keep needs --dir"},
		{[]string{"--keep", "--dir", dir}, "ca-key.pem"},
		{[]string{"--datafeed-wait", "0s"}, "--datafeed-wait must be positive"},
		{[]string{"--addr", "nowhere"}, "--addr"},
	} {
		r := runCLI(t, append([]string{"emulator", "--addr", "127.0.0.1:0"}, tc.args...)...)
		if r.code != exitFail || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("emulator %v: exit %d, %q; want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ca-key.pem"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, "emulator", "--addr", "127.0.0.1:0", "--keep", "--dir", dir); r.code != exitFail || !strings.Contains(r.stderr, "CACertPEM") {
		t.Errorf("a bad kept CA: exit %d, %q", r.code, r.stderr)
	}
}

// Key files that existed with mode 0644 are replaced by files of mode 0600.
func TestEmulatorKeyFileModes(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"ca-key.pem", "bot-private.pem", "bot.p12", "ca.pem"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startEmu(t, "--addr", "127.0.0.1:0", "--dir", dir, "--key-bits", "2048")
	for name, want := range map[string]os.FileMode{"ca-key.pem": 0o600, "bot-private.pem": 0o600, "bot.p12": 0o600, "ca.pem": 0o644, "config.yaml": 0o644} {
		info, err := os.Stat(filepath.Join(dir, name))
		if err != nil || info.Mode().Perm() != want {
			t.Errorf("%s: %v, %v; want %v", name, info.Mode(), err, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 6 {
		t.Errorf("%d files in --dir, want 6 (no temporary file left)", len(entries))
	}
}

// --addr 0.0.0.0 warns that it listens on every interface, with the port.
func TestEmulatorEveryInterface(t *testing.T) {
	e := startEmu(t, "--addr", "0.0.0.0:0")
	u, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	e.waitFor(t, 0, "warning: --addr 0.0.0.0:0 listens on every network interface, on port "+u.Port()+":")
	if u.Hostname() != "127.0.0.1" {
		t.Errorf("serving on %s, want a loopback URL", e.url)
	}
}

// --app registers an on-behalf-of app installed for the bot and the --user
// users; --extension-app one that passes the circle of trust.
func TestEmulatorAppFlags(t *testing.T) {
	tmp, dir := t.TempDir(), t.TempDir()
	appKey, appPub := newKeyPair(t, tmp, "obo-app")
	extKey, extPub := newKeyPair(t, tmp, "ext-app")
	_, alicePub := newKeyPair(t, tmp, "alice")
	_, bobPub := newKeyPair(t, tmp, "bob")
	e := startEmu(t, "--addr", "127.0.0.1:0", "--dir", dir, "--key-bits", "2048",
		"--user", "alice="+alicePub, "--app", "obo-app="+appPub, "--extension-app", "ext-app="+extPub)
	e.waitFor(t, 0, `registered on-behalf-of app "obo-app", installed for "alice", "symauth-bot"`)
	httpClient := trustingClient(t, filepath.Join(dir, "ca.pem"))

	obo, err := symauth.NewOBO(symauth.OBOConfig{PodURL: e.url, AppID: "obo-app", PrivateKey: appKey, HTTPClient: httpClient})
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"alice", "symauth-bot"} {
		src, err := obo.Username(user)
		if err != nil {
			t.Fatal(err)
		}
		tr := symauth.NewTransport(src, httpClient.Transport)
		var info struct {
			Username string `json:"username"`
		}
		call(t, &http.Client{Transport: tr}, http.MethodGet, e.url+"/pod/v2/sessioninfo", "", nil, http.StatusOK, &info)
		if info.Username != user {
			t.Errorf("on behalf of %s: session of %q", user, info.Username)
		}
	}

	app, err := extapp.New(extapp.Config{PodURL: e.url, AppID: "ext-app", PrivateKey: extKey, HTTPClient: httpClient})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Authenticate(context.Background()); err != nil {
		t.Fatalf("extension app circle of trust: %v", err)
	}

	// Without --dir there is no bot: the app is installed for the users only.
	other := startEmu(t, "--addr", "127.0.0.1:0", "--user", "bob="+bobPub, "--app", "obo-app="+appPub)
	other.waitFor(t, 0, `registered on-behalf-of app "obo-app", installed for "bob"`)
	alone := startEmu(t, "--addr", "127.0.0.1:0", "--app", "obo-app="+appPub)
	alone.waitFor(t, 0, `registered on-behalf-of app "obo-app", installed for no one`)

	for _, bad := range [][]string{{"--app", "obo-app"}, {"--extension-app", "=" + extPub}, {"--app", "x=" + filepath.Join(tmp, "missing.pem")}} {
		if r := runCLI(t, append([]string{"emulator", "--addr", "127.0.0.1:0"}, bad...)...); r.code != exitUsage || !strings.Contains(r.stderr, "ID=PUBLIC.pem") && !strings.Contains(r.stderr, "missing.pem") {
			t.Errorf("emulator %v: exit %d, %q; want a refusal", bad, r.code, r.stderr)
		}
	}
}
