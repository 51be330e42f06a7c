package bdkconfig_test

// Tests against the real BDK samples of ../shared/bdk-samples (the official
// Java SDK's own test inputs and documentation examples, see its README).
// The expected values are written from BDK Java's rules (finos/symphony-bdk-java
// 46b327e4), not from what this package returns:
//
//   - BdkServerConfig.getBasePath: scheme + "://" + host + ":" + port +
//     getFormattedContext(); scheme "https" and port 443 by default, whatever
//     the scheme.
//   - BdkClientConfig.thisOrParent: pod, agent, keyManager and sessionAuth take
//     scheme, host, port, context, proxy and timeouts from the top level (never
//     from pod) when they do not give them.
//   - BdkLoadBalancingConfig.nodes are plain BdkServerConfig (https, 443, no
//     context, no inheritance); symauth uses the first node as the agent.
//     ApiClientFactory.getRegularAgentClient builds each node's client with the
//     agent section's config, so the proxy and timeouts are the agent's.
//   - ApiClientBuilder.DEFAULT_CONNECT_TIMEOUT 15000, DEFAULT_READ_TIMEOUT 60000.
//   - BdkRetryConfig: 10 attempts, 500 ms, multiplier 2, 5 min by default.
//   - AuthenticatorFactoryImpl.getBotAuthenticator: "Both of certificate and rsa
//     authentication are configured" refuses the login; the RSA login uses the
//     login (pod) and relay (keyManager) clients, not sessionAuth.
//   - BdkLoadBalancingMode is a Jackson enum: "invalid" fails the load.
//   - SDK 1.x files: v2.14.3's LegacyConfigMapper (pod/agent/keyManager from
//     podHost…, port 443; sessionAuth not set; LegacyRetryConfiguration 10,
//     500 ms, 1.5).

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"go.yaml.in/yaml/v3"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
)

// samplesCreds are the real credential files of the samples, absolute.
type samplesCreds struct {
	dir string // the credentials directory
	key string // java-private-key.pem: 4096-bit PKCS#1 RSA
	p12 string // identity.p12: password "password", CN "bot"
	jks string // all_symphony_certs_truststore: JKS, password "changeit"
}

const (
	samplesP12Password = "password"
	samplesJKSPassword = "changeit"
	samplesKeyName     = "java-private-key.pem"
)

// samplesRoot returns the bdk-samples directory, absolute, or skips the test.
func samplesRoot(t *testing.T) (string, samplesCreds) {
	t.Helper()
	for _, d := range []string{filepath.Join("..", "..", "shared", "bdk-samples"), "/work/shared/bdk-samples"} {
		fi, err := os.Stat(filepath.Join(d, "config"))
		if err != nil || !fi.IsDir() {
			continue
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			t.Fatal(err)
		}
		cred := filepath.Join(abs, "credentials")
		cr := samplesCreds{
			dir: cred,
			key: filepath.Join(cred, samplesKeyName),
			p12: filepath.Join(cred, "identity.p12"),
			jks: filepath.Join(cred, "all_symphony_certs_truststore"),
		}
		for _, f := range []string{cr.key, cr.p12, cr.jks} {
			if _, err := os.Stat(f); err != nil {
				t.Fatalf("the samples directory %s lacks a credential: %v", abs, err)
			}
		}
		return abs, cr
	}
	t.Skip("no bdk-samples directory (../../shared/bdk-samples or /work/shared/bdk-samples)")
	return "", samplesCreds{}
}

// samplesLog is a logger writing to a buffer, safe for concurrent use.
type samplesLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *samplesLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *samplesLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newSamplesLogger() (*slog.Logger, *samplesLog) {
	l := &samplesLog{}
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

// samplesSetScalar makes n the plain string s.
func samplesSetScalar(n *yaml.Node, s string) {
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: yaml.DoubleQuotedStyle, Line: n.Line, Column: n.Column}
}

// samplesSetKey sets key to the string s in the mapping m, adding it if absent.
func samplesSetKey(m *yaml.Node, key, s string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			samplesSetScalar(m.Content[i+1], s)
			return
		}
	}
	v := &yaml.Node{}
	samplesSetScalar(v, s)
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v)
}

// samplesHasKey reports whether the mapping m has key.
func samplesHasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

// samplesRewrite points every key, certificate and trust store path of the
// document at the real files (with their passwords).
func samplesRewrite(n *yaml.Node, cr samplesCreds) {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for _, c := range n.Content {
			samplesRewrite(c, cr)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			switch k {
			case "privateKeyPath":
				samplesSetScalar(v, cr.key)
			case "certificatePath":
				samplesSetScalar(v, cr.p12)
				samplesSetKey(n, "certificatePassword", samplesP12Password)
			case "trustStorePath":
				samplesSetScalar(v, cr.jks)
				samplesSetKey(n, "trustStorePassword", samplesJKSPassword)
			case "botPrivateKeyPath", "appPrivateKeyPath":
				// SDK 1.x: a directory, to which the file name is appended (BDK
				// v2.14.3's LegacyConfigMapper concatenates them, hence the slash).
				samplesSetScalar(v, cr.dir+string(filepath.Separator))
			case "botPrivateKeyName", "appPrivateKeyName":
				samplesSetScalar(v, samplesKeyName)
			case "privateKey":
				if v.Kind == yaml.MappingNode && samplesHasKey(v, "path") {
					samplesSetKey(v, "path", cr.key)
				}
			case "certificate":
				if v.Kind == yaml.MappingNode && samplesHasKey(v, "path") {
					samplesSetKey(v, "path", cr.p12)
					samplesSetKey(v, "password", samplesP12Password)
				}
			case "trustStore":
				if v.Kind == yaml.MappingNode && samplesHasKey(v, "path") {
					samplesSetKey(v, "path", cr.jks)
					samplesSetKey(v, "password", samplesJKSPassword)
				}
			}
			samplesRewrite(v, cr)
		}
	}
}

// samplesWrite writes the sample name (its content raw) into dir, with its
// paths pointed at the real files unless keep: YAML for a .yaml sample, JSON
// for a .json one. A sample that is not valid YAML is written as it is.
func samplesWrite(t *testing.T, dir, name string, raw []byte, cr samplesCreds, keep bool) string {
	t.Helper()
	out := raw
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err == nil && !keep {
		samplesRewrite(&doc, cr)
		if strings.HasSuffix(name, ".json") {
			var v any
			if err := doc.Decode(&v); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if out, err = json.MarshalIndent(v, "", "  "); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		} else if out, err = yaml.Marshal(&doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// samplesWantErr checks that err is not nil and holds every one of subs.
func samplesWantErr(t *testing.T, what string, err error, subs ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want one holding %q", what, subs)
		return
	}
	for _, s := range subs {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%s: error %q does not hold %q", what, err, s)
		}
	}
}

// sampleWant is what BDK's rules give for one sample file.
type sampleWant struct {
	// loadErr: Load fails, with an error holding these (and the file's path).
	loadErr []string
	// loadErrLine: the error's "file:line: " prefix must match this line
	// pattern (a regexp), e.g. `3`.
	loadErrLine string

	pod, agent, keyManager, sessionAuth string // the base URLs

	username        string
	botKey, botCert bool   // Bot.PrivateKey / Bot.Certificate is the real file
	botKeyAt        string // instead: the key is this file, relative to the sample's directory
	appID           string // "": no app section (App is nil)
	appKey          bool
	appKeyAt        string
	trustStore      bool     // SSL.TrustStore is the JKS, RootCAs non-nil
	sessionErr      []string // nil: Session (and HTTPClient) succeed
	oboErr          []string // nil: OBO succeeds
	warns           []string // deprecation warnings: each key must be named in the log
	retry           *symauth.RetryPolicy
	proxies         map[string]bdkconfig.ProxyConfig // by server, "" for the top level; absent: nil
	timeouts        map[string][2]time.Duration      // by server; absent: BDK's 15 s / 60 s
	skipTimeouts    bool
	env             map[string]string // environment variables, as BDK's tests set them
	keepPaths       bool              // do not rewrite the paths (botKeyAt, appKeyAt are created)
	check           func(t *testing.T, c *bdkconfig.Config)
}

var (
	// BdkRetryConfig's defaults.
	samplesBDKRetry = symauth.RetryPolicy{MaxAttempts: 10, InitialInterval: 500 * time.Millisecond, Multiplier: 2, MaxInterval: 5 * time.Minute}
	samplesServers  = []string{"pod", "agent", "keyManager", "sessionAuth"}
)

const (
	samplesDevx1 = "https://devx1.symphony.com:443"
	samplesAcme  = "https://acme.symphony.com:443"
)

// samplesTable has one row per file of bdk-samples/config. A "" URL is
// where BDK has no host: BDK's getBasePath would print "https://null:443",
// a URL no client can use; symauth gives "" and reports the missing host
// when a login needs that server.
var samplesTable = map[string]sampleWant{
	"config_config.json": {
		pod: samplesDevx1, agent: samplesDevx1, keyManager: samplesDevx1,
		sessionAuth: "", // no sessionAuth section, no top-level host
		username:    "tibot", botKey: true,
		appID: "tibapp", appKey: true,
		warns: []string{"bot.privateKeyPath", "app.privateKeyPath"},
	},
	"config_config.yaml": {
		pod: samplesDevx1, agent: samplesDevx1, keyManager: samplesDevx1, sessionAuth: "",
		username: "tibot", botKey: true,
		appID: "tibapp", appKey: true,
	},
	"config_config_client_global.yaml": {
		// BdkConfigLoaderTest.assertConfigMatchesValuesFromGlobalConfigFile.
		pod:         "https://diff-pod.symphony.com:8443/context",
		agent:       "https://devx1.symphony.com:443/context",
		keyManager:  "https://devx1.symphony.com:8443/diff-context",
		sessionAuth: "http://devx1.symphony.com:8443/context",
		username:    "tibot", botKey: true,
		appID: "tibapp", appKey: true,
		warns: []string{"bot.privateKeyPath", "app.privateKeyPath"},
		timeouts: map[string][2]time.Duration{
			"pod":         {10 * time.Second, 30 * time.Second},
			"agent":       {20 * time.Second, 60 * time.Second},
			"keyManager":  {10 * time.Second, 30 * time.Second},
			"sessionAuth": {10 * time.Second, 30 * time.Second},
		},
		// The RSA login does not use sessionAuth (plain http there is no
		// obstacle to it).
		check: func(t *testing.T, c *bdkconfig.Config) {
			for _, s := range []struct {
				name   string
				srv    bdkconfig.ServerConfig
				scheme string
				port   int
			}{{"pod", c.Pod, "https", 8443}, {"agent", c.Agent, "https", 443}, {"keyManager", c.KeyManager, "https", 8443}, {"sessionAuth", c.SessionAuth, "http", 8443}} {
				if s.srv.Scheme != s.scheme || s.srv.Port != s.port {
					t.Errorf("%s: scheme %q, port %d; want %q, %d", s.name, s.srv.Scheme, s.srv.Port, s.scheme, s.port)
				}
			}
			if c.Context != "/context" || c.Port != 8443 || c.Host != "devx1.symphony.com" {
				t.Errorf("top level: host %q, port %d, context %q; want devx1.symphony.com, 8443, /context", c.Host, c.Port, c.Context)
			}
		},
	},
	"config_config_lb.yaml": {
		// BdkConfigLoaderTest.parseLbAgentField: node 0 is http, 8443, /app.
		agent:      "http://agent1.acme.org:8443/app",
		sessionErr: []string{": bot: "}, oboErr: []string{": app: "},
		check: func(t *testing.T, c *bdkconfig.Config) {
			if c.Agent.Scheme != "http" || c.Agent.Host != "agent1.acme.org" || c.Agent.Port != 8443 || c.Agent.Context != "/app" {
				t.Errorf("Agent = %+v; want http agent1.acme.org 8443 /app", c.Agent)
			}
		},
	},
	"config_config_lb_external.yaml": {
		agent:      "https://agent1.acme.org:443",
		sessionErr: []string{": bot: "}, oboErr: []string{": app: "},
	},
	"config_config_lb_invalid_mode.yaml": {
		// Jackson cannot make a BdkLoadBalancingMode of "invalid".
		loadErr: []string{"agent.loadBalancing.mode"}, loadErrLine: `3`,
	},
	"config_config_lb_no_stickiness.yaml": {
		agent:      "https://agent1.acme.org:443",
		sessionErr: []string{": bot: "}, oboErr: []string{": app: "},
	},
	"config_config_lb_properties.yaml": {
		// BdkConfigParserTest.parseYamlConfigWithPropertiesInArrayTest; my.property
		// is a Java system property there, an environment variable here. The
		// other nodes ("valid_value/agent-lb.acme.org", not a host name) are
		// not the agent symauth uses.
		env:        map[string]string{"SYMPHONY_BDK_UNIT_TEST_TEMP": "valid_value", "my.property": "agent-lb.acme.org"},
		agent:      "https://agent1.acme.org:1234",
		sessionErr: []string{": bot: "}, oboErr: []string{": app: "},
	},
	"config_config_lb_round_robin.yaml": {
		agent:      "https://agent1.acme.org:443",
		sessionErr: []string{": bot: "}, oboErr: []string{": app: "},
	},
	"config_config_properties.json": {
		// BdkConfigParserTest.parseJsonConfigWithPropertyTest: the paths become
		// envvalue/propvalue/privatekey.pem and default/value/privatekey.pem
		// (relative: to the file's directory, where the test puts the key), and
		// host "$${escaped}" is the literal "${escaped}". BDK would build
		// "https://${escaped}:443", which is no URL; symauth has no URL there
		// and reports the host when a login needs it.
		env:       map[string]string{"SYMPHONY_BDK_UNIT_TEST_TEMP": "envvalue", "my.property": "propvalue"},
		keepPaths: true,
		username:  "tibot", botKeyAt: filepath.Join("envvalue", "propvalue", "privatekey.pem"),
		appID: "tibapp", appKeyAt: filepath.Join("default", "value", "privatekey.pem"),
		warns:      []string{"bot.privateKeyPath", "app.privateKeyPath"},
		sessionErr: []string{":4: host: ", "not a host name"}, oboErr: []string{":4: host: "},
		check: func(t *testing.T, c *bdkconfig.Config) {
			if c.Host != "${escaped}" {
				t.Errorf("Host = %q; want ${escaped}", c.Host)
			}
		},
	},
	"config_config_properties.yaml": {
		// BdkConfigParserTest.parseYamlConfigWithPropertyTest.
		env:       map[string]string{"SYMPHONY_BDK_UNIT_TEST_TEMP": "envvalue", "my.property": "propvalue"},
		keepPaths: true,
		username:  "tibot", botKeyAt: filepath.Join("envvalue", "propvalue", "privatekey.pem"),
		sessionErr: []string{": pod.host: "}, oboErr: []string{": app: "},
	},
	"config_config_recursive_props.json": {
		// The key path is rewritten: BDK keeps "${${recursive}}" as it is,
		// while symauth (documented) fails on an unset variable.
		username: "tibot", botKey: true,
		warns:      []string{"bot.privateKeyPath"},
		sessionErr: []string{": pod.host: "}, oboErr: []string{": app: "},
	},
	"config_config_with_extensions.yaml": {
		pod: samplesDevx1, agent: samplesDevx1, keyManager: samplesDevx1, sessionAuth: "",
		username: "tibot", botKey: true,
		oboErr: []string{": app: "},
	},
	"config_df_retry_config.yaml": {
		// BdkConfigTest.checkDefaultDatafeedRetryConfiguration.
		pod: samplesAcme, agent: samplesAcme, keyManager: samplesAcme, sessionAuth: samplesAcme,
		username: "tibot", botKey: true,
		warns:  []string{"bot.privateKeyPath"},
		retry:  &symauth.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Second, Multiplier: 3, MaxInterval: 2 * time.Second},
		oboErr: []string{": app: "},
	},
	"config_invalid_config.yaml": {
		// BdkConfigParserTest.parseInvalidYamlConfigTest: "Given InputStream is
		// not valid"; the quoted string that line 7 opens is never closed.
		loadErr: []string{"YAML"}, loadErrLine: `7`,
	},
	"config_legacy_config.json": {
		pod: samplesDevx1, agent: samplesDevx1, keyManager: samplesDevx1,
		sessionAuth: "", // LegacyConfigMapper sets no sessionAuth
		username:    "tibot", botKey: true,
		appID: "tibapp", appKey: true,
		retry: &symauth.RetryPolicy{MaxAttempts: 10, InitialInterval: 500 * time.Millisecond, Multiplier: 1.5, MaxInterval: 5 * time.Minute},
		// symauth gives an SDK 1.x file the SDK 1.x's timeouts (10 s, 35 s, as
		// documented), where v2.14.3's mapper dropped them for BDK's defaults.
		skipTimeouts: true,
	},
	"config_no_bot_config.yaml": {
		pod: samplesDevx1, agent: samplesDevx1, keyManager: samplesDevx1, sessionAuth: "",
		appID: "tibapp", appKey: true,
		sessionErr: []string{": bot: "},
	},
	"core_config.yaml": {
		pod: samplesDevx1, agent: samplesDevx1, keyManager: samplesDevx1, sessionAuth: "",
		username: "tibot", botKey: true,
		appID: "tibapp", appKey: true,
	},
	"core_no_bot_config.yaml": {
		pod: samplesDevx1, agent: samplesDevx1, keyManager: samplesDevx1, sessionAuth: "",
		appID: "tibapp", appKey: true,
		sessionErr: []string{": bot: "},
	},
	"docs_agent_proxy.yaml": {
		pod: samplesAcme, agent: "https://agent.symphony.com:443", keyManager: samplesAcme, sessionAuth: samplesAcme,
		username: "bot-name", botKey: true,
		proxies: map[string]bdkconfig.ProxyConfig{"agent": {Host: "proxy.symphony.com", Port: 1234, Username: "proxyuser"}},
		oboErr:  []string{"app"},
	},
	"docs_full_example.yaml": {
		pod: "https://dev.symphony.com:443",
		// BDK's getFormattedContext returns "/app/" for "app/" (it adds the
		// slash and returns before trimming); symauth deliberately trims too.
		agent:       "https://agent1.symphony.com:7443/app",
		keyManager:  "https://dev-key.symphony.com:8444",
		sessionAuth: "https://dev-session.symphony.com:8444",
		username:    "bot-name", botKey: true, botCert: true,
		trustStore: true,
		appID:      "app-id", appKey: true,
		// Both a key and a certificate: BDK's AuthenticatorFactoryImpl refuses.
		sessionErr: []string{"bot.privateKey", "bot.certificate"},
		retry:      &symauth.RetryPolicy{MaxAttempts: 6, InitialInterval: 2 * time.Second, Multiplier: 1.5, MaxInterval: 10 * time.Second},
		proxies: func() map[string]bdkconfig.ProxyConfig {
			p := bdkconfig.ProxyConfig{Host: "proxy.symphony.com", Port: 1234, Username: "proxyuser"}
			return map[string]bdkconfig.ProxyConfig{"": p, "pod": p, "agent": p, "keyManager": p, "sessionAuth": p}
		}(),
		check: func(t *testing.T, c *bdkconfig.Config) {
			if c.Host != "localhost.symphony.com" || c.Port != 8443 || c.Scheme != "https" {
				t.Errorf("top level: %s %s %d; want https localhost.symphony.com 8443", c.Scheme, c.Host, c.Port)
			}
		},
	},
	"docs_minimal.yaml": {
		pod: samplesAcme, agent: samplesAcme, keyManager: samplesAcme, sessionAuth: samplesAcme,
		username: "bot-username", botKey: true,
		oboErr: []string{": app: "},
	},
	"examples_withBasicAuthentication_config_proxy.yaml": {
		pod: samplesDevx1, agent: samplesDevx1, keyManager: samplesDevx1, sessionAuth: samplesDevx1,
		username: "bot-user", botKey: true,
		warns: []string{"bot.privateKeyPath"},
		proxies: func() map[string]bdkconfig.ProxyConfig {
			p := bdkconfig.ProxyConfig{Host: "127.0.0.1", Port: 3128, Username: "proxyuser"}
			return map[string]bdkconfig.ProxyConfig{"": p, "pod": p, "agent": p, "keyManager": p, "sessionAuth": p}
		}(),
		oboErr: []string{": app: "},
	},
	"examples_withoutAuthentication_config_proxy.yaml": {
		pod: samplesDevx1, agent: samplesDevx1, keyManager: samplesDevx1, sessionAuth: samplesDevx1,
		username: "bot-user", botKey: true,
		warns: []string{"bot.privateKeyPath"},
		proxies: func() map[string]bdkconfig.ProxyConfig {
			p := bdkconfig.ProxyConfig{Host: "127.0.0.1", Port: 3128}
			return map[string]bdkconfig.ProxyConfig{"": p, "pod": p, "agent": p, "keyManager": p, "sessionAuth": p}
		}(),
		oboErr: []string{": app: "},
	},
}

// TestBDKSamples loads every file of bdk-samples/config and compares it with
// what BDK Java reads there.
func TestBDKSamples(t *testing.T) {
	root, cr := samplesRoot(t)
	entries, err := os.ReadDir(filepath.Join(root, "config"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() {
			names = append(names, e.Name())
		}
	}
	for _, name := range names {
		if _, ok := samplesTable[name]; !ok {
			t.Errorf("%s: a sample with no row in samplesTable: write what BDK reads there", name)
		}
	}
	for name := range samplesTable {
		if !slices.Contains(names, name) {
			t.Errorf("%s: a row of samplesTable with no sample file", name)
		}
	}
	for _, name := range names {
		want, ok := samplesTable[name]
		if !ok {
			continue
		}
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(root, "config", name))
			if err != nil {
				t.Fatal(err)
			}
			samplesCheck(t, name, raw, want, cr)
		})
	}
}

func samplesCheck(t *testing.T, name string, raw []byte, want sampleWant, cr samplesCreds) {
	// Variables the samples use: set as BDK's tests set them, the others unset.
	for _, v := range []string{"SYMPHONY_BDK_UNIT_TEST_TEMP", "my.property", "other.property", "recursive", "escaped"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	for k, v := range want.env {
		t.Setenv(k, v)
	}
	dir := t.TempDir()
	path := samplesWrite(t, dir, name, raw, cr, want.keepPaths)
	key, _ := os.ReadFile(cr.key)
	for _, rel := range []string{want.botKeyAt, want.appKeyAt} {
		if rel == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, rel)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, rel), key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	logger, logs := newSamplesLogger()
	c, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
	if want.loadErr != nil {
		samplesWantErr(t, "Load", err, append([]string{path}, want.loadErr...)...)
		if err != nil {
			re := regexp.MustCompile(regexp.QuoteMeta(path) + `:` + want.loadErrLine + `: `)
			if !re.MatchString(err.Error()) {
				t.Errorf("Load: error %q does not match %s", err, re)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.File != path {
		t.Errorf("File = %q; want %q", c.File, path)
	}

	for _, u := range []struct{ name, got, want string }{
		{"PodURL", c.PodURL(), want.pod},
		{"AgentURL", c.AgentURL(), want.agent},
		{"KeyManagerURL", c.KeyManagerURL(), want.keyManager},
		{"SessionAuthURL", c.SessionAuthURL(), want.sessionAuth},
	} {
		if u.got != u.want {
			t.Errorf("%s() = %q; want %q", u.name, u.got, u.want)
		}
	}

	// Credentials: the files the sample configures.
	wantFile := func(set bool, at, real string) bdkconfig.CredentialFile {
		switch {
		case at != "":
			return bdkconfig.CredentialFile{Path: filepath.Join(dir, at)}
		case set:
			return bdkconfig.CredentialFile{Path: real}
		}
		return bdkconfig.CredentialFile{}
	}
	if c.Bot.Username != want.username {
		t.Errorf("Bot.Username = %q; want %q", c.Bot.Username, want.username)
	}
	if got, w := c.Bot.PrivateKey, wantFile(want.botKey, want.botKeyAt, cr.key); got != w {
		t.Errorf("Bot.PrivateKey = %+v; want %+v", got, w)
	}
	if got, w := c.Bot.Certificate, wantFile(want.botCert, "", cr.p12); got != w {
		t.Errorf("Bot.Certificate = %+v; want %+v", got, w)
	}
	switch {
	case want.appID == "" && c.App != nil:
		t.Errorf("App = %+v; want nil (no app section)", *c.App)
	case want.appID != "" && c.App == nil:
		t.Errorf("App = nil; want appId %q", want.appID)
	case want.appID != "":
		if c.App.AppID != want.appID {
			t.Errorf("App.AppID = %q; want %q", c.App.AppID, want.appID)
		}
		if got, w := c.App.PrivateKey, wantFile(want.appKey, want.appKeyAt, cr.key); got != w {
			t.Errorf("App.PrivateKey = %+v; want %+v", got, w)
		}
		if got := c.App.Certificate; got != (bdkconfig.CredentialFile{}) {
			t.Errorf("App.Certificate = %+v; want none", got)
		}
	}
	if got, w := c.SSL.TrustStore, wantFile(want.trustStore, "", cr.jks); got != w {
		t.Errorf("SSL.TrustStore = %+v; want %+v", got, w)
	}
	if roots := c.RootCAs(); (roots != nil) != want.trustStore {
		t.Errorf("RootCAs() = %v; want a pool: %v", roots, want.trustStore)
	}

	// The logins, checked when asked for, as BDK does.
	s, err := c.Session()
	hc, herr := c.HTTPClient()
	if want.sessionErr == nil {
		if err != nil || s == nil {
			t.Errorf("Session() = %v, %v; want a Session", s, err)
		}
		if herr != nil || hc == nil {
			t.Errorf("HTTPClient() = %v, %v; want a client", hc, herr)
		}
	} else {
		samplesWantErr(t, "Session()", err, append([]string{path}, want.sessionErr...)...)
		samplesWantErr(t, "HTTPClient()", herr, want.sessionErr...)
	}
	obo, err := c.OBO()
	if want.oboErr == nil {
		if err != nil || obo == nil {
			t.Errorf("OBO() = %v, %v; want an OBO", obo, err)
		}
	} else {
		samplesWantErr(t, "OBO()", err, want.oboErr...)
	}

	// Deprecated flat keys are read with a warning naming them.
	out := logs.String()
	for _, k := range want.warns {
		if !regexp.MustCompile(regexp.QuoteMeta(k) + `\b[^\n]*deprecated`).MatchString(out) {
			t.Errorf("no deprecation warning naming %s; the log:\n%s", k, out)
		}
	}
	if len(want.warns) == 0 && strings.Contains(out, "deprecated") {
		t.Errorf("a deprecation warning for a sample with no deprecated key; the log:\n%s", out)
	}

	retry := samplesBDKRetry
	if want.retry != nil {
		retry = *want.retry
	}
	if c.Retry != retry {
		t.Errorf("Retry = %+v; want %+v", c.Retry, retry)
	}

	servers := map[string]bdkconfig.ServerConfig{"pod": c.Pod, "agent": c.Agent, "keyManager": c.KeyManager, "sessionAuth": c.SessionAuth}
	proxies := map[string]*bdkconfig.ProxyConfig{"": c.Proxy}
	for _, n := range samplesServers {
		proxies[n] = servers[n].Proxy
	}
	for n, got := range proxies {
		w, ok := want.proxies[n]
		switch {
		case !ok && got != nil:
			t.Errorf("proxy of %q = %+v; want none", n, *got)
		case ok && got == nil:
			t.Errorf("proxy of %q = nil; want %+v", n, w)
		case ok && *got != w:
			t.Errorf("proxy of %q = %+v; want %+v", n, *got, w)
		}
	}
	if !want.skipTimeouts {
		for _, n := range samplesServers {
			w, ok := want.timeouts[n]
			if !ok {
				w = [2]time.Duration{15 * time.Second, 60 * time.Second} // ApiClientBuilder's defaults
			}
			if got := [2]time.Duration{servers[n].ConnectionTimeout, servers[n].ReadTimeout}; got != w {
				t.Errorf("%s: connectionTimeout, readTimeout = %v; want %v", n, got, w)
			}
		}
	}
	if want.check != nil {
		want.check(t, c)
	}
}

// samplesConfig writes a configuration into a new temporary directory.
func samplesConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBDKSamplesIdentityP12 logs in with the SDK's identity.p12 (CN "bot").
func TestBDKSamplesIdentityP12(t *testing.T) {
	_, cr := samplesRoot(t)
	const base = "https://acme.symphony.com:443"

	t.Run("certificate", func(t *testing.T) {
		logger, _ := newSamplesLogger()
		path := samplesConfig(t, fmt.Sprintf("host: acme.symphony.com\nbot:\n  certificate:\n    path: %q\n    password: %s\n", cr.p12, samplesP12Password))
		c, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if c.Bot.Username != "bot" {
			t.Errorf("Bot.Username = %q; want bot (the certificate's CN)", c.Bot.Username)
		}
		if w := (bdkconfig.CredentialFile{Path: cr.p12}); c.Bot.Certificate != w || c.Bot.PrivateKey != (bdkconfig.CredentialFile{}) {
			t.Errorf("Bot = %+v; want the certificate %s only", c.Bot, cr.p12)
		}
		// sessionAuth and keyManager inherit the top level's host.
		if c.SessionAuthURL() != base || c.KeyManagerURL() != base || c.PodURL() != base {
			t.Errorf("URLs: pod %q, keyManager %q, sessionAuth %q; want %s", c.PodURL(), c.KeyManagerURL(), c.SessionAuthURL(), base)
		}
		if s, err := c.Session(); err != nil || s == nil {
			t.Errorf("Session() = %v, %v; want a Session", s, err)
		}
	})

	t.Run("username is the CN", func(t *testing.T) {
		logger, _ := newSamplesLogger()
		path := samplesConfig(t, fmt.Sprintf("host: acme.symphony.com\nbot:\n  username: bot\n  certificate:\n    path: %q\n    password: %s\n", cr.p12, samplesP12Password))
		c, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if s, err := c.Session(); err != nil || s == nil {
			t.Errorf("Session() = %v, %v; want a Session", s, err)
		}
	})

	t.Run("deprecated flat keys", func(t *testing.T) {
		logger, logs := newSamplesLogger()
		path := samplesConfig(t, fmt.Sprintf("host: acme.symphony.com\nbot:\n  certificatePath: %q\n  certificatePassword: %s\n", cr.p12, samplesP12Password))
		c, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if c.Bot.Username != "bot" || c.Bot.Certificate.Path != cr.p12 {
			t.Errorf("Bot = %+v; want bot, %s", c.Bot, cr.p12)
		}
		if _, err := c.Session(); err != nil {
			t.Errorf("Session(): %v", err)
		}
		for _, k := range []string{"bot.certificatePath", "bot.certificatePassword"} {
			if !regexp.MustCompile(regexp.QuoteMeta(k) + `\b[^\n]*deprecated`).MatchString(logs.String()) {
				t.Errorf("no deprecation warning naming %s; the log:\n%s", k, logs)
			}
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		logger, _ := newSamplesLogger()
		path := samplesConfig(t, fmt.Sprintf("host: acme.symphony.com\nbot:\n  certificate:\n    path: %q\n    password: not-the-password\n", cr.p12))
		c, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
		samplesWantErr(t, "Load", err, path, "bot.certificate.password")
		if err != nil && strings.Contains(err.Error(), "not-the-password") {
			t.Errorf("Load: the error shows the password: %v", err)
		}
		if c != nil {
			t.Errorf("Load = %v; want nil with the error", c)
		}
	})
}

// samplesJKSCerts decodes the JKS trust store independently of the package.
func samplesJKSCerts(t *testing.T, path, password string) []*x509.Certificate {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ks := keystore.New()
	if err := ks.Load(f, []byte(password)); err != nil {
		t.Fatalf("keystore-go: %v", err)
	}
	var certs []*x509.Certificate
	for _, alias := range ks.Aliases() {
		if !ks.IsTrustedCertificateEntry(alias) {
			continue
		}
		e, err := ks.GetTrustedCertificateEntry(alias)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(e.Certificate.Content)
		if err != nil {
			t.Fatalf("%s: %v", alias, err)
		}
		certs = append(certs, cert)
	}
	if len(certs) == 0 {
		t.Fatalf("%s holds no trusted certificate", path)
	}
	return certs
}

// samplesPoolHolds reports whether pool holds cert itself: Verify returns
// the one-certificate chain [cert] only when the roots contain it (a chain
// built to another root would be longer), so that the trust store's
// intermediates, which no system store has, are told apart.
func samplesPoolHolds(pool *x509.CertPool, cert *x509.Certificate) bool {
	chains, err := cert.Verify(x509.VerifyOptions{
		Roots:       pool,
		CurrentTime: cert.NotBefore.Add(time.Hour),
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return false
	}
	for _, ch := range chains {
		if len(ch) == 1 && ch[0].Equal(cert) {
			return true
		}
	}
	return false
}

// TestBDKSamplesJKSTrustStore reads the SDK's JKS trust store.
func TestBDKSamplesJKSTrustStore(t *testing.T) {
	_, cr := samplesRoot(t)
	certs := samplesJKSCerts(t, cr.jks, samplesJKSPassword)
	// A JKS trust store is trusted in addition to the system's roots, as BDK
	// Java adds the JVM's.
	want, err := x509.SystemCertPool()
	if err != nil || want == nil {
		want = x509.NewCertPool()
	}
	for _, cert := range certs {
		want.AddCert(cert)
	}

	checkRoots := func(t *testing.T, c *bdkconfig.Config) {
		t.Helper()
		if c.SSL.TrustStore != (bdkconfig.CredentialFile{Path: cr.jks}) {
			t.Errorf("SSL.TrustStore = %+v; want %s", c.SSL.TrustStore, cr.jks)
		}
		roots := c.RootCAs()
		if roots == nil {
			t.Fatal("RootCAs() = nil; want the trust store's certificates")
		}
		for _, cert := range certs {
			if !samplesPoolHolds(roots, cert) {
				t.Errorf("RootCAs() lacks the trust store's %s", cert.Subject)
			}
		}
		if !roots.Equal(want) {
			t.Errorf("RootCAs() is not the system's roots and the trust store's %d certificates", len(certs))
		}
	}

	t.Run("trustStore", func(t *testing.T) {
		logger, logs := newSamplesLogger()
		path := samplesConfig(t, fmt.Sprintf("host: acme.symphony.com\nssl:\n  trustStore:\n    path: %q\n    password: %s\n", cr.jks, samplesJKSPassword))
		c, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		checkRoots(t, c)
		if strings.Contains(logs.String(), "deprecated") {
			t.Errorf("a deprecation warning for ssl.trustStore; the log:\n%s", logs)
		}
	})

	t.Run("deprecated trustStorePath", func(t *testing.T) {
		logger, logs := newSamplesLogger()
		path := samplesConfig(t, fmt.Sprintf("host: acme.symphony.com\nssl:\n  trustStorePath: %q\n  trustStorePassword: %s\n", cr.jks, samplesJKSPassword))
		c, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		checkRoots(t, c)
		for _, k := range []string{"ssl.trustStorePath", "ssl.trustStorePassword"} {
			if !regexp.MustCompile(regexp.QuoteMeta(k) + `\b[^\n]*deprecated`).MatchString(logs.String()) {
				t.Errorf("no deprecation warning naming %s; the log:\n%s", k, logs)
			}
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		logger, _ := newSamplesLogger()
		path := samplesConfig(t, fmt.Sprintf("host: acme.symphony.com\nssl:\n  trustStore:\n    path: %q\n    password: not-changeit\n", cr.jks))
		c, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
		samplesWantErr(t, "Load", err, path, "ssl.trustStore.password")
		if err != nil && strings.Contains(err.Error(), "not-changeit") {
			t.Errorf("Load: the error shows the password: %v", err)
		}
		if c != nil {
			t.Errorf("Load = %v; want nil with the error", c)
		}
	})
}
