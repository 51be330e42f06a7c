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

// An Upgrade request under /pod/ that the origin accepts (101) turns the
// client's connection into a raw pipe to the pod, through the proxy's TLS
// connection and the configuration's proxy: the client then sends any
// request line it likes — /login/…, /relay/…, an admin path — and no 404
// stands in the way. Symphony's Pod and Agent REST APIs upgrade nothing:
// the proxy should refuse Upgrade (or at least never pipe bytes it has not
// checked).
func TestReview17UpgradeTunnelsPastThePathFilter(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	sendEcho(t, f.client, http.MethodGet, f.url+echoPodPath, nil)
	tunnelled := make(chan string, 1)
	f.srv.Handle("/pod/v1/test/ws", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor != 1 { // the proxy's upstream is HTTP/2 unless it upgrades
			http.Error(w, "HTTP/1.1 only", http.StatusHTTPVersionNotSupported)
			return
		}
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = io.WriteString(rw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
		_ = rw.Flush()
		line, _ := rw.ReadString('\n')
		tunnelled <- strings.TrimSpace(line)
	}))
	addr := strings.TrimPrefix(f.url, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET /pod/v1/test/ws HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", addr) // the proxy's own Host: not refused as a foreign one
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return // refused: nothing is piped
	}
	_, _ = io.WriteString(c, "POST /login/pubkey/authenticate HTTP/1.1\r\n")
	line := "(nothing yet)"
	select {
	case line = <-tunnelled:
	case <-time.After(cliTimeout): // a bound only: the failure is the 101 itself
	}
	t.Errorf("an Upgrade to /pod/v1/test/ws: the proxy answered %s and piped the connection; the pod then received %q straight from the client, past the path filter; want Upgrade refused",
		resp.Status, line)
}
