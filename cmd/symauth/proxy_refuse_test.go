package main

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/symauth/symauth/symauthtest"
)

// The proxy acts as the bot only for its own Host, on TCP: localhost or the
// listening IP, with the listening port. Any other gets 421 and the reason,
// the health check too, and nothing is forwarded.
func TestProxyHost(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	addr := strings.TrimPrefix(f.url, "http://")
	_, port, _ := net.SplitHostPort(addr)
	for _, host := range []string{addr, "localhost:" + port, "LocalHost:" + port} {
		req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", echoPodPath, host)
		if status, body := rawSend(t, f.url, req); status != http.StatusOK || !strings.Contains(body, proxyBot) {
			t.Errorf("Host: %s: %d %s; want the bot's answer", host, status, body)
		}
	}
	calls := f.srv.Calls(echoPodPath)
	for _, host := range []string{"attacker.example:" + port, "attacker.example", "localhost", "localhost:1", "[::1]:" + port,
		"127.0.0.2:" + port, "localhost.:" + port, "127.0.0.1.attacker.example:" + port} {
		for _, p := range []string{echoPodPath, healthPath} {
			req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", p, host)
			status, body := rawSend(t, f.url, req)
			if status != http.StatusMisdirectedRequest || !strings.Contains(body, `"code":421`) || !strings.Contains(body, "is not this proxy's address: send localhost:"+port) {
				t.Errorf("GET %s, Host: %s: %d %s; want 421 and the reason", p, host, status, body)
			}
		}
	}
	if n := f.srv.Calls(echoPodPath) - calls; n != 0 {
		t.Errorf("%d requests for a foreign Host reached the pod", n)
	}
	if logs := f.logs.String(); !strings.Contains(logs, `GET "`+echoPodPath+`": refused (421): the Host "attacker.example:`+port+`"`) {
		t.Errorf("no log line for the refused Host:\n%s", logs)
	}
}

// A request a web browser made, whatever its method, gets 403: it carries
// Origin, or Sec-Fetch-Site other than "none". Sec-Fetch-Site: none (what
// the user typed) is forwarded.
func TestProxyBrowserRequestRefused(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	for _, h := range [][]string{
		{"Origin", "https://attacker.example"},
		{"Origin", "null"},
		{"Origin", f.url},
		{"Sec-Fetch-Site", "cross-site"},
		{"Sec-Fetch-Site", "same-site"},
		{"Sec-Fetch-Site", "same-origin"},
	} {
		for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodOptions} {
			status, body := send(t, f.client, method, f.url+echoAgentPath, nil, h...)
			if status != http.StatusForbidden || !strings.Contains(string(body), "is not sent as the bot; bots send no "+h[0]) {
				t.Errorf("%s with %s: %s: %d %s; want 403 and the reason", method, h[0], h[1], status, body)
			}
		}
	}
	if n := f.srv.Calls(echoAgentPath); n != 0 {
		t.Errorf("%d browser requests reached the agent", n)
	}
	if e := sendEcho(t, f.client, http.MethodGet, f.url+echoAgentPath, nil, "Sec-Fetch-Site", "none"); e.User != proxyBot {
		t.Errorf("Sec-Fetch-Site: none: %+v", e)
	}
}

// A request to switch protocols gets 501 before anything is forwarded,
// whether it says Upgrade or only Connection: upgrade.
func TestProxyUpgradeRefused(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	addr := strings.TrimPrefix(f.url, "http://")
	for _, h := range []string{"Upgrade: websocket\r\nConnection: Upgrade", "Upgrade: h2c", "Connection: keep-alive, UPGRADE"} {
		req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n\r\n", echoPodPath, addr, h)
		if status, body := rawSend(t, f.url, req); status != http.StatusNotImplemented || !strings.Contains(body, "upgrade nothing") {
			t.Errorf("%q: %d %s; want 501 and the reason", h, status, body)
		}
	}
	if n := f.srv.Calls(echoPodPath); n != 0 {
		t.Errorf("%d Upgrade requests reached the pod", n)
	}
}

// --listen refuses, on every system, what has no file mode or is not a
// plain path, and says why; 127.1 is refused as a short form, not as a
// non-loopback address.
func TestCheckListen(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"unix:@symauth", "is a Linux abstract socket: it has no file, so no mode"},
		{"unix:/run/sym\x00auth.sock", "the path holds a NUL byte"},
		{"127.1:0", "127.1 is not an IP address in full form: write a literal loopback IP (127.0.0.1, ::1) or localhost"},
	} {
		if err := checkListen(tc.addr); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v; want %q", tc.addr, err, tc.want)
		}
	}
	for _, addr := range []string{"unix:./@symauth.sock", "unix:/run/symauth.sock", "127.0.0.1:0", "[::1]:0", "localhost:8080"} {
		if err := checkListen(addr); err != nil {
			t.Errorf("%q: %v", addr, err)
		}
	}
}
