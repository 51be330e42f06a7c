package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/symauth/symauth/symauthtest"
)

// The tests of the built proxy binary: against the emulator binary, from
// the config.yaml it writes, and against an in-process symauthtest server
// (the emulator's engine) where a test must hold requests or refuse logins.

// proxyProc is a running "symauth proxy".
type proxyProc struct {
	*proc
	url string // http://127.0.0.1:PORT, or unix:PATH
}

// startProxy runs "symauth proxy args…" and waits until it serves.
func startProxy(t *testing.T, args ...string) *proxyProc {
	t.Helper()
	p, rest := startProc(t, "proxy", "symauth proxy: serving on ", args...)
	return &proxyProc{proc: p, url: strings.Fields(rest)[0]}
}

// count returns how many of its stderr lines hold substr.
func (p *proc) count(substr string) int {
	return strings.Count(p.stderr(), substr)
}

// plainClient is a bot's HTTP client: no token, no TLS.
func plainClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: cliTimeout}
}

// getJSON sends a request through the proxy and decodes its JSON answer
// into out, failing the test unless the status is want.
func getJSON(t *testing.T, c *http.Client, method, u, body string, want int, out any, header ...string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
		header = append(header, "Content-Type", "application/json")
	}
	status, data := send(t, c, method, u, r, header...)
	if status != want {
		t.Fatalf("%s %s: %d, want %d: %s", method, u, status, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, u, err, data)
		}
	}
}

// A bot that speaks plain HTTP, with no token, to the proxy started from the
// emulator's config.yaml: 200 before and after its session ends (2 s);
// a forged sessionToken changes nothing; logins, relays and other hosts are
// refused; a datafeed read long-polls through, and gets the message the bot
// posts meanwhile.
func TestProxyBinaryAgainstEmulator(t *testing.T) {
	tmp, dir := t.TempDir(), t.TempDir()
	_, alicePub := newKeyPair(t, tmp, "alice")
	e := startEmu(t, "--addr", "127.0.0.1:0", "--dir", dir, "--key-bits", "2048",
		"--session-ttl", "2s", "--datafeed-wait", "1s", "--user", "alice="+alicePub)
	p := startProxy(t, "--config", filepath.Join(dir, "config.yaml"), "--listen", "127.0.0.1:0")
	c := plainClient(t)

	var me sessionInfo
	getJSON(t, c, http.MethodGet, p.url+"/pod/v2/sessioninfo", "", http.StatusOK, &me)
	if me.Username != "symauth-bot" {
		t.Fatalf("sessioninfo through the proxy: %+v", me)
	}
	var forged sessionInfo
	getJSON(t, c, http.MethodGet, p.url+"/pod/v2/sessioninfo", "", http.StatusOK, &forged,
		"sessionToken", "forged", "keyManagerToken", "forged", "Authorization", "Bearer forged")
	if forged != me {
		t.Errorf("with a forged sessionToken: %+v, want %+v", forged, me)
	}
	for _, line := range []string{"GET /https://other.example/ HTTP/1.1", "POST /login/pubkey/authenticate HTTP/1.1"} {
		if status, body := rawRequest(t, p.url, line); status != http.StatusNotFound {
			t.Errorf("%s: %d %s, want 404", line, status, body)
		}
	}

	var users struct {
		Users []struct {
			ID int64 `json:"id"`
		} `json:"users"`
	}
	getJSON(t, c, http.MethodGet, p.url+"/pod/v3/users?username=alice", "", http.StatusOK, &users)
	var feed, im struct {
		ID string `json:"id"`
	}
	getJSON(t, c, http.MethodPost, p.url+"/agent/v5/datafeeds", "{}", http.StatusCreated, &feed)
	getJSON(t, c, http.MethodPost, p.url+"/pod/v1/im/create", fmt.Sprintf("[%d]", users.Users[0].ID), http.StatusOK, &im)
	ackID := ""
	read := func() feedEvents {
		var ev feedEvents
		getJSON(t, c, http.MethodPost, p.url+"/agent/v5/datafeeds/"+feed.ID+"/read", fmt.Sprintf(`{"ackId":%q}`, ackID), http.StatusOK, &ev)
		ackID = ev.AckID
		return ev
	}

	// The session ends 2 s after the login: read the feed (each read
	// waits 1 s for an event) until the proxy has logged in again.
	for p.count("login ok (cause rejected") == 0 {
		if ev := read(); len(ev.Events) > 0 {
			t.Fatalf("events with nothing posted: %+v", ev)
		}
	}
	getJSON(t, c, http.MethodGet, p.url+"/pod/v2/sessioninfo", "", http.StatusOK, &forged)

	// A read waiting at the agent gets the message posted meanwhile.
	got := make(chan feedEvents, 1)
	go func() {
		var ev feedEvents
		resp, err := c.Post(p.url+"/agent/v5/datafeeds/"+feed.ID+"/read", "application/json", strings.NewReader(fmt.Sprintf(`{"ackId":%q}`, ackID)))
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&ev)
			resp.Body.Close()
		}
		got <- ev
	}()
	id := postMessage(t, c, p.url, im.ID, "<messageML>through the proxy</messageML>")
	for ev := <-got; ; ev = read() {
		if len(ev.Events) > 0 {
			if sent := ev.Events[0].Payload.MessageSent; sent == nil || sent.Message.MessageID != id {
				t.Fatalf("the feed gave %+v, want message %s", ev.Events[0], id)
			}
			break
		}
	}

	logs := p.stderr()
	if strings.Contains(logs, "login failed") || strings.Contains(logs, "eyJ") {
		t.Errorf("proxy log: want no failed login and no token:\n%s", logs)
	}
	if n := e.count("login ok"); n < 2 {
		t.Errorf("the emulator saw %d logins:\n%s", n, e.stderr())
	}
}

// backend is an in-process symauthtest server with the bot, and the flags
// that log the proxy binary in to it.
type backend struct {
	srv   *symauthtest.Server
	flags []string
}

func newBackend(t *testing.T) *backend {
	t.Helper()
	srv, err := symauthtest.Start(symauthtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.Handle(echoPodPath, http.HandlerFunc(echo))
	key, err := srv.NewUser(proxyBot)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	keyFile, caFile := filepath.Join(dir, "bot-private.pem"), filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(caFile, srv.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return &backend{srv: srv, flags: []string{"--pod", srv.URL, "--user", proxyBot, "--key", keyFile, "--ca", caFile}}
}

// 200 requests in flight through the binary when the session ends all
// succeed, after exactly one login, which the proxy logs once.
func TestProxyBinaryStampede(t *testing.T) {
	const n = 200
	b := newBackend(t)
	p := startProxy(t, append(b.flags, "--listen", "127.0.0.1:0")...)
	c := plainClient(t)
	sendEcho(t, c, http.MethodGet, p.url+echoPodPath, nil)

	reached, release := make(chan struct{}, n), make(chan struct{})
	b.srv.InjectFault(echoPodPath, symauthtest.Fault{Reached: reached, Hold: release, Times: n})
	logins := b.srv.Calls(symauthtest.PathLogin)
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	for range n {
		wg.Go(func() {
			resp, err := c.Post(p.url+echoPodPath, "application/json", strings.NewReader(`{"ok":true}`))
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	for range n {
		<-reached
	}
	b.srv.RevokeSessions()
	close(release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusOK {
			t.Errorf("a request at the session end: %d", s)
		}
	}
	if got := b.srv.Calls(symauthtest.PathLogin) - logins; got != 1 {
		t.Errorf("%d logins for %d requests at one session end, want 1", got, n)
	}
	if got := p.count("login ok (cause rejected"); got != 1 {
		t.Errorf("the proxy logged %d re-logins, want 1:\n%s", got, p.stderr())
	}
}

// The health endpoint flips to 503, with the reason and no token, when the
// pod refuses logins, and back to 200 when it accepts them again.
func TestProxyBinaryHealth(t *testing.T) {
	b := newBackend(t)
	p := startProxy(t, append(b.flags, "--listen", "localhost:0")...)
	if !strings.HasPrefix(p.url, "http://127.0.0.1:") && !strings.HasPrefix(p.url, "http://[::1]:") {
		t.Fatalf("--listen localhost:0 serves on %s", p.url)
	}
	c := plainClient(t)
	probe(t, c, p.url, http.StatusOK)

	b.srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusForbidden, Body: `{"message":"the account is disabled"}`})
	b.srv.RevokeSessions()
	if status, data := send(t, c, http.MethodGet, p.url+echoPodPath, nil); status != http.StatusServiceUnavailable {
		t.Errorf("a request while logins fail: %d %s", status, data)
	}
	body := probe(t, c, p.url, http.StatusServiceUnavailable)
	if !strings.Contains(body, "the account is disabled") || strings.Contains(body, "eyJ") {
		t.Errorf("health while logins fail: %q", body)
	}
	b.srv.ClearFaults()
	probe(t, c, p.url, http.StatusOK)
	sendEcho(t, c, http.MethodGet, p.url+echoPodPath, nil)
	logs := p.stderr()
	if !strings.Contains(logs, "login failed (cause rejected") || strings.Contains(logs, "eyJ") {
		t.Errorf("proxy log: want the failed login, no token:\n%s", logs)
	}
}

// On SIGTERM the proxy stops accepting, lets the request in flight finish,
// and exits 0; with --shutdown-timeout it cuts a request that takes longer.
func TestProxyBinaryShutdown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout string
		finish  bool // the held request is released during the shutdown
	}{
		{"finishes", "20s", true},
		{"bounded", "200ms", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t)
			p := startProxy(t, append(b.flags, "--listen", "127.0.0.1:0", "--shutdown-timeout", tc.timeout)...)
			c := plainClient(t)
			sendEcho(t, c, http.MethodGet, p.url+echoPodPath, nil)
			reached, release := make(chan struct{}, 1), make(chan struct{})
			var releaseOnce sync.Once
			t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
			b.srv.InjectFault(echoPodPath, symauthtest.Fault{Reached: reached, Hold: release, Times: 1, AfterAuth: true})
			answer := make(chan int, 1)
			go func() {
				resp, err := c.Get(p.url + echoPodPath)
				if err != nil {
					answer <- 0
					return
				}
				resp.Body.Close()
				answer <- resp.StatusCode
			}()
			<-reached
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			p.waitFor(t, 0, "stopping: 1 request(s) in flight")
			if tc.finish {
				releaseOnce.Do(func() { close(release) })
				if s := <-answer; s != http.StatusOK {
					t.Errorf("the request in flight: %d, want 200", s)
				}
				p.waitFor(t, 0, "symauth proxy: stopped")
			} else {
				p.waitFor(t, 0, "stopped after 200ms, cutting 1 request(s) still in flight")
				if s := <-answer; s != 0 {
					t.Errorf("the request cut: %d, want no answer", s)
				}
			}
			if err := p.end(t, nil); err != nil {
				t.Errorf("exit: %v\n%s", err, p.stderr())
			}
		})
	}
}

// unixClient is a plain HTTP client whose every connection goes to the Unix
// socket file.
func unixClient(t *testing.T, file string) *http.Client {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", file)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: cliTimeout}
}

// --listen unix:PATH serves on a socket only its owner can connect to,
// replacing one a killed proxy left behind, refusing one a live proxy
// listens on, and removing it on exit.
func TestProxyBinaryUnixSocket(t *testing.T) {
	b := newBackend(t)
	file := filepath.Join(t.TempDir(), "symauth.sock")
	stale, err := net.Listen("unix", file)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()

	p := startProxy(t, append(b.flags, "--listen", "unix:"+file)...)
	if p.url != "unix:"+file {
		t.Fatalf("serving on %s, want unix:%s", p.url, file)
	}
	info, err := os.Lstat(file)
	if err != nil || info.Mode().Type() != fs.ModeSocket || info.Mode().Perm() != 0o600 {
		t.Fatalf("the socket: %v, %v; want a socket with mode 0600", info.Mode(), err)
	}
	c := unixClient(t, file)
	probe(t, c, "http://proxy", http.StatusOK)
	sendEcho(t, c, http.MethodGet, "http://proxy"+echoPodPath, nil)

	r := runCLI(t, append([]string{"proxy", "--listen", "unix:" + file}, b.flags...)...)
	if r.code != exitFail || !strings.Contains(r.stderr, "another process listens on that socket") {
		t.Errorf("a second proxy on the socket: exit %d, %s", r.code, r.stderr)
	}
	p.stop(t)
	if _, err := os.Lstat(file); !os.IsNotExist(err) {
		t.Errorf("the socket is still there after the proxy stopped: %v", err)
	}
}

// Bad command lines: a listen address others could reach, and bad values,
// each refused with an explanation before anything listens.
func TestProxyBinaryRefusals(t *testing.T) {
	login := []string{"--pod", "https://127.0.0.1:1", "--user", "u", "--key", "/nonexistent/key.pem"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--listen", "0.0.0.0:8080"}, "--listen 0.0.0.0:8080: that is every network interface, not loopback only; the proxy adds the bot's tokens"},
		{[]string{"--listen", ":8080"}, "every network interface"},
		{[]string{"--listen", "[::]:8080"}, "every network interface"},
		{[]string{"--listen", "192.0.2.1:8080"}, "192.0.2.1 is not a loopback address"},
		{[]string{"--listen", "symphony.example.com:8080"}, "symphony.example.com is not a loopback address"},
		{[]string{"--listen", "8080"}, "want a loopback HOST:PORT (127.0.0.1:8080) or unix:PATH"},
		{[]string{"--listen", "unix:"}, "want unix:PATH"},
		{[]string{"--listen", "unix:@symauth"}, `--listen "unix:@symauth": unix:@NAME is a Linux abstract socket`},
		{[]string{"--listen", "127.1:0"}, "127.1 is not an IP address in full form"},
		{[]string{"--max-replay-body", "-1"}, "--max-replay-body -1: must not be negative"},
		{[]string{"--shutdown-timeout", "0s"}, "--shutdown-timeout 0s: must be positive"},
		{[]string{"--listen", "127.0.0.1:0"}, "--key: open /nonexistent/key.pem"},
	} {
		r := runCLI(t, append(append([]string{"proxy"}, tc.args...), login...)...)
		if r.code != exitFail || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, %s; want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if r := runCLI(t, "proxy", "--user", "u", "--key", "k"); r.code != exitFail || !strings.Contains(r.stderr, "--pod URL is needed") {
		t.Errorf("no --pod: exit %d, %s", r.code, r.stderr)
	}
	if r := runCLI(t, "proxy", "--pod", "https://127.0.0.1:1", "--user", "u", "--key", "k", "--listen", "localhost:0", "stray"); r.code != exitUsage {
		t.Errorf("a stray argument: exit %d", r.code)
	}
}
