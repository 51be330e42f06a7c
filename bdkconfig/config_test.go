package bdkconfig_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/symauthtest"
)

// pemKey is key in PKCS#8 PEM.
func pemKey(t testing.TB, key crypto.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// certAndKeyPEM is cert's chain and key in one PEM file, as BDK Python reads.
func certAndKeyPEM(t testing.TB, cert tls.Certificate) []byte {
	t.Helper()
	var out []byte
	for _, der := range cert.Certificate {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return append(out, pemKey(t, cert.PrivateKey)...)
}

// certP12 is cert and its key in PKCS#12 under password, as BDK Java reads.
func certP12(t testing.TB, cert tls.Certificate, password string) []byte {
	t.Helper()
	data, err := pkcs12.Modern.Encode(cert.PrivateKey, cert.Leaf, nil, password)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// trustStoreP12 is a PKCS#12 trust store of certs, as keytool writes.
func trustStoreP12(t testing.TB, password string, certs ...*x509.Certificate) []byte {
	t.Helper()
	data, err := pkcs12.Modern.EncodeTrustStore(certs, password)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// caOf is the CA certificate of srv.
func caOf(t testing.TB, srv *symauthtest.Server) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(srv.CACertPEM())
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// selfSigned is a self-signed client certificate with CN cn, valid for a day.
func selfSigned(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	return selfSignedFrom(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// writeFiles writes files (name → content) under dir, making directories.
func writeFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// writeConfig writes text as dir/config.yaml and returns its path.
func writeConfig(t testing.TB, dir, text string) string {
	t.Helper()
	writeFiles(t, dir, map[string][]byte{"config.yaml": []byte(text)})
	return filepath.Join(dir, "config.yaml")
}

func loadConfig(t testing.TB, path string) *bdkconfig.Config {
	t.Helper()
	cfg, err := bdkconfig.Load(path, bdkconfig.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// configClient is cfg.HTTPClient(), its idle connections closed at the end.
func configClient(t testing.TB, cfg *bdkconfig.Config) *http.Client {
	t.Helper()
	client, err := cfg.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)
	return client
}

// unsetenv unsets the variables for the test, restoring them afterwards.
func unsetenv(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		t.Setenv(name, "")
		if err := os.Unsetenv(name); err != nil {
			t.Fatal(err)
		}
	}
}

// serverKeys is the top-level scheme, host and port of srv in a BDK file,
// with fast login retries and srv's CA as the PEM trust store ca.pem.
func serverKeys(srv *symauthtest.Server) string {
	u, _ := url.Parse(srv.URL)
	return fmt.Sprintf(`scheme: https
host: %s
port: %s
ssl:
  trustStore:
    path: ca.pem
retry:
  maxAttempts: 3
  initialIntervalMillis: 1
  maxIntervalMillis: 5
`, u.Hostname(), u.Port())
}

const rsaBotSection = `
bot:
  username: test-bot
  privateKey:
    path: keys/bot.pem
`

func TestConfigFixtureBDKJava(t *testing.T) {
	dir := t.TempDir()
	fixture, err := os.ReadFile("testdata/bdk-java.yaml")
	if err != nil {
		t.Fatal(err)
	}
	appKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{
		"config.yaml":                             fixture,
		"rsa/acme-bot-private.pem":                pemKey(t, botKey()),
		"rsa/acme-app-private.pem":                pemKey(t, appKey),
		"certs/all_symphony_certs_truststore.p12": trustStoreP12(t, "changeit", localhostCertificate(t).Leaf),
	})
	cfg := loadConfig(t, filepath.Join(dir, "config.yaml"))

	for _, c := range []struct{ name, got, want string }{
		{"PodURL", cfg.PodURL(), "https://acme.symphony.example:443"},
		{"AgentURL", cfg.AgentURL(), "https://agent1.acme.example:7443/app"}, // the first load-balanced node
		{"KeyManagerURL", cfg.KeyManagerURL(), "https://acme-key.symphony.example:8444"},
		{"SessionAuthURL", cfg.SessionAuthURL(), "https://acme-session.symphony.example:8444"},
		{"Host", cfg.Host, "localhost.acme.example"},
		{"Bot.Username", cfg.Bot.Username, "acme-bot"},
		{"Bot.PrivateKey.Path", cfg.Bot.PrivateKey.Path, filepath.Join(dir, "rsa", "acme-bot-private.pem")},
		{"App.AppID", cfg.App.AppID, "acme-app"},
		{"SSL.TrustStore.Path", cfg.SSL.TrustStore.Path, filepath.Join(dir, "certs", "all_symphony_certs_truststore.p12")},
		{"File", cfg.File, filepath.Join(dir, "config.yaml")},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if cfg.Port != 8443 || cfg.Pod.Port != 443 || cfg.Agent.Port != 7443 || cfg.Agent.Context != "/app" {
		t.Errorf("ports: top %d, pod %d, agent %d %q", cfg.Port, cfg.Pod.Port, cfg.Agent.Port, cfg.Agent.Context)
	}
	wantRetry := symauth.RetryPolicy{MaxAttempts: 6, InitialInterval: 2 * time.Second, Multiplier: 1.5, MaxInterval: 10 * time.Second}
	if cfg.Retry != wantRetry {
		t.Errorf("Retry = %+v, want %+v", cfg.Retry, wantRetry)
	}
	wantProxy := bdkconfig.ProxyConfig{Host: "proxy.acme.example", Port: 1234, Username: "proxyuser"}
	if cfg.Proxy == nil || *cfg.Proxy != wantProxy {
		t.Errorf("Proxy = %+v, want %+v", cfg.Proxy, wantProxy)
	}
	if cfg.Pod.Proxy == nil || *cfg.Pod.Proxy != wantProxy || cfg.Agent.Proxy == nil {
		t.Errorf("the sections do not inherit the proxy: pod %+v, agent %+v", cfg.Pod.Proxy, cfg.Agent.Proxy)
	}
	if !cfg.CommonJWT {
		t.Error("CommonJWT = false, want true")
	}
	if cfg.Bot.Certificate != (bdkconfig.CredentialFile{}) || cfg.App.PrivateKey.Path == "" {
		t.Errorf("Bot.Certificate = %+v, App.PrivateKey = %+v", cfg.Bot.Certificate, cfg.App.PrivateKey)
	}
	if _, err := cfg.Session(); err != nil {
		t.Error(err)
	}
	if _, err := cfg.OBO(); err != nil {
		t.Error(err)
	}
	assertNoSecrets(t, printed(cfg), "fixture-proxy-password", "changeit")
}

func TestConfigFixtureBDKPython(t *testing.T) {
	unsetenv(t, "AGENT_HOST", "BOT_USERNAME", "PROXY_HOST", "PROXY_PORT")
	dir := t.TempDir()
	fixture, err := os.ReadFile("testdata/bdk-python.yaml")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{
		"config.yaml":           fixture,
		"certs/python-bot.pem":  certAndKeyPEM(t, selfSigned(t, "python-bot")),
		"certs/ca-bundle.pem":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: localhostCertificate(t).Certificate[0]}),
		"certs/unused-file.txt": []byte("x"),
	})
	path := filepath.Join(dir, "config.yaml")
	cfg := loadConfig(t, path)
	for _, c := range []struct{ name, got, want string }{
		{"PodURL", cfg.PodURL(), "https://acme.symphony.example:443"},
		{"AgentURL", cfg.AgentURL(), "https://agent.acme.example:8443/agent-gw"},
		{"KeyManagerURL", cfg.KeyManagerURL(), "https://acme-api.symphony.example:8444"},
		{"SessionAuthURL", cfg.SessionAuthURL(), "https://acme-api.symphony.example:8444"},
		{"Bot.Username", cfg.Bot.Username, "python-bot"},
		{"Bot.Certificate.Path", cfg.Bot.Certificate.Path, filepath.Join(dir, "certs", "python-bot.pem")},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	wantRetry := symauth.RetryPolicy{MaxAttempts: 10, InitialInterval: 500 * time.Millisecond, Multiplier: 2, MaxInterval: 5 * time.Minute}
	if cfg.Retry != wantRetry {
		t.Errorf("Retry = %+v, want %+v", cfg.Retry, wantRetry)
	}
	if want := (bdkconfig.ProxyConfig{Host: "proxy.acme.example", Port: 3128}); cfg.Proxy == nil || *cfg.Proxy != want {
		t.Errorf("Proxy = %+v, want %+v", cfg.Proxy, want)
	}
	if cfg.CommonJWT || cfg.App != nil {
		t.Errorf("CommonJWT = %v, App = %+v", cfg.CommonJWT, cfg.App)
	}
	if _, err := cfg.OBO(); err == nil || !strings.Contains(err.Error(), "app: missing") {
		t.Errorf("OBO without an app section: %v", err)
	}

	// The environment overrides the defaults.
	t.Setenv("AGENT_HOST", "agent2.acme.example")
	t.Setenv("PROXY_PORT", "8080")
	cfg = loadConfig(t, path)
	if got := cfg.AgentURL(); got != "https://agent2.acme.example:8443/agent-gw" {
		t.Errorf("AgentURL with AGENT_HOST = %q", got)
	}
	if cfg.Proxy == nil || cfg.Proxy.Port != 8080 {
		t.Errorf("Proxy with PROXY_PORT = %+v", cfg.Proxy)
	}
	t.Setenv("PROXY_HOST", "") // an empty proxy host turns the proxy off
	t.Setenv("BOT_USERNAME", "someone-else")
	_, err = bdkconfig.Load(path)
	wantError(t, err, path+":25:", "bot.username", "someone-else", `CN`, "python-bot")
}

func TestConfigRSAEndToEnd(t *testing.T) {
	srv := newPod(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
	cfg := loadConfig(t, writeConfig(t, dir, serverKeys(srv)+rsaBotSection))
	for name, got := range map[string]string{
		"PodURL": cfg.PodURL(), "AgentURL": cfg.AgentURL(), "KeyManagerURL": cfg.KeyManagerURL(), "SessionAuthURL": cfg.SessionAuthURL(),
	} {
		if got != srv.URL {
			t.Errorf("%s = %q, want %q", name, got, srv.URL)
		}
	}

	ts1, err := cfg.Session()
	if err != nil {
		t.Fatal(err)
	}
	ts2, err := cfg.Session()
	if err != nil {
		t.Fatal(err)
	}
	if ts1 != ts2 {
		t.Fatal("Session returned two different sessions")
	}
	tok1, err := ts1.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tok2, err := ts2.Token(context.Background())
	if err != nil || tok1 != tok2 {
		t.Fatalf("second Token: %v, same token %v", err, tok1 == tok2)
	}

	client := configClient(t, cfg)
	status, body := get(t, client, cfg.PodURL()+symauthtest.PathSessionInfo)
	if status != http.StatusOK || !strings.Contains(body, botName) {
		t.Fatalf("sessioninfo: %d %s", status, body)
	}
	other := configClient(t, cfg)
	if status, _ := get(t, other, cfg.AgentURL()+symauthtest.PathDatafeeds); status != http.StatusOK {
		t.Fatalf("agent call: %d", status)
	}
	if pod, km := loginCalls(srv); pod != 1 || km != 1 {
		t.Fatalf("logins: pod %d, key manager %d; want one login in total", pod, km)
	}
}

func TestConfigCertificateEndToEnd(t *testing.T) {
	for _, form := range []string{"pkcs12 file", "pem file", "pkcs12 content", "pem content"} {
		t.Run(form, func(t *testing.T) {
			srv := newPod(t)
			cert, err := srv.IssueClientCertificate("cert-bot")
			if err != nil {
				t.Fatal(err)
			}
			const password = "p12-secret-password"
			dir := t.TempDir()
			p12, pemData := certP12(t, cert, password), certAndKeyPEM(t, cert)
			writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "bot.p12": p12, "bot.pem": pemData})
			var section string
			switch form {
			case "pkcs12 file":
				section = "  certificate:\n    path: bot.p12\n    password: " + password + "\n"
			case "pem file":
				section = "  certificate:\n    path: bot.pem\n"
			case "pkcs12 content":
				section = "  certificate:\n    content: " + base64.StdEncoding.EncodeToString(p12) + "\n    password: " + password + "\n"
			case "pem content":
				section = "  certificate:\n    content: \"" + strings.ReplaceAll(string(pemData), "\n", `\n`) + "\"\n"
			}
			cfg := loadConfig(t, writeConfig(t, dir, serverKeys(srv)+"bot:\n"+section))
			if cfg.Bot.Username != "cert-bot" {
				t.Errorf("Bot.Username = %q, want the CN", cfg.Bot.Username)
			}
			if inline := strings.HasSuffix(form, "content"); cfg.Bot.Certificate.Inline != inline {
				t.Errorf("Bot.Certificate = %+v", cfg.Bot.Certificate)
			}
			client := configClient(t, cfg)
			status, body := get(t, client, cfg.PodURL()+symauthtest.PathSessionInfo)
			if status != http.StatusOK || !strings.Contains(body, "cert-bot") {
				t.Fatalf("sessioninfo: %d %s", status, body)
			}
			if _, err := cfg.Session(); err != nil {
				t.Fatal(err)
			}
			if sa, ka := srv.Calls(symauthtest.PathSessionAuth), srv.Calls(symauthtest.PathKeyAuth); sa != 1 || ka != 1 {
				t.Fatalf("logins: sessionauth %d, keyauth %d; want 1 and 1", sa, ka)
			}
			assertNoSecrets(t, printed(cfg), password, base64.StdEncoding.EncodeToString(p12)[40:80])
		})
	}
}

func TestConfigPKCS12TrustStore(t *testing.T) {
	for _, form := range []string{"file", "content"} {
		t.Run(form, func(t *testing.T) {
			srv := newPod(t)
			dir := t.TempDir()
			store := trustStoreP12(t, "changeit", caOf(t, srv))
			writeFiles(t, dir, map[string][]byte{"truststore.p12": store, "keys/bot.pem": pemKey(t, botKey())})
			text := strings.Replace(serverKeys(srv), "path: ca.pem", "path: truststore.p12\n    password: changeit", 1)
			if form == "content" {
				text = strings.Replace(serverKeys(srv), "path: ca.pem", "content: "+base64.StdEncoding.EncodeToString(store)+"\n    password: changeit", 1)
			}
			cfg := loadConfig(t, writeConfig(t, dir, text+rsaBotSection))
			client := configClient(t, cfg)
			if status, body := get(t, client, cfg.PodURL()+symauthtest.PathSessionInfo); status != http.StatusOK {
				t.Fatalf("sessioninfo: %d %s", status, body)
			}
			// A PKCS#12 trust store (BDK Java's format) is trusted with the
			// system's roots, as BDK Java adds the JVM's.
			want, err := x509.SystemCertPool()
			if err != nil {
				t.Skip("no system roots here:", err)
			}
			want.AddCert(caOf(t, srv))
			if roots := cfg.RootCAs(); roots == nil || !roots.Equal(want) {
				t.Fatal("RootCAs() is not the system roots with the trust store")
			}
		})
	}
}

// Without a trust store, the system's roots are used: symauthtest's CA is not
// among them, so the login fails in the TLS handshake.
func TestConfigWithoutTrustStoreUsesSystemRoots(t *testing.T) {
	srv := newPod(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"keys/bot.pem": pemKey(t, botKey())})
	text := strings.Replace(serverKeys(srv), "ssl:\n  trustStore:\n    path: ca.pem\n", "", 1)
	cfg := loadConfig(t, writeConfig(t, dir, text+rsaBotSection))
	if cfg.SSL.TrustStore != (bdkconfig.CredentialFile{}) || cfg.RootCAs() != nil {
		t.Errorf("SSL.TrustStore = %+v", cfg.SSL.TrustStore)
	}
	client := configClient(t, cfg)
	_, err := client.Get(cfg.PodURL() + symauthtest.PathSessionInfo)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("GET with system roots: %v, want a certificate error", err)
	}
}

// connectProxy is an HTTP proxy for https (CONNECT) that requires basic
// authentication and records the targets and credentials it saw.
type connectProxy struct {
	*httptest.Server
	wantAuth string
	mu       sync.Mutex
	targets  []string
}

func newConnectProxy(t *testing.T, user, password string) *connectProxy {
	t.Helper()
	p := &connectProxy{wantAuth: "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}
	var wg sync.WaitGroup
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		if r.Header.Get("Proxy-Authorization") != p.wantAuth {
			w.Header().Set("Proxy-Authenticate", `Basic realm="test"`)
			http.Error(w, "who are you", http.StatusProxyAuthRequired)
			return
		}
		p.mu.Lock()
		p.targets = append(p.targets, r.Host)
		p.mu.Unlock()
		target, err := net.Dial("tcp", r.Host)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			target.Close()
			return
		}
		_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = io.Copy(target, buf.Reader)
			target.Close()
		}()
		_, _ = io.Copy(conn, target)
		conn.Close()
	}))
	t.Cleanup(func() { p.Close(); wg.Wait() })
	return p
}

func (p *connectProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.targets...)
}

func TestConfigProxy(t *testing.T) {
	for _, where := range []string{"top level", "pod section"} {
		t.Run(where, func(t *testing.T) {
			srv := newPod(t)
			const user, password = "proxy-user", "proxy-secret-password"
			proxy := newConnectProxy(t, user, password)
			pu, _ := url.Parse(proxy.URL)
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
			section := fmt.Sprintf("proxy:\n  host: %s\n  port: %s\n  username: %s\n  password: %s\n", pu.Hostname(), pu.Port(), user, password)
			if where == "pod section" {
				srvURL, _ := url.Parse(srv.URL)
				section = "pod:\n  host: " + srvURL.Hostname() + "\n  " + strings.ReplaceAll(strings.TrimSpace(section), "\n", "\n  ") + "\n"
			}
			cfg := loadConfig(t, writeConfig(t, dir, serverKeys(srv)+rsaBotSection+section))
			if cfg.Pod.Proxy == nil || cfg.Pod.Proxy.Username != user {
				t.Fatalf("Pod.Proxy = %+v", cfg.Pod.Proxy)
			}
			client := configClient(t, cfg)
			if status, body := get(t, client, cfg.PodURL()+symauthtest.PathSessionInfo); status != http.StatusOK {
				t.Fatalf("sessioninfo through the proxy: %d %s", status, body)
			}
			srvHost := strings.TrimPrefix(srv.URL, "https://")
			if seen := proxy.seen(); len(seen) == 0 || seen[0] != srvHost {
				t.Fatalf("the proxy saw %v, want CONNECT %s", seen, srvHost)
			}
			if pod, _ := loginCalls(srv); pod != 1 {
				t.Fatalf("%d logins", pod)
			}
			assertNoSecrets(t, printed(cfg), password)

			// A host the configuration does not name: the top-level proxy,
			// or, without one, the environment's (none for loopback).
			plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
			t.Cleanup(plain.Close)
			resp, err := client.Get(plain.URL)
			if where == "pod section" {
				if err != nil {
					t.Fatalf("GET another host: %v", err)
				}
				resp.Body.Close()
			} else if err == nil {
				resp.Body.Close() // the proxy refuses plain-http GETs
				if resp.StatusCode != http.StatusMethodNotAllowed {
					t.Fatalf("GET another host through the proxy: %d", resp.StatusCode)
				}
			}
		})
	}
}

func TestConfigOBO(t *testing.T) {
	srv := newPod(t)
	appCert, err := srv.IssueAppCertificate("cert-app")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.RegisterApp("rsa-app", botKey().Public()); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"rsa-app", "cert-app"} {
		if err := srv.InstallApp(app, botName); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey()), "app.pem": certAndKeyPEM(t, appCert)})
	for _, c := range []struct{ name, section string }{
		{"rsa", "app:\n  appId: rsa-app\n  privateKey:\n    path: keys/bot.pem\n"},
		{"certificate", "app:\n  certificate:\n    path: app.pem\n"},
		{"app only", "app:\n  appId: rsa-app\n  privateKey:\n    path: keys/bot.pem\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			bot := rsaBotSection
			if c.name == "app only" {
				bot = ""
			}
			cfg := loadConfig(t, writeConfig(t, dir, serverKeys(srv)+bot+c.section))
			obo, err := cfg.OBO()
			if err != nil {
				t.Fatal(err)
			}
			if again, _ := cfg.OBO(); again != obo {
				t.Fatal("OBO returned two different apps")
			}
			client := &http.Client{Transport: symauth.NewTransport(oboUsername(t, obo, botName), srv.Client().Transport)}
			if status, body := get(t, client, cfg.PodURL()+symauthtest.PathSessionInfo); status != http.StatusOK || !strings.Contains(body, botName) {
				t.Fatalf("sessioninfo on behalf of %s: %d %s", botName, status, body)
			}
			if c.name == "app only" {
				_, err := cfg.Session()
				wantError(t, err, "bot: not configured")
				_, err = cfg.HTTPClient()
				wantError(t, err, "bot: not configured")
			}
		})
	}
}

// errorFixtures writes the files the error cases refer to.
func errorFixtures(t *testing.T, dir string) {
	t.Helper()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cert := selfSigned(t, "cert-bot")
	expired := selfSigned(t, "old-bot")
	tmpl := *expired.Leaf
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, &tmpl, expired.PrivateKey.(crypto.Signer).Public(), expired.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	expired = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: expired.PrivateKey}
	ca := localhostCertificate(t)
	writeFiles(t, dir, map[string][]byte{
		"bot.pem":         pemKey(t, botKey()),
		"small.pem":       pemKey(t, small),
		"ca.pem":          pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate[0]}),
		"bot.p12":         certP12(t, cert, "p12-secret-password"),
		"cert.pem":        certAndKeyPEM(t, cert),
		"cert-only.pem":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		"expired.pem":     certAndKeyPEM(t, expired),
		"truststore.jks":  append([]byte{0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2}, make([]byte, 64)...),
		"truststore.p12":  trustStoreP12(t, "truststore-secret-password", ca.Leaf),
		"keystore.p12":    certP12(t, cert, "p12-secret-password"),
		"no-certs.pem":    []byte("-----BEGIN NOTHING-----\nAAAA\n-----END NOTHING-----\n"),
		"garbage.bin":     []byte{0x30, 0x03, 0x02, 0x01, 0x05, 0xFF},
		"empty.pem":       {},
		"adir/.keep":      []byte("x"),
		"bundle-only.pem": append(pemKey(t, botKey()), []byte("trailing")...),
	})
}

// The secrets in the error cases' files and texts: no error may show them.
var configSecrets = []string{"p12-secret-password", "wrong-secret-password", "truststore-secret-password", "proxy-secret-password", "MIIE"}

func TestConfigErrors(t *testing.T) {
	unsetenv(t, "SYMAUTH_TEST_UNSET")
	dir := t.TempDir()
	errorFixtures(t, dir)
	keyContent := strings.ReplaceAll(string(pemKey(t, botKey())), "\n", `\n`)
	const rsaBot = "bot:\n  username: b\n  privateKey:\n    path: bot.pem\n"
	const certBot = "bot:\n  certificate:\n    path: cert.pem\n"
	cases := []struct {
		name string
		text string
		want []string // in the error, besides the file name
		at   string   // where the error comes: "" at load, "session" from Session and HTTPClient, "obo" from OBO
	}{
		{"no host", rsaBot, []string{"pod.host: missing", "the RSA login needs it"}, "session"},
		{"section without host", "pod:\n  port: 443\n" + rsaBot, []string{":1: pod.host: missing"}, "session"},
		{"no username", "host: h\nbot:\n  privateKey:\n    path: bot.pem\n", []string{":2: bot.username: missing"}, "session"},
		{"username with spaces", "host: h\nbot:\n  username: ' b '\n  privateKey:\n    path: bot.pem\n", []string{":3: bot.username:", "white space"}, "session"},
		{"both key and certificate", "host: h\nbot:\n  username: b\n  privateKey:\n    path: bot.pem\n  certificate:\n    path: cert.pem\n", []string{":2: bot: both bot.privateKey.path and bot.certificate.path are configured"}, "session"},
		{"neither", "host: h\nbot:\n  username: b\n", []string{":2: bot.privateKey: missing"}, "session"},
		{"no bot", "host: h\n", []string{"bot: not configured"}, "session"},
		{"path and content", "host: h\nbot:\n  username: b\n  privateKey:\n    path: bot.pem\n    content: \"" + keyContent + "\"\n", []string{":6: bot.privateKey.content: bot.privateKey.path is given too"}, "session"},
		{"key scalar", "host: h\nbot:\n  username: b\n  privateKey: bot.pem\n", []string{":4: bot.privateKey: want a mapping"}, ""},
		{"unreadable key", "host: h\nbot:\n  username: b\n  privateKey:\n    path: nope.pem\n", []string{":5: bot.privateKey.path:", "nope.pem"}, ""},
		{"key is a directory", "host: h\nbot:\n  username: b\n  privateKey:\n    path: adir\n", []string{"bot.privateKey.path:", "adir"}, ""},
		{"empty key file", "host: h\nbot:\n  username: b\n  privateKey:\n    path: empty.pem\n", []string{"bot.privateKey.path:", "is empty"}, ""},
		{"not a key", "host: h\nbot:\n  username: b\n  privateKey:\n    path: ca.pem\n", []string{"bot.privateKey.path:", "certificate, not a private key"}, ""},
		{"small key", "host: h\nbot:\n  username: b\n  privateKey:\n    path: small.pem\n", []string{"bot.privateKey.path:", "1024-bit"}, ""},
		{"bad key content", "host: h\nbot:\n  username: b\n  privateKey:\n    content: not-a-key\n", []string{":5: bot.privateKey.content:", "no PEM private key"}, ""},
		{"port not a number", "host: h\nport: abc\n" + rsaBot, []string{":2: port: want a TCP port"}, ""},
		{"port too large", "host: h\nport: 70000\n" + rsaBot, []string{":2: port:", "1 to 65535"}, ""},
		{"port a list", "host: h\npod:\n  port: [1, 2]\n" + rsaBot, []string{":3: pod.port: want a single value, not a list"}, ""},
		{"maxAttempts not a number", "host: h\nretry:\n  maxAttempts: x\n" + rsaBot, []string{":3: retry.maxAttempts:"}, ""},
		{"maxAttempts zero", "host: h\nretry:\n  maxAttempts: 0\n" + rsaBot, []string{":3: retry.maxAttempts: want at least 1"}, ""},
		{"negative interval", "host: h\nretry:\n  initialIntervalMillis: -5\n" + rsaBot, []string{"retry.initialIntervalMillis:"}, ""},
		{"multiplier", "host: h\nretry:\n  multiplier: fast\n" + rsaBot, []string{":3: retry.multiplier: want a number"}, ""},
		{"retry a list", "host: h\nretry: [1]\n" + rsaBot, []string{":2: retry: want a mapping of keys, not a list"}, ""},
		{"malformed YAML", "host: [h\n  password: wrong-secret-password\n" + rsaBot, []string{"config.yaml:1: not valid YAML", "did not find expected ',' or ']'"}, ""},
		{"empty document", "", []string{"the configuration is empty"}, ""},
		{"comment only", "# nothing\n", []string{"the configuration is empty"}, ""},
		{"top-level list", "- host: h\n", []string{"want a mapping of keys at the top level"}, ""},
		{"top-level text", "-----BEGIN PRIVATE KEY-----\nMIIEwrongsecret\n", []string{"want a mapping of keys at the top level"}, ""},
		{"bot a string", "host: h\nbot: my-bot\n", []string{":2: bot: want a mapping of keys, not a single value"}, ""},
		{"scheme ftp", "scheme: ftp\nhost: h\n" + rsaBot, []string{":1: scheme: want https or http"}, ""},
		{"plain http", "scheme: http\nhost: acme.example\n" + rsaBot, []string{"pod:", "http://acme.example:443", "plain http"}, "session"},
		{"host with scheme", "host: https://acme.example\n" + rsaBot, []string{":1: host: give the host name only"}, "session"},
		{"host with port", "host: acme.example:8443\n" + rsaBot, []string{":1: host: give the port under port"}, "session"},
		{"host with space", "host: acme example\n" + rsaBot, []string{":1: host: not a host name"}, "session"},
		{"bad context", "host: h\ncontext: a?b\n" + rsaBot, []string{":2: context: want a path"}, ""},
		{"duplicate key", "host: a\nhost: b\n" + rsaBot, []string{":2: host: given twice (lines 1 and 2)"}, ""},
		{"certificate wrong password", "host: h\nbot:\n  certificate:\n    path: bot.p12\n    password: wrong-secret-password\n", []string{":5: bot.certificate.password: wrong password"}, ""},
		{"certificate no password", "host: h\nbot:\n  certificate:\n    path: bot.p12\n", []string{"bot.certificate.password: missing"}, ""},
		{"certificate username", "host: h\nbot:\n  username: other-bot\n  certificate:\n    path: cert.pem\n", []string{":3: bot.username:", `"other-bot"`, `"cert-bot"`}, ""},
		{"certificate garbage", "host: h\nbot:\n  certificate:\n    path: garbage.bin\n", []string{":4: bot.certificate.path:", "PKCS#12"}, ""},
		{"certificate without key", "host: h\nbot:\n  certificate:\n    path: cert-only.pem\n", []string{"bot.certificate.path: ParsePEM"}, ""},
		{"certificate expired", "host: h\nbot:\n  certificate:\n    path: expired.pem\n", []string{"bot.certificate.path:", "expired"}, ""},
		{"certificate content not base64", "host: h\nbot:\n  certificate:\n    content: '%%%'\n", []string{":4: bot.certificate.content: neither PEM nor base64"}, ""},
		{"certificate without session auth", "pod:\n  host: h\n" + certBot, []string{"sessionAuth.host: missing", "(the certificate login needs it)"}, "session"},
		{"certificate over http", "host: h\nsessionAuth:\n  scheme: http\n  host: 127.0.0.1\n" + certBot, []string{":2: sessionAuth.scheme: must be https"}, "session"},
		{"JKS trust store", "host: h\nssl:\n  trustStore:\n    path: truststore.jks\n" + rsaBot,
			[]string{":4: ssl.trustStore.path: not a valid Java key store"}, ""},
		{"PEM trust store without certificates", "host: h\nssl:\n  trustStore:\n    path: no-certs.pem\n" + rsaBot, []string{"ssl.trustStore.path: no certificate found"}, ""},
		{"trust store wrong password", "host: h\nssl:\n  trustStore:\n    path: truststore.p12\n    password: wrong-secret-password\n" + rsaBot, []string{":5: ssl.trustStore.password: wrong password"}, ""},
		{"trust store is a key store", "host: h\nssl:\n  trustStore:\n    path: keystore.p12\n    password: p12-secret-password\n" + rsaBot, []string{"ssl.trustStore.path: not a PEM bundle, Java key store or PKCS#12 trust store"}, ""},
		{"trust store garbage", "host: h\nssl:\n  trustStore:\n    path: garbage.bin\n" + rsaBot, []string{"ssl.trustStore.path: not a PEM bundle"}, ""},
		{"trust store content not base64", "host: h\nssl:\n  trustStore:\n    content: '%%%'\n" + rsaBot, []string{"ssl.trustStore.content: neither PEM nor base64"}, ""},
		{"trust store unreadable", "host: h\nssl:\n  trustStore:\n    path: nope.p12\n" + rsaBot, []string{":4: ssl.trustStore.path:", "nope.p12"}, ""},
		{"unset variable", "host: h\nbot:\n  username: ${SYMAUTH_TEST_UNSET}\n  privateKey:\n    path: bot.pem\n", []string{":3: bot.username: environment variable SYMAUTH_TEST_UNSET is not set"}, ""},
		{"unset variable in a default", "host: ${SYMAUTH_TEST_UNSET:-${SYMAUTH_TEST_UNSET}}\n" + rsaBot, []string{":1: host: environment variable SYMAUTH_TEST_UNSET is not set"}, ""},
		{"unterminated variable", "host: ${HOME\n" + rsaBot, []string{":1: host: a ${ has no closing }"}, ""},
		{"empty variable", "host: ${}\n" + rsaBot, []string{":1: host: a ${…} has no valid variable name"}, ""},
		{"proxy without port", "host: h\nproxy:\n  host: p\n" + rsaBot, []string{":2: proxy.port: missing"}, ""},
		{"proxy bad port", "host: h\nproxy:\n  host: p\n  port: http\n" + rsaBot, []string{":4: proxy.port: want a TCP port"}, ""},
		{"proxy bad host", "host: h\nproxy:\n  host: http://p\n  port: 3128\n" + rsaBot, []string{":3: proxy.host: give the host name only"}, ""},
		{"proxy password without user", "host: h\nproxy:\n  host: p\n  port: 3128\n  password: proxy-secret-password\n" + rsaBot, []string{":2: proxy.username: missing"}, ""},
		{"proxy password a list", "host: h\nproxy:\n  host: p\n  port: 3128\n  username: u\n  password: [proxy-secret-password]\n" + rsaBot, []string{":6: proxy.password: want a single value"}, ""},
		{"commonJwt not a boolean", "host: h\ncommonJwt:\n  enabled: maybe\n" + rsaBot, []string{":3: commonJwt.enabled: want true or false"}, ""},
		{"commonJwt a string", "host: h\ncommonJwt: yes\n" + rsaBot, []string{":2: commonJwt: want a mapping"}, ""},
		{"app with both", "host: h\n" + rsaBot + "app:\n  appId: a\n  privateKey:\n    path: bot.pem\n  certificate:\n    path: cert.pem\n", []string{":6: app: both app.privateKey.path and app.certificate.path are configured"}, "obo"},
		{"app key without id", "host: h\n" + rsaBot + "app:\n  privateKey:\n    path: bot.pem\n", []string{":6: app.appId: missing"}, "obo"},
		{"app id with spaces", "host: h\n" + rsaBot + "app:\n  appId: 'a b '\n  privateKey:\n    path: bot.pem\n", []string{":7: app.appId:", "white space"}, "obo"},
		{"app certificate id", "host: h\nsessionAuth:\n  host: h\n" + rsaBot + "app:\n  appId: other-app\n  certificate:\n    path: cert.pem\n", []string{":9: app.appId:", `"other-app"`, `"cert-bot"`}, ""},
		{"app certificate wrong password", "host: h\n" + rsaBot + "app:\n  certificate:\n    path: bot.p12\n    password: wrong-secret-password\n", []string{"app.certificate.password: wrong password"}, ""},
		{"app certificate without session auth", "pod:\n  host: h\n" + rsaBot + "app:\n  certificate:\n    path: cert.pem\n", []string{"sessionAuth.host: missing", "(the certificate on-behalf-of login needs it)"}, "obo"},
		{"app unreadable key", "host: h\n" + rsaBot + "app:\n  appId: a\n  privateKey:\n    path: nope.pem\n", []string{":9: app.privateKey.path:"}, ""},
		{"app a list", "host: h\n" + rsaBot + "app: [a]\n", []string{":6: app: want a mapping"}, ""},
		{"app id a mapping", "host: h\n" + rsaBot + "app:\n  appId: {a: b}\n", []string{":7: app.appId: want a single value, not a mapping"}, ""},
		{"app only, incomplete", "host: h\napp:\n  appId: a\n", []string{":2: app.privateKey: missing"}, "obo"},
		{"load balancing nodes not a list", "host: h\nagent:\n  loadBalancing:\n    nodes: agent1\n" + rsaBot, []string{":4: agent.loadBalancing.nodes: want a list"}, ""},
		{"load balancing node not a mapping", "host: h\nagent:\n  loadBalancing:\n    nodes:\n      - agent1\n" + rsaBot, []string{":5: agent.loadBalancing.nodes[0]: want a mapping"}, ""},
		{"load balancing node without host", "host: h\nagent:\n  loadBalancing:\n    nodes:\n      - port: 7443\n" + rsaBot, []string{":5: agent.loadBalancing.nodes[0].host: missing", "the RSA login needs it"}, "session"},
		{"merge key not a mapping", "host: h\nbot:\n  <<: 3\n  username: ${SYMAUTH_TEST_UNSET}\n", []string{"bot.username: environment variable"}, ""},
	}
	path := filepath.Join(dir, "config.yaml")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(path, []byte(c.text), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := bdkconfig.Load(path, bdkconfig.WithLogger(quietLogger()))
			switch {
			case c.at == "" && err == nil:
				t.Fatal("Load succeeded, want an error")
			case c.at != "" && err != nil:
				t.Fatalf("Load: %v; want the error from %s", err, c.at)
			case c.at == "session":
				_, err = cfg.Session()
				if _, cerr := cfg.HTTPClient(); cerr == nil || err == nil || cerr.Error() != err.Error() {
					t.Errorf("HTTPClient: %v; Session: %v", cerr, err)
				}
			case c.at == "obo":
				_, err = cfg.OBO()
			}
			wantError(t, err, append([]string{"bdkconfig: " + path}, c.want...)...)
			assertNoSecrets(t, []string{err.Error(), fmt.Sprintf("%+v %#v", err, err)}, append(configSecrets, keyContent[40:80])...)

			// Parse names the line and the key, but no file.
			if strings.Contains(c.text, ".pem") || strings.Contains(c.text, ".p12") || strings.Contains(c.text, ".jks") || strings.Contains(c.text, ".bin") || strings.Contains(c.text, "adir") {
				return // relative paths: Parse reads them from the working directory
			}
			cfg, err = bdkconfig.Parse([]byte(c.text), bdkconfig.WithLogger(quietLogger()))
			switch c.at {
			case "session":
				_, err = cfg.Session()
			case "obo":
				_, err = cfg.OBO()
			}
			if err == nil || strings.Contains(err.Error(), path) || !strings.HasPrefix(err.Error(), "bdkconfig: config") {
				t.Errorf("Parse: %v", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := bdkconfig.Load(path)
	wantError(t, err, "bdkconfig: "+path+": cannot read the configuration")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the cause is not kept: %v", err)
	}
}

func TestConfigDefaultsAndInheritance(t *testing.T) {
	unsetenv(t, "SYMAUTH_TEST_UNSET")
	t.Setenv("SYMAUTH_TEST_HOST", "acme.symphony.example")
	t.Setenv("SYMAUTH_TEST_EMPTY", "")
	dir := t.TempDir()
	errorFixtures(t, dir)
	keyPEM := string(pemKey(t, botKey()))
	text := `# anchors, merge keys and ${…}
defaults: &km
  host: km.acme.example
  port: 8444
scheme: https
host: ${SYMAUTH_TEST_HOST}
context: /symphony/
pod:
  context: ""
keyManager:
  <<: *km
sessionAuth:
  <<: [*km]
  port: 8445
  context: sa
agent:
  scheme: http
  host: "::1"
  port: 80
  proxy:
    host: ${SYMAUTH_TEST_UNSET:-}
bot:
  username: "${SYMAUTH_TEST_UNSET:-my-bot}"
  privateKey:
    content: |
` + indent(keyPEM, "      ") + `
  certificate:
    path: ${SYMAUTH_TEST_EMPTY}
retry:
  maxAttempts: -1
commonJwt:
  enabled: "yes"
datafeed:
  version: $${NOT_A_VARIABLE}
  tag: ${SYMAUTH_TEST_UNSET} # not read: no error
`
	cfg, err := bdkconfig.Parse([]byte(text), bdkconfig.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, got, want string }{
		{"PodURL", cfg.PodURL(), "https://acme.symphony.example:443/symphony"}, // an empty context is no override
		{"AgentURL", cfg.AgentURL(), "http://[::1]:80/symphony"},
		{"KeyManagerURL", cfg.KeyManagerURL(), "https://km.acme.example:8444/symphony"},
		{"SessionAuthURL", cfg.SessionAuthURL(), "https://km.acme.example:8445/sa"},
		{"Bot.Username", cfg.Bot.Username, "my-bot"},
		{"Context", cfg.Context, "/symphony"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if !cfg.Bot.PrivateKey.Inline || cfg.Bot.PrivateKey.Path != "" || cfg.Bot.Certificate != (bdkconfig.CredentialFile{}) {
		t.Errorf("Bot = %+v", cfg.Bot)
	}
	if cfg.Retry.MaxAttempts != math.MaxInt32 || !cfg.CommonJWT || cfg.File != "" || cfg.Agent.Proxy != nil {
		t.Errorf("Retry = %+v, CommonJWT = %v, File = %q, Agent.Proxy = %v", cfg.Retry, cfg.CommonJWT, cfg.File, cfg.Agent.Proxy)
	}
	assertNoSecrets(t, printed(cfg), keyPEM[40:80])

	// A key in base64 of its PEM, and http to a loopback host.
	text = "scheme: http\nhost: localhost\nport: 8080\nbot:\n  username: b\n  privateKey:\n    content: " + base64.StdEncoding.EncodeToString([]byte(keyPEM)) + "\n"
	if cfg, err = bdkconfig.Parse([]byte(text)); err != nil {
		t.Fatal(err)
	}
	if got := cfg.PodURL(); got != "http://localhost:8080" || cfg.KeyManagerURL() != "http://localhost:8080" {
		t.Errorf("PodURL = %q", got)
	}

	// Relative paths of Parse are relative to the working directory.
	if _, err := bdkconfig.Parse([]byte("host: h\nbot:\n  username: b\n  privateKey:\n    path: " + filepath.Join(dir, "bot.pem") + "\n")); err != nil {
		t.Errorf("absolute path: %v", err)
	}
	t.Chdir(dir)
	cfg, err = bdkconfig.Parse([]byte("host: h\nbot:\n  username: b\n  privateKey:\n    path: bot.pem\nssl:\n  trustStore:\n    path: ${user.dir}/ca.pem\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Bot.PrivateKey.Path != "bot.pem" || !strings.HasSuffix(cfg.SSL.TrustStore.Path, "ca.pem") {
		t.Errorf("Bot.PrivateKey = %+v, SSL = %+v", cfg.Bot.PrivateKey, cfg.SSL)
	}
	if _, err := bdkconfig.Parse([]byte("host: h\nbot:\n  username: b\n  privateKey:\n    path: ${user.home}/no-such-symauth-key.pem\n")); err == nil {
		t.Error("${user.home}: no error for a missing file")
	}
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+prefix)
}

// A Config made without Load or Parse has no logins.
func TestConfigZeroValue(t *testing.T) {
	var cfg bdkconfig.Config
	if _, err := cfg.Session(); err == nil {
		t.Error("Session of a zero Config: no error")
	}
	if _, err := cfg.HTTPClient(); err == nil {
		t.Error("HTTPClient of a zero Config: no error")
	}
	if _, err := cfg.OBO(); err == nil {
		t.Error("OBO of a zero Config: no error")
	}
	if cfg.PodURL() != "" || cfg.AgentURL() != "" || cfg.KeyManagerURL() != "" || cfg.SessionAuthURL() != "" {
		t.Error("URLs of a zero Config")
	}
}

// Simplified key delivery, as BDK Java decides it: an agent section that only
// inherits the top level's host is "not configured" — whatever the pod
// section sets — so the session's claim alone decides and the agent is not
// asked (a pod without an agent answers 404 there); an agent section that
// sets its host is asked.
func TestConfigSKDAgentConfiguredOrNot(t *testing.T) {
	for _, tc := range []struct {
		name         string
		agent        string
		wantAsked    bool
		wantKMLogins int
	}{
		{"no agent section", "", false, 0},
		{"no agent section, a pod section with its own host", "pod:\n  host: localhost\n", false, 0},
		{"agent section with its own host", "agent:\n  host: 127.0.0.1\n", true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, err := symauthtest.Start(symauthtest.Options{SimplifiedKeyDelivery: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(srv.Close)
			if _, err := srv.RegisterUser(botName, botKey().Public()); err != nil {
				t.Fatal(err)
			}
			srv.InjectFault(symauthtest.PathAgentInfo, symauthtest.Fault{Status: http.StatusNotFound})
			dir := t.TempDir()
			writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
			cfg := loadConfig(t, writeConfig(t, dir, serverKeys(srv)+rsaBotSection+tc.agent))
			sess, err := cfg.Session()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sess.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			asked := srv.Calls(symauthtest.PathAgentInfo)
			if (asked > 0) != tc.wantAsked {
				t.Errorf("the agent was asked %d times; want asked = %v", asked, tc.wantAsked)
			}
			if _, km := loginCalls(srv); km != tc.wantKMLogins {
				t.Errorf("%d key manager logins; want %d", km, tc.wantKMLogins)
			}
		})
	}
}
