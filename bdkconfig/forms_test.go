package bdkconfig_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/symauthtest"
)

// The fixtures of testdata/forms are BDK files, each with one way of giving
// a key, a certificate or a trust store, in YAML and in JSON. They name the
// pod with ${SYMAUTH_FORMS_HOST} and ${SYMAUTH_FORMS_PORT}, inline contents
// with ${SYMAUTH_FORMS_…} variables, and files with paths relative to
// themselves: the test copies one to a temporary directory, writes the
// credentials it names there, and logs in against symauthtest.

// formsP12Password opens the PKCS#12 files of the fixtures.
const formsP12Password = "forms-p12-password"

// The names the fixtures log in as.
const (
	formsCertBot = "forms-cert-bot"
	formsRSAApp  = "forms-rsa-app"
	formsCertApp = "forms-cert-app"
)

// formsAppKey is the RSA key of the apps of the fixtures, another key than
// the bot's, so that a login with the wrong one fails.
var formsAppKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// formsRecorder is a slog.Handler that keeps every record, for the tests
// of what a Config logs.
type formsRecorder struct {
	mu      sync.Mutex
	records []formsRecord
}

type formsRecord struct {
	Level slog.Level
	Msg   string
	Attrs map[string]string
}

func (r formsRecord) String() string { return fmt.Sprintf("%s %q %v", r.Level, r.Msg, r.Attrs) }

func newFormsLogger() (*slog.Logger, *formsRecorder) {
	rec := &formsRecorder{}
	return slog.New(rec), rec
}

func (r *formsRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (r *formsRecorder) Handle(_ context.Context, rec slog.Record) error {
	attrs := map[string]string{}
	rec.Attrs(func(a slog.Attr) bool {
		attrs[a.Key] = a.Value.String()
		return true
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, formsRecord{Level: rec.Level, Msg: rec.Message, Attrs: attrs})
	return nil
}

func (r *formsRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *formsRecorder) WithGroup(string) slog.Handler      { return r }

// find returns the records at level whose message holds every one of parts.
func (r *formsRecorder) find(level slog.Level, parts ...string) []formsRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []formsRecord
next:
	for _, rec := range r.records {
		if rec.Level != level {
			continue
		}
		for _, p := range parts {
			if !strings.Contains(rec.Msg, p) {
				continue next
			}
		}
		out = append(out, rec)
	}
	return out
}

// text is every record, for failure messages and secret checks.
func (r *formsRecorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, rec := range r.records {
		b.WriteString(rec.String() + "\n")
	}
	return b.String()
}

// formsJKS is a Java key store (JKS) trust store of certs under password,
// as keytool -importcert writes it.
func formsJKS(t testing.TB, password string, certs ...*x509.Certificate) []byte {
	t.Helper()
	ks := keystore.New()
	for i, c := range certs {
		entry := keystore.TrustedCertificateEntry{CreationTime: time.Now(), Certificate: keystore.Certificate{Type: "X509", Content: c.Raw}}
		if err := ks.SetTrustedCertificateEntry(fmt.Sprintf("ca-%d", i), entry); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := ks.Store(&buf, []byte(password)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// formsCopy copies testdata/forms/name to dir and returns the copy's path.
func formsCopy(t testing.TB, name, dir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "forms", name))
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{name: data})
	return filepath.Join(dir, name)
}

// formsServer is a symauthtest pod that knows every login of the fixtures:
// the bot test-bot (botKey), the certificate bot formsCertBot, the RSA app
// formsRSAApp (formsAppKey) and the certificate app formsCertApp, both
// installed by test-bot.
type formsServer struct {
	*symauthtest.Server
	files map[string][]byte // the credential files the fixtures name
	env   map[string]string // the SYMAUTH_FORMS_* variables
}

func newFormsServer(t *testing.T) *formsServer {
	t.Helper()
	srv := newPod(t)
	botCert, err := srv.IssueClientCertificate(formsCertBot)
	if err != nil {
		t.Fatal(err)
	}
	appCert, err := srv.IssueAppCertificate(formsCertApp)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.RegisterApp(formsRSAApp, formsAppKey().Public()); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{formsRSAApp, formsCertApp} {
		if err := srv.InstallApp(app, botName); err != nil {
			t.Fatal(err)
		}
	}
	botKeyPEM, appKeyPEM := pemKey(t, botKey()), pemKey(t, formsAppKey())
	botP12, appP12 := certP12(t, botCert, formsP12Password), certP12(t, appCert, formsP12Password)
	u, _ := url.Parse(srv.URL)
	return &formsServer{
		Server: srv,
		files: map[string][]byte{
			"certs/ca.pem":         srv.CACertPEM(),
			"certs/truststore.p12": trustStoreP12(t, "changeit", caOf(t, srv)),
			"certs/bot.p12":        botP12,
			"certs/bot.pem":        certAndKeyPEM(t, botCert),
			"certs/app.p12":        appP12,
			"rsa/bot-private.pem":  botKeyPEM,
			"rsa/app-private.pem":  appKeyPEM,
		},
		env: map[string]string{
			"SYMAUTH_FORMS_HOST":           u.Hostname(),
			"SYMAUTH_FORMS_PORT":           u.Port(),
			"SYMAUTH_FORMS_BOT_KEY_PEM":    string(botKeyPEM),
			"SYMAUTH_FORMS_BOT_KEY_BASE64": base64.StdEncoding.EncodeToString(botKeyPEM),
			"SYMAUTH_FORMS_BOT_P12_BASE64": base64.StdEncoding.EncodeToString(botP12),
			"SYMAUTH_FORMS_APP_KEY_PEM":    string(appKeyPEM),
			"SYMAUTH_FORMS_APP_P12_BASE64": base64.StdEncoding.EncodeToString(appP12),
		},
	}
}

// formsSessionInfo asks the pod whose session client carries, and fails t
// unless it is user's.
func formsSessionInfo(t *testing.T, client *http.Client, podURL, user string) {
	t.Helper()
	status, body := get(t, client, podURL+symauthtest.PathSessionInfo)
	if status != http.StatusOK || !strings.Contains(body, `"`+user+`"`) {
		t.Fatalf("sessioninfo: %d %s; want %s's session", status, body, user)
	}
}

// formsOBOSessionInfo logs the app of cfg in, on behalf of test-bot, and
// checks the session at the pod.
func formsOBOSessionInfo(t *testing.T, srv *formsServer, cfg *bdkconfig.Config) {
	t.Helper()
	obo, err := cfg.OBO()
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: symauth.NewTransport(oboUsername(t, obo, botName), srv.Client().Transport)}
	formsSessionInfo(t, client, cfg.PodURL(), botName)
}

func TestFormsFixtures(t *testing.T) {
	type deprecation struct{ old, instead string }
	for _, c := range []struct {
		name       string
		login      string // "rsa bot", "cert bot", "rsa app" or "cert app"
		file       string // the credential file the fixture names; "" when inline
		trustStore string
		deprecated []deprecation
	}{
		{"bot-privatekey-path", "rsa bot", "rsa/bot-private.pem", "certs/ca.pem", nil},
		{"bot-privatekey-content-pem", "rsa bot", "", "certs/ca.pem", nil},
		{"bot-privatekey-content-base64", "rsa bot", "", "certs/ca.pem", nil},
		{"bot-certificate-p12-path", "cert bot", "certs/bot.p12", "certs/ca.pem", nil},
		{"bot-certificate-pem-path", "cert bot", "certs/bot.pem", "certs/ca.pem", nil},
		{"bot-certificate-content-p12", "cert bot", "", "certs/ca.pem", nil},
		{"app-privatekey-path", "rsa app", "rsa/app-private.pem", "certs/ca.pem", nil},
		{"app-certificate-p12-path", "cert app", "certs/app.p12", "certs/ca.pem", nil},

		{"deprecated-bot-privatekeypath", "rsa bot", "rsa/bot-private.pem", "certs/ca.pem",
			[]deprecation{{"bot.privateKeyPath", "bot.privateKey.path"}}},
		{"deprecated-bot-privatekeycontent", "rsa bot", "", "certs/ca.pem",
			[]deprecation{{"bot.privateKeyContent", "bot.privateKey.content"}}},
		{"deprecated-bot-certificatepath", "cert bot", "certs/bot.p12", "certs/ca.pem",
			[]deprecation{{"bot.certificatePath", "bot.certificate.path"}, {"bot.certificatePassword", "bot.certificate.password"}}},
		{"deprecated-bot-certificatecontent", "cert bot", "", "certs/ca.pem",
			[]deprecation{{"bot.certificateContent", "bot.certificate.content"}, {"bot.certificatePassword", "bot.certificate.password"}}},
		{"deprecated-app-privatekeypath", "rsa app", "rsa/app-private.pem", "certs/ca.pem",
			[]deprecation{{"app.privateKeyPath", "app.privateKey.path"}}},
		{"deprecated-app-privatekeycontent", "rsa app", "", "certs/ca.pem",
			[]deprecation{{"app.privateKeyContent", "app.privateKey.content"}}},
		{"deprecated-app-certificatepath", "cert app", "certs/app.p12", "certs/ca.pem",
			[]deprecation{{"app.certificatePath", "app.certificate.path"}, {"app.certificatePassword", "app.certificate.password"}}},
		{"deprecated-app-certificatecontent", "cert app", "", "certs/ca.pem",
			[]deprecation{{"app.certificateContent", "app.certificate.content"}, {"app.certificatePassword", "app.certificate.password"}}},
		{"deprecated-ssl-truststorepath", "rsa bot", "rsa/bot-private.pem", "certs/truststore.p12",
			[]deprecation{{"ssl.trustStorePath", "ssl.trustStore.path"}, {"ssl.trustStorePassword", "ssl.trustStore.password"}}},
	} {
		for _, ext := range []string{".yaml", ".json"} {
			t.Run(c.name+ext, func(t *testing.T) {
				srv := newFormsServer(t)
				for k, v := range srv.env {
					t.Setenv(k, v)
				}
				dir := t.TempDir()
				writeFiles(t, dir, srv.files)
				path := formsCopy(t, c.name+ext, dir)
				logger, logs := newFormsLogger()
				cfg, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
				if err != nil {
					t.Fatal(err)
				}

				// Where the credential was read from.
				want := bdkconfig.CredentialFile{Inline: true}
				if c.file != "" {
					want = bdkconfig.CredentialFile{Path: filepath.Join(dir, filepath.FromSlash(c.file))}
				}
				var key, cert bdkconfig.CredentialFile
				switch {
				case strings.HasSuffix(c.login, "bot"):
					key, cert = cfg.Bot.PrivateKey, cfg.Bot.Certificate
				case cfg.App == nil:
					t.Fatal("App = nil")
				default:
					key, cert = cfg.App.PrivateKey, cfg.App.Certificate
				}
				if strings.HasPrefix(c.login, "rsa") && (key != want || cert != (bdkconfig.CredentialFile{})) {
					t.Errorf("PrivateKey = %+v, Certificate = %+v; want PrivateKey %+v", key, cert, want)
				}
				if strings.HasPrefix(c.login, "cert") && (cert != want || key != (bdkconfig.CredentialFile{})) {
					t.Errorf("Certificate = %+v, PrivateKey = %+v; want Certificate %+v", cert, key, want)
				}
				if got, want := cfg.SSL.TrustStore, filepath.Join(dir, filepath.FromSlash(c.trustStore)); got.Path != want || got.Inline {
					t.Errorf("SSL.TrustStore = %+v, want %s", got, want)
				}

				// The credential is the one in the file: the login works.
				switch c.login {
				case "rsa bot":
					if cfg.Bot.Username != botName {
						t.Errorf("Bot.Username = %q", cfg.Bot.Username)
					}
					formsSessionInfo(t, configClient(t, cfg), cfg.PodURL(), botName)
					if pod, km := loginCalls(srv.Server); pod != 1 || km != 1 {
						t.Errorf("RSA logins: pod %d, key manager %d; want 1 and 1", pod, km)
					}
				case "cert bot":
					if cfg.Bot.Username != formsCertBot {
						t.Errorf("Bot.Username = %q, want the certificate's CN %q", cfg.Bot.Username, formsCertBot)
					}
					formsSessionInfo(t, configClient(t, cfg), cfg.PodURL(), formsCertBot)
					if n := srv.Calls(symauthtest.PathSessionAuth); n != 1 {
						t.Errorf("%d certificate logins, want 1", n)
					}
				case "rsa app":
					if cfg.App.AppID != formsRSAApp {
						t.Errorf("App.AppID = %q", cfg.App.AppID)
					}
					formsOBOSessionInfo(t, srv, cfg)
					if n := srv.Calls(symauthtest.PathAppLogin); n != 1 {
						t.Errorf("%d RSA app logins, want 1", n)
					}
				case "cert app":
					if cfg.App.AppID != formsCertApp {
						t.Errorf("App.AppID = %q, want the certificate's CN %q", cfg.App.AppID, formsCertApp)
					}
					formsOBOSessionInfo(t, srv, cfg)
					if n := srv.Calls(symauthtest.PathCertAppLogin); n != 1 {
						t.Errorf("%d certificate app logins, want 1", n)
					}
				}

				// A deprecated key is read with a warning that names it, the
				// key to write instead, and where it is.
				for _, d := range c.deprecated {
					if found := logs.find(slog.LevelWarn, path+":", d.old+" is deprecated", "write "+d.instead); len(found) != 1 {
						t.Errorf("%d warnings that %s is deprecated for %s, want 1; the logs:\n%s", len(found), d.old, d.instead, logs.text())
					}
				}
				if found := logs.find(slog.LevelWarn, " is deprecated"); len(found) != len(c.deprecated) {
					t.Errorf("%d deprecation warnings, want %d; the logs:\n%s", len(found), len(c.deprecated), logs.text())
				}

				// No secret in what the Config shows or logs.
				assertNoSecrets(t, append(printed(cfg), logs.text()), formsP12Password,
					srv.env["SYMAUTH_FORMS_BOT_KEY_BASE64"][40:80], srv.env["SYMAUTH_FORMS_BOT_P12_BASE64"][40:80],
					strings.Split(srv.env["SYMAUTH_FORMS_BOT_KEY_PEM"], "\n")[2])
			})
		}
	}
}

// formsLegacy reads the SDK 1.x fixture name as a map, to be changed and
// written again.
func formsLegacy(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "forms", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// formsWriteJSON writes m as dir/config.json and returns its path.
func formsWriteJSON(t *testing.T, dir string, m map[string]any) string {
	t.Helper()
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string][]byte{"config.json": data})
	return filepath.Join(dir, "config.json")
}

// formsLine is the line of testdata/forms/name that holds s.
func formsLine(t *testing.T, name, s string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "forms", name))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(s))
	if i < 0 {
		t.Fatalf("%s has no %q", name, s)
	}
	return 1 + bytes.Count(data[:i], []byte("\n"))
}

func formsProxyEqual(got *bdkconfig.ProxyConfig, want bdkconfig.ProxyConfig) bool {
	return got != nil && *got == want
}

func TestFormsSDK1RSA(t *testing.T) {
	const fixture = "sdk1-rsa.json"
	srv := newPod(t)
	if err := srv.RegisterApp("sdk1-rsa-app", formsAppKey().Public()); err != nil {
		t.Fatal(err)
	}
	if err := srv.InstallApp("sdk1-rsa-app", botName); err != nil {
		t.Fatal(err)
	}
	botCert, err := srv.IssueClientCertificate("sdk1-rsa-bot-cert")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"rsa/bot-private.pem":  pemKey(t, botKey()),
		"rsa/app-private.pem":  pemKey(t, formsAppKey()),
		"certs/truststore.jks": formsJKS(t, "changeit", caOf(t, srv)),
		"certs/bot.p12":        certP12(t, botCert, "s3cr3t-cert-password"),
	}

	t.Run("as written", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, files)
		path := formsCopy(t, fixture, dir)
		logger, logs := newFormsLogger()
		cfg, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ name, got, want string }{
			{"PodURL", cfg.PodURL(), "https://acme.symphony.example:8443/pod-ctx"},
			{"KeyManagerURL", cfg.KeyManagerURL(), "https://acme-km.symphony.example:8445/relay-ctx"},
			{"AgentURL", cfg.AgentURL(), "https://acme-agent.symphony.example:443/agent-ctx"}, // no agentPort: 443, written
			{"SessionAuthURL", cfg.SessionAuthURL(), "https://acme-api.symphony.example:8444"},
			{"Bot.Username", cfg.Bot.Username, botName},
			{"Bot.PrivateKey.Path", cfg.Bot.PrivateKey.Path, filepath.Join(dir, "rsa", "bot-private.pem")},
			{"SSL.TrustStore.Path", cfg.SSL.TrustStore.Path, filepath.Join(dir, "certs", "truststore.jks")},
		} {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
		if cfg.Bot.Certificate != (bdkconfig.CredentialFile{}) {
			t.Errorf("Bot.Certificate = %+v", cfg.Bot.Certificate)
		}
		if cfg.App == nil || cfg.App.AppID != "sdk1-rsa-app" || cfg.App.PrivateKey.Path != filepath.Join(dir, "rsa", "app-private.pem") {
			t.Errorf("App = %+v", cfg.App)
		}
		top := bdkconfig.ProxyConfig{Host: "proxy.acme.example", Port: 3128, Username: "proxy-user"}
		pod := bdkconfig.ProxyConfig{Host: "pod-proxy.acme.example", Port: 8080, Username: "pod-proxy-user"}
		if !formsProxyEqual(cfg.Proxy, top) {
			t.Errorf("Proxy = %+v, want %+v", cfg.Proxy, top)
		}
		if !formsProxyEqual(cfg.Pod.Proxy, pod) {
			t.Errorf("Pod.Proxy = %+v, want %+v (podProxyURL)", cfg.Pod.Proxy, pod)
		}
		for name, got := range map[string]*bdkconfig.ProxyConfig{"KeyManager": cfg.KeyManager.Proxy, "Agent": cfg.Agent.Proxy, "SessionAuth": cfg.SessionAuth.Proxy} {
			if !formsProxyEqual(got, top) {
				t.Errorf("%s.Proxy = %+v, want proxyURL's %+v", name, got, top)
			}
		}
		if found := logs.find(slog.LevelWarn); len(found) != 0 {
			t.Errorf("warnings for a valid SDK 1.x file:\n%s", logs.text())
		}
		assertNoSecrets(t, append(printed(cfg), logs.text()), "s3cr3t-proxy-password", "s3cr3t-pod-proxy-password")
	})

	t.Run("logs in", func(t *testing.T) {
		srv.ResetCalls()
		u, _ := url.Parse(srv.URL)
		podProxy := newConnectProxy(t, "pod-proxy-user", "s3cr3t-pod-proxy-password")
		topProxy := newConnectProxy(t, "proxy-user", "s3cr3t-proxy-password")
		dir := t.TempDir()
		writeFiles(t, dir, files)
		m := formsLegacy(t, fixture)
		// The pod at 127.0.0.1, the key manager and the agent at localhost: the
		// same server under two origins, so that each gets its own proxy.
		port := json.Number(u.Port())
		m["podHost"], m["podPort"] = "127.0.0.1", port
		m["keyAuthHost"], m["keyAuthPort"] = "localhost", port
		m["agentHost"], m["agentPort"] = "localhost", port
		m["sessionAuthHost"], m["sessionAuthPort"] = "localhost", port
		for _, k := range []string{"podContextPath", "keyAuthContextPath", "agentContextPath"} {
			delete(m, k)
		}
		m["proxyURL"] = topProxy.URL
		m["podProxyURL"] = podProxy.URL
		cfg := loadConfig(t, formsWriteJSON(t, dir, m))
		if want := "https://127.0.0.1:" + u.Port(); cfg.PodURL() != want {
			t.Errorf("PodURL = %q, want %q", cfg.PodURL(), want)
		}
		client := configClient(t, cfg)
		formsSessionInfo(t, client, cfg.PodURL(), botName)
		if status, body := get(t, client, cfg.AgentURL()+symauthtest.PathDatafeeds); status != http.StatusOK {
			t.Fatalf("datafeeds: %d %s", status, body)
		}
		if pod, km := loginCalls(srv); pod != 1 || km != 1 {
			t.Errorf("logins: pod %d, key manager %d; want 1 and 1", pod, km)
		}
		podAddr, otherAddr := "127.0.0.1:"+u.Port(), "localhost:"+u.Port()
		if seen := podProxy.seen(); len(seen) == 0 || !formsAll(seen, podAddr) {
			t.Errorf("podProxyURL's proxy saw %v, want CONNECT %s only", seen, podAddr)
		}
		if seen := topProxy.seen(); len(seen) == 0 || !formsAll(seen, otherAddr) {
			t.Errorf("proxyURL's proxy saw %v, want CONNECT %s only (key manager and agent)", seen, otherAddr)
		}
		formsOBOSessionInfo(t, &formsServer{Server: srv}, cfg)
	})

	t.Run("authType rsa with a certificate too", func(t *testing.T) {
		srv.ResetCalls()
		u, _ := url.Parse(srv.URL)
		dir := t.TempDir()
		writeFiles(t, dir, files)
		m := formsLegacy(t, fixture)
		for _, k := range []string{"podHost", "keyAuthHost", "agentHost", "sessionAuthHost"} {
			m[k] = "127.0.0.1"
		}
		for _, k := range []string{"podPort", "keyAuthPort", "agentPort", "sessionAuthPort"} {
			m[k] = json.Number(u.Port())
		}
		for _, k := range []string{"podContextPath", "keyAuthContextPath", "agentContextPath", "proxyURL", "proxyUsername", "proxyPassword", "podProxyURL", "podProxyUsername", "podProxyPassword"} {
			delete(m, k)
		}
		m["authType"] = "rsa"
		m["botCertPath"], m["botCertName"], m["botCertPassword"] = "certs/", "bot.p12", "s3cr3t-cert-password"
		cfg := loadConfig(t, formsWriteJSON(t, dir, m))
		if cfg.Bot.Certificate != (bdkconfig.CredentialFile{}) || cfg.Bot.PrivateKey.Path != filepath.Join(dir, "rsa", "bot-private.pem") {
			t.Errorf("authType rsa: Bot = %+v, want the key only", cfg.Bot)
		}
		formsSessionInfo(t, configClient(t, cfg), cfg.PodURL(), botName)
		if pod, sa := srv.Calls(symauthtest.PathLogin), srv.Calls(symauthtest.PathSessionAuth); pod != 1 || sa != 0 {
			t.Errorf("logins: RSA %d, certificate %d; want the RSA one", pod, sa)
		}
	})

	t.Run("errors name the flat keys", func(t *testing.T) {
		for _, c := range []struct {
			name        string
			change      func(m map[string]any)
			want        []string
			notContains []string
		}{
			{"bad podPort", func(m map[string]any) { m["podPort"] = "eighty" }, []string{"podPort: want a TCP port"}, []string{"pod.port"}},
			{"podPort out of range", func(m map[string]any) { m["podPort"] = json.Number("70000") }, []string{"podPort:"}, []string{"pod.port"}},
			{"misspelt botUsername", func(m map[string]any) { m["botUsernme"] = m["botUsername"]; delete(m, "botUsername") },
				[]string{"botUsernme", "did you mean botUsername?"}, nil},
			{"missing key file", func(m map[string]any) { m["botPrivateKeyName"] = "nope.pem" },
				[]string{"botPrivateKeyName", "nope.pem"}, []string{"bot.privateKey.path"}},
			{"wrong trust store password", func(m map[string]any) { m["truststorePassword"] = "s3cr3t-wrong-password" },
				[]string{"truststorePassword", "wrong password"}, []string{"s3cr3t-wrong-password", "ssl.trustStore"}},
			{"bad proxyURL", func(m map[string]any) { m["proxyURL"] = "proxy.acme.example:3128" },
				[]string{"proxyURL: want the proxy's URL"}, []string{"s3cr3t-proxy-password"}},
			{"bad authType", func(m map[string]any) { m["authType"] = "kerberos" }, []string{"authType: want rsa or cert"}, nil},
			{"proxy password without a user", func(m map[string]any) { delete(m, "proxyUsername") },
				[]string{"proxyUsername", "missing"}, []string{"proxy.username", "s3cr3t-proxy-password"}},
		} {
			t.Run(c.name, func(t *testing.T) {
				dir := t.TempDir()
				writeFiles(t, dir, files)
				m := formsLegacy(t, fixture)
				c.change(m)
				path := formsWriteJSON(t, dir, m)
				_, err := bdkconfig.Load(path)
				wantError(t, err, path+":")
				// The directory's name is the test's: look at the rest.
				msg := formsWithoutPath(err, path)
				wantError(t, msg, c.want...)
				if err != nil {
					for _, s := range c.notContains {
						if strings.Contains(msg.Error(), s) {
							t.Errorf("error %q holds %q (a secret, or a BDK 2 key this SDK 1.x file does not have)", err, s)
						}
					}
				}
			})
		}
		// What the login needs is checked when it is asked for; that error
		// names the flat key too.
		t.Run("no keyAuthHost", func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, files)
			m := formsLegacy(t, fixture)
			for _, k := range []string{"keyAuthHost", "keyAuthPort", "keyAuthContextPath"} {
				delete(m, k)
			}
			path := formsWriteJSON(t, dir, m)
			cfg := loadConfig(t, path)
			_, err := cfg.Session()
			wantError(t, err, path)
			msg := formsWithoutPath(err, path)
			wantError(t, msg, "keyAuthHost", "missing")
			if err != nil && strings.Contains(msg.Error(), "keyManager") {
				t.Errorf("error %q names keyManager…, a key of BDK 2, not of this SDK 1.x file", err)
			}
		})

		// The line is the flat key's.
		dir := t.TempDir()
		writeFiles(t, dir, files)
		text, err := os.ReadFile(filepath.Join("testdata", "forms", fixture))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "config.json")
		writeFiles(t, dir, map[string][]byte{"config.json": bytes.Replace(text, []byte(`"podPort": 8443`), []byte(`"podPort": "x"`), 1)})
		_, err = bdkconfig.Load(path)
		wantError(t, err, fmt.Sprintf("%s:%d: podPort:", path, formsLine(t, fixture, `"podPort"`)))
	})
}

// formsWithoutPath is err with path replaced by "<file>"; nil for nil.
func formsWithoutPath(err error, path string) error {
	if err == nil {
		return nil
	}
	return errors.New(strings.ReplaceAll(err.Error(), path, "<file>"))
}

func formsAll(list []string, want string) bool {
	for _, s := range list {
		if s != want {
			return false
		}
	}
	return true
}

func TestFormsSDK1Certificate(t *testing.T) {
	const fixture = "sdk1-cert.json"
	srv := newPod(t)
	cert, err := srv.IssueClientCertificate("sdk1-cert-bot")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"certs/bot.p12":        certP12(t, cert, "s3cr3t-cert-password"),
		"certs/truststore.jks": formsJKS(t, "changeit", caOf(t, srv)),
		"rsa/bot-private.pem":  pemKey(t, botKey()),
	}
	u, _ := url.Parse(srv.URL)
	local := func(m map[string]any) {
		for _, k := range []string{"podHost", "keyAuthHost", "agentHost", "sessionAuthHost"} {
			m[k] = "127.0.0.1"
		}
		for _, k := range []string{"podPort", "keyAuthPort", "agentPort", "sessionAuthPort"} {
			m[k] = json.Number(u.Port())
		}
	}

	t.Run("as written", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, files)
		cfg := loadConfig(t, formsCopy(t, fixture, dir))
		for _, c := range []struct{ name, got, want string }{
			{"SessionAuthURL", cfg.SessionAuthURL(), "https://acme-api.symphony.example:8444"},
			{"KeyManagerURL", cfg.KeyManagerURL(), "https://acme-api.symphony.example:8444"},
			{"PodURL", cfg.PodURL(), "https://acme.symphony.example:443"},
			{"AgentURL", cfg.AgentURL(), "https://acme-agent.symphony.example:7443"},
			{"Bot.Username", cfg.Bot.Username, "sdk1-cert-bot"},
			{"Bot.Certificate.Path", cfg.Bot.Certificate.Path, filepath.Join(dir, "certs", "bot.p12")},
		} {
			if c.got != c.want {
				t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
			}
		}
		if cfg.Bot.PrivateKey != (bdkconfig.CredentialFile{}) || cfg.Proxy != nil || cfg.App != nil {
			t.Errorf("Bot.PrivateKey = %+v, Proxy = %+v, App = %+v", cfg.Bot.PrivateKey, cfg.Proxy, cfg.App)
		}
		assertNoSecrets(t, printed(cfg), "s3cr3t-cert-password")
	})

	for _, c := range []struct {
		name   string
		change func(m map[string]any)
	}{
		{"logs in", func(map[string]any) {}},
		// authType cert picks the certificate over a key given too.
		{"authType cert with a key too", func(m map[string]any) {
			m["botPrivateKeyPath"], m["botPrivateKeyName"] = "rsa", "bot-private.pem"
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv.ResetCalls()
			dir := t.TempDir()
			writeFiles(t, dir, files)
			m := formsLegacy(t, fixture)
			local(m)
			c.change(m)
			cfg := loadConfig(t, formsWriteJSON(t, dir, m))
			if cfg.Bot.PrivateKey != (bdkconfig.CredentialFile{}) || cfg.Bot.Certificate.Path == "" || cfg.Bot.Username != "sdk1-cert-bot" {
				t.Errorf("Bot = %+v, want the certificate only", cfg.Bot)
			}
			formsSessionInfo(t, configClient(t, cfg), cfg.PodURL(), "sdk1-cert-bot")
			if sa, ka, rsaLogins := srv.Calls(symauthtest.PathSessionAuth), srv.Calls(symauthtest.PathKeyAuth), srv.Calls(symauthtest.PathLogin); sa != 1 || ka != 1 || rsaLogins != 0 {
				t.Errorf("logins: sessionauth %d, keyauth %d, RSA %d; want 1, 1, 0", sa, ka, rsaLogins)
			}
		})
	}

	t.Run("wrong botCertPassword", func(t *testing.T) {
		dir := t.TempDir()
		writeFiles(t, dir, files)
		m := formsLegacy(t, fixture)
		m["botCertPassword"] = "s3cr3t-other-password"
		path := formsWriteJSON(t, dir, m)
		_, err := bdkconfig.Load(path)
		wantError(t, err, path+":")
		msg := formsWithoutPath(err, path)
		wantError(t, msg, "botCertPassword", "wrong password")
		assertNoSecrets(t, []string{fmt.Sprint(err)}, "s3cr3t-other-password", "s3cr3t-cert-password")
		// The flat keys only: not the BDK 2 key the file does not have.
		if err != nil && strings.Contains(msg.Error(), "bot.certificate") {
			t.Errorf("error %q names bot.certificate…, a key of BDK 2, not of this SDK 1.x file (botCertPath + botCertName)", err)
		}
	})
}

// formsErrorFiles writes the credentials the error cases name.
func formsErrorFiles(t *testing.T, dir string) {
	t.Helper()
	writeFiles(t, dir, map[string][]byte{
		"keys/bot.pem": pemKey(t, botKey()),
		"cert.pem":     certAndKeyPEM(t, selfSigned(t, "cert-bot")),
	})
}

// Errors of Load: they name the file, the line and the key, and no value.
func TestFormsLoadErrors(t *testing.T) {
	dir := t.TempDir()
	formsErrorFiles(t, dir)
	const bot = "bot:\n  username: test-bot\n  privateKey:\n    path: keys/bot.pem\n"
	for _, c := range []struct {
		name     string
		text     string
		want     []string // after "bdkconfig: <path>"
		notShown []string
	}{
		{"YAML syntax error", "host: acme.example\nport: 8443\nbot:\n\tusername: b\n", []string{":4: not valid YAML or JSON"}, nil},
		{"unknown key in a section", "host: acme.example\nbot:\n  username: b\n  privateKey: {pth: x}\n",
			[]string{":4: bot.privateKey.pth: unknown key pth; did you mean path?"}, nil},
		{"alias as a password", "host: acme.example\nproxy:\n  host: p\n  port: 3128\n  username: u\n  password: *hunter2\n" + bot,
			[]string{":6: not valid YAML or JSON"}, []string{"hunter2"}},
		{"alias as a certificate password", "host: acme.example\nbot:\n  certificate:\n    path: cert.pem\n    password: *hunter2-pass\n",
			[]string{":5:"}, []string{"hunter2"}},
		{"misspelt top-level key", "host: acme.example\nkeymanager:\n  host: km.acme.example\n" + bot,
			[]string{":2: keymanager: unknown key keymanager; did you mean keyManager?"}, nil},
		{"bad key path", "host: acme.example\n" + strings.Replace(bot, "keys/bot.pem", "keys/nope.pem", 1),
			[]string{":5: bot.privateKey.path:", "nope.pem"}, nil},
		{"bad certificate path", "host: acme.example\nbot:\n  certificate:\n    path: nope.p12\n    password: s3cr3t-p12\n",
			[]string{":4: bot.certificate.path:", "nope.p12"}, []string{"s3cr3t-p12"}},
		{"bad trust store path", "host: acme.example\nssl:\n  trustStore:\n    path: nope.jks\n    password: s3cr3t-jks\n" + bot,
			[]string{":4: ssl.trustStore.path:", "nope.jks"}, []string{"s3cr3t-jks"}},
		{"bad deprecated key path", "host: acme.example\nbot:\n  username: b\n  privateKeyPath: keys/nope.pem\n",
			[]string{":4: bot.privateKeyPath:", "nope.pem"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, dir, c.text)
			cfg, err := bdkconfig.Load(path)
			if err == nil {
				t.Fatalf("Load: no error; Config %+v", cfg)
			}
			wantError(t, err, append([]string{"bdkconfig: " + path}, c.want...)...)
			assertNoSecrets(t, []string{err.Error(), fmt.Sprintf("%+v %#v", err, err)}, c.notShown...)
		})
	}

	// A syntax error inside a flow mapping: the line is the YAML library's
	// (go.yaml.in/yaml/v3 names the line before the one that is broken).
	t.Run("YAML syntax error in a flow", func(t *testing.T) {
		path := writeConfig(t, dir, "host: acme.example\nport: 8443\nbot: {username: b, privateKey: {path: [x}\n")
		_, err := bdkconfig.Load(path)
		if err == nil || !regexp.MustCompile(`^bdkconfig: `+regexp.QuoteMeta(path)+`:[0-9]+: not valid YAML or JSON: `).MatchString(err.Error()) {
			t.Errorf("Load: %v; want the file:line of the syntax error", err)
		}
	})

	t.Run("larger than 4 MiB", func(t *testing.T) {
		big := []byte("host: acme.example\n# " + strings.Repeat("x", 4<<20) + "\n")
		_, err := bdkconfig.Parse(big)
		wantError(t, err, "larger than 4 MiB")
		path := filepath.Join(dir, "big.yaml")
		writeFiles(t, dir, map[string][]byte{"big.yaml": big})
		_, err = bdkconfig.Load(path)
		wantError(t, err, path, "larger than 4 MiB")
		// At the limit, it is read.
		exact := append([]byte("host: acme.example\n#"), bytes.Repeat([]byte("x"), 4<<20-len("host: acme.example\n#"))...)
		if _, err := bdkconfig.Parse(exact); err != nil {
			t.Errorf("Parse of exactly 4 MiB: %v", err)
		}
	})
}

// What loads, with a warning or a value BDK gives it.
func TestFormsLoadsWithWarnings(t *testing.T) {
	dir := t.TempDir()
	formsErrorFiles(t, dir)
	const bot = "bot:\n  username: test-bot\n  privateKey:\n    path: keys/bot.pem\n"

	t.Run("unknown top-level key", func(t *testing.T) {
		path := writeConfig(t, dir, "host: acme.example\nzqxjvw: 1\n"+bot)
		logger, logs := newFormsLogger()
		cfg, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
		if err != nil {
			t.Fatal(err)
		}
		if found := logs.find(slog.LevelWarn, path+":2:", "zqxjvw", "ignored"); len(found) != 1 {
			t.Errorf("no warning for the unknown key; the logs:\n%s", logs.text())
		}
		if _, err := cfg.Session(); err != nil {
			t.Errorf("Session: %v", err)
		}
	})

	t.Run("retry multiplier below 1", func(t *testing.T) {
		path := writeConfig(t, dir, "host: acme.example\nretry:\n  multiplier: 0.5\n"+bot)
		logger, logs := newFormsLogger()
		cfg, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Retry.Multiplier != 2 {
			t.Errorf("Retry.Multiplier = %v, want 2", cfg.Retry.Multiplier)
		}
		if found := logs.find(slog.LevelWarn, path+":3:", "retry.multiplier"); len(found) != 1 {
			t.Errorf("no warning for the multiplier; the logs:\n%s", logs.text())
		}
	})

	t.Run("negative maxAttempts", func(t *testing.T) {
		cfg := loadConfig(t, writeConfig(t, dir, "host: acme.example\nretry:\n  maxAttempts: -5\n"+bot))
		if cfg.Retry.MaxAttempts != math.MaxInt32 {
			t.Errorf("Retry.MaxAttempts = %d, want %d (no limit)", cfg.Retry.MaxAttempts, math.MaxInt32)
		}
	})
}

// What only the bot's login needs is checked when it is asked for: these
// files load, and Session and HTTPClient say what is missing, where.
func TestFormsCheckedAtLogin(t *testing.T) {
	dir := t.TempDir()
	formsErrorFiles(t, dir)
	const rsaBot = "bot:\n  username: test-bot\n  privateKey:\n    path: keys/bot.pem\n"
	const certBot = "bot:\n  certificate:\n    path: cert.pem\n"
	for _, c := range []struct {
		name string
		text string
		want []string // after "bdkconfig: <path>"; nil: Session succeeds
	}{
		{"no bot", "host: acme.example\n", []string{": bot: not configured"}},
		{"no pod host", "agent:\n  host: agent.acme.example\nkeyManager:\n  host: km.acme.example\n" + rsaBot, []string{"pod.host: missing"}},
		{"pod section without a host", "pod:\n  port: 8443\nagent:\n  host: agent.acme.example\nkeyManager:\n  host: km.acme.example\n" + rsaBot,
			[]string{":1: pod.host: missing"}},
		{"both privateKey and certificate", "host: acme.example\nbot:\n  username: test-bot\n  privateKey:\n    path: keys/bot.pem\n  certificate:\n    path: cert.pem\n",
			[]string{":2: bot:", "bot.privateKey.path", "bot.certificate.path"}},
		{"plain-http session auth, RSA bot", "host: acme.example\nsessionAuth:\n  scheme: http\n" + rsaBot, nil},
		{"plain-http session auth, certificate bot", "host: acme.example\nsessionAuth:\n  scheme: http\n" + certBot,
			[]string{":2: sessionAuth", "the certificate login needs it"}},
		{"agent loadBalancing with agent.host", "host: acme.example\nagent:\n  host: agent.acme.example\n  loadBalancing:\n    mode: roundRobin\n    nodes:\n      - host: agent1.acme.example\n" + rsaBot,
			[]string{":4: agent.loadBalancing"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeConfig(t, dir, c.text)
			cfg, err := bdkconfig.Load(path)
			if err != nil {
				t.Fatalf("Load: %v; want it to load, and the login to fail", err)
			}
			_, sessErr := cfg.Session()
			_, clientErr := cfg.HTTPClient()
			if c.want == nil {
				if sessErr != nil || clientErr != nil {
					t.Fatalf("Session: %v; HTTPClient: %v; want both to work", sessErr, clientErr)
				}
				return
			}
			want := append([]string{"bdkconfig: " + path}, c.want...)
			wantError(t, sessErr, want...)
			wantError(t, clientErr, want...)
		})
	}
}
