//go:build linux

package main

import (
	"fmt"
	"net"
	"os"
	"testing"
)

// --listen unix:@NAME is a Linux abstract socket: it has no file, so no
// mode, and every process of every user in the network namespace (all the
// containers of a Kubernetes pod, the whole host with hostNetwork) can
// connect and act as the bot. "created 0600" cannot hold: it must be
// refused, as 0.0.0.0 is.
func TestReview17AbstractUnixSocketRefused(t *testing.T) {
	name := fmt.Sprintf("@symauth-review17-%d", os.Getpid())
	addr := "unix:" + name
	if err := checkListen(addr); err == nil {
		ln, err := proxyListen(addr)
		if err != nil {
			t.Fatalf("checkListen accepts %s, proxyListen: %v", addr, err)
		}
		defer ln.Close()
		c, err := net.Dial("unix", name)
		if err == nil {
			c.Close()
		}
		t.Errorf("--listen %s is accepted: it listens on %s (no file, no mode: any local user connects; dial: %v); want it refused", addr, ln.Addr(), err)
	}
}
