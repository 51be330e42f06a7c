package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/symauth/symauth/symauthtest"
)

// rawSend sends a raw HTTP/1.1 request (request line, headers, body) over a
// new connection and returns the status and the body.
func rawSend(t *testing.T, proxyURL, request string) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(proxyURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(cliTimeout))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// DNS rebinding: a web page at http://attacker.example:PORT/ whose name
// now resolves to 127.0.0.1 makes the victim's browser send same-origin
// requests to the proxy, with Host: attacker.example:PORT, and read the
// answers. The proxy must not act as the bot for a Host that is not its own
// address (127.0.0.1, [::1], localhost): it is the one thing that tells such
// a request from the bot's.
func TestReview17ForeignHostIsNotForwarded(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(f.url, "http://"))
	status, body := rawSend(t, f.url, fmt.Sprintf("GET %s HTTP/1.1\r\nHost: attacker.example:%s\r\nConnection: close\r\n\r\n", echoPodPath, port))
	if status == http.StatusOK || strings.Contains(body, proxyBot) {
		t.Errorf("Host: attacker.example:%s: %d %s; want a refusal, not the bot's answer", port, status, strings.TrimSpace(body))
	}
}

// Cross-site request forgery: any web page the engineer opens can make
// their browser POST a "simple" request (text/plain, no preflight) to
// http://127.0.0.1:8080/agent/…; the browser marks it with Origin and
// Sec-Fetch-Site: cross-site. The proxy must not send it as the bot (Go's
// http.CrossOriginProtection refuses exactly these).
func TestReview17CrossSiteBrowserRequestIsRefused(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	host := strings.TrimPrefix(f.url, "http://")
	payload := `{"message":"<messageML>sent by a web page</messageML>"}`
	status, body := rawSend(t, f.url, fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nOrigin: https://attacker.example\r\n"+
		"Sec-Fetch-Site: cross-site\r\nSec-Fetch-Mode: no-cors\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		echoAgentPath, host, len(payload), payload))
	if n := f.srv.Calls(echoAgentPath); n != 0 || status == http.StatusOK {
		t.Errorf("a cross-site browser POST: %d %s, %d call(s) reached the agent as the bot; want a refusal", status, strings.TrimSpace(body), n)
	}
}
