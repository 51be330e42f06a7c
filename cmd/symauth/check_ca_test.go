package main

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/symauth/symauth/internal/testkit"
)

// A server certificate from an unknown CA gets the emulator's advice on this
// machine, and elsewhere the advice that a proxy inspecting TLS may have put
// its own certificate in the pod's place. The pod is reached here through
// $HTTPS_PROXY, a proxy that sends every CONNECT to a server holding such a
// certificate, for the pod's name.
func TestCheckUntrustedCAElsewhere(t *testing.T) {
	const podHost = "pod.acme.example"
	inspected := httptest.NewUnstartedServer(http.NotFoundHandler())
	inspected.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes that fail
	inspected.TLS = &tls.Config{Certificates: []tls.Certificate{testkit.SelfSigned(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "Inspecting Proxy CA"},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{podHost},
	})}}
	inspected.StartTLS()
	t.Cleanup(inspected.Close)
	proxy := connectProxy(t, inspected.Listener.Addr().String())
	t.Setenv("HTTPS_PROXY", proxy)
	t.Setenv("https_proxy", proxy)
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")

	for name, tc := range map[string]struct {
		ca   string
		want []string
	}{
		"no --ca":      {"", []string{"pass --ca FILE", "proxy or firewall that inspects TLS", "network team"}},
		"another --ca": {writeCA(t, "another CA"), []string{"neither this machine nor --ca", "proxy or firewall that inspects TLS"}},
	} {
		t.Run(name, func(t *testing.T) {
			args := []string{"--pod", "https://" + podHost, "--user", "ca-bot", "--key", writeRSAKey(t)}
			if tc.ca != "" {
				args = append(args, "--ca", tc.ca)
			}
			r, steps := runCheckCmd(t, args...)
			wantStep(t, r.stdout, steps, "ok", "host", "through proxy")
			wantStep(t, r.stdout, steps, "FAIL", "pod login", append([]string{`not trusted (issued by "Inspecting Proxy CA")`}, tc.want...)...)
			for _, s := range steps {
				if s.name == "pod login" && strings.Contains(s.text, "emulator") {
					t.Errorf("the advice for %s names the emulator:\n%s", podHost, r.stdout)
				}
			}
		})
	}
}

// connectProxy starts an HTTP proxy that answers every CONNECT by connecting
// to target, whatever the host asked for, and returns its URL.
func connectProxy(t *testing.T, target string) string {
	t.Helper()
	var wg sync.WaitGroup
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		upstream, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		client, buffered, err := http.NewResponseController(w).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		wg.Add(1)
		go func() { // upstream to client, until either end closes
			defer wg.Done()
			_, _ = io.Copy(client, upstream)
			client.Close()
		}()
		_, _ = io.Copy(upstream, buffered)
		upstream.Close()
	}))
	t.Cleanup(func() { proxy.Close(); wg.Wait() })
	return proxy.URL
}
