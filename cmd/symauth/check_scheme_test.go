package main

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// A URL that says http:// for a port that serves HTTPS fails the host step,
// with the https:// URL to use instead.
func TestCheckPlainHTTPToTLSPort(t *testing.T) {
	tlsPod := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsPod.Config.ErrorLog = log.New(io.Discard, "", 0) // "client sent an HTTP request to an HTTPS server"
	tlsPod.StartTLS()
	t.Cleanup(tlsPod.Close)
	key := writeRSAKey(t)
	for name, addr := range map[string]string{
		"Go's 400":  tlsPod.Listener.Addr().String(),
		"TLS alert": alertingListener(t),
	} {
		t.Run(name, func(t *testing.T) {
			r, steps := runCheckCmd(t, "--pod", "http://"+addr, "--user", "scheme-bot", "--key", key)
			wantStep(t, r.stdout, steps, "FAIL", "host", "the server speaks HTTPS (TLS) on this port, not plain http",
				"use https:// in the pod URL (--pod): https://"+addr)
			wantStep(t, r.stdout, steps, "skip", "pod login", "not run")
		})
	}
}

// A plain http server passes the host step; when it refuses the login with a
// 400, the advice says to try https://.
func TestCheckPlainHTTPRefused(t *testing.T) {
	pod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			http.NotFound(w, r)
			return
		}
		http.Error(w, "Bad Request", http.StatusBadRequest)
	}))
	t.Cleanup(pod.Close)
	r, steps := runCheckCmd(t, "--pod", pod.URL, "--user", "scheme-bot", "--key", writeRSAKey(t))
	wantStep(t, r.stdout, steps, "ok", "host", "connected (plain http)")
	wantStep(t, r.stdout, steps, "FAIL", "pod login", "HTTP 400", "refused the plain http request", "use https:// in the pod URL (--pod)")
}

// alertingListener listens on a loopback port whose server answers whatever
// it reads with a TLS alert record (handshake failure), as a TLS server may
// answer plain HTTP, and returns its address.
func alertingListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 16)
			if _, err := io.ReadAtLeast(conn, buf, 1); err == nil {
				_, _ = conn.Write([]byte{21, 3, 3, 0, 2, 2, 40}) // alert, TLS 1.2, length 2: fatal, handshake_failure
			}
			conn.Close()
		}
	}()
	return ln.Addr().String()
}
