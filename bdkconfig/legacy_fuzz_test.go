package bdkconfig_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/internal/testkit"
)

// FuzzParseLegacy parses SDK 1.x configurations (flat JSON; up to 16 KiB).
// Run it with
//
//	go test -run '^$' -fuzz '^FuzzParseLegacy$' -fuzztime 60s ./bdkconfig
//
// Parse never panics and returns within testkit.FuzzBudget; its error, or
// the Config printed with %v, %+v and %#v, never shows a password: the
// value of a key whose name ends in "password" (any case), or the password
// of a URL's user info. A password counts as shown when the output holds it
// and, with that password's letters and digits replaced in the document,
// the output holds the replacement instead.
//
// The seeds name the test-only files testdata/forms/fuzz-test-only-*
// (a JKS trust store opened by s3cr3t-jks-password, a PKCS#12 certificate
// of fuzz-cert-bot opened by s3cr3t-p12-password, an RSA key), so that wrong
// passwords and successful loads are reached. Inputs that could make Parse
// read a file outside the package directory are skipped (see
// legacyReadsOutside).
func FuzzParseLegacy(f *testing.F) {
	for _, name := range []string{"sdk1-rsa.json", "sdk1-cert.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "forms", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range legacyFuzzSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		var doc yaml.Node
		isYAML := yaml.Unmarshal(data, &doc) == nil
		if isYAML && legacyReadsOutside(&doc) {
			return
		}
		out := legacyFuzzOutput(t, data)
		if !isYAML {
			return // Parse fails before reading any value
		}
		secrets, plain := legacySecrets(&doc)
		for _, s := range secrets {
			if !strings.Contains(out, s) || strings.Contains(plain, s) {
				continue // not shown, or also written where no secret is
			}
			r := testkit.Reshape(s)
			if strings.Contains(out, r) || strings.Contains(string(data), r) {
				continue // cannot tell
			}
			other, ok := legacyReshaped(&doc, s)
			if !ok {
				continue
			}
			if reshaped := legacyFuzzOutput(t, other); strings.Contains(reshaped, r) {
				t.Fatalf("the output shows the password %q:\n%s\n(with it reshaped:\n%s)", s, out, reshaped)
			}
		}
	})
}

// legacyFuzzOutput parses data within testkit.FuzzBudget and returns what it
// shows: the error, or the Config printed.
func legacyFuzzOutput(t *testing.T, data []byte) string {
	t.Helper()
	var cfg *bdkconfig.Config
	var err error
	testkit.WithinBudget(t, "Parse", func() { cfg, err = bdkconfig.Parse(data) })
	switch {
	case err != nil:
		return fmt.Sprintf("%v\n%+v\n%#v", err, err, err)
	case cfg == nil:
		t.Fatal("Parse: no Config and no error")
	}
	// None of these touch the network; they must not panic.
	_, _, _, _ = cfg.PodURL(), cfg.AgentURL(), cfg.KeyManagerURL(), cfg.SessionAuthURL()
	_, sessErr := cfg.Session()
	_, oboErr := cfg.OBO()
	return fmt.Sprintf("%v\n%+v\n%#v\n%v\n%v", cfg, cfg, cfg, sessErr, oboErr)
}

// legacyPairs calls fn for every key and value of every mapping of the
// document (aliases followed once, values dereferenced).
func legacyPairs(doc *yaml.Node, fn func(key, value *yaml.Node)) {
	seen := map[*yaml.Node]bool{}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil || seen[n] {
			return
		}
		seen[n] = true
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				for k.Kind == yaml.AliasNode && k.Alias != nil {
					k = k.Alias
				}
				for v.Kind == yaml.AliasNode && v.Alias != nil {
					v = v.Alias
				}
				fn(k, v)
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(doc)
}

// legacySecrets returns the passwords of the document (6 bytes or more,
// without ${…}), and every other scalar, keys included, joined.
func legacySecrets(doc *yaml.Node) (secrets []string, plain string) {
	secret := map[*yaml.Node]bool{}
	var others []string
	legacyPairs(doc, func(k, v *yaml.Node) {
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return
		}
		name := strings.ToLower(k.Value)
		switch {
		case strings.HasSuffix(name, "password"):
			secret[v] = true
			if s := strings.TrimSpace(v.Value); len(s) >= 6 && !strings.Contains(s, "${") {
				secrets = append(secrets, s)
			}
		case strings.HasSuffix(name, "url"):
			if u, err := url.Parse(strings.TrimSpace(v.Value)); err == nil && u.User != nil {
				if p, ok := u.User.Password(); ok && len(p) >= 6 {
					secrets = append(secrets, p)
				}
			}
		}
	})
	legacyPairs(doc, func(k, v *yaml.Node) {
		others = append(others, k.Value)
		if !secret[v] && v.Kind == yaml.ScalarNode {
			others = append(others, v.Value)
		}
	})
	return secrets, strings.Join(others, "\n")
}

// legacyReshaped returns the document with the password s reshaped wherever
// a password holds it; ok is false when it cannot be written again.
func legacyReshaped(doc *yaml.Node, s string) (out []byte, ok bool) {
	type saved struct {
		n *yaml.Node
		v string
	}
	var undo []saved
	legacyPairs(doc, func(k, v *yaml.Node) {
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode || !strings.Contains(v.Value, s) {
			return
		}
		if name := strings.ToLower(k.Value); strings.HasSuffix(name, "password") || strings.HasSuffix(name, "url") {
			undo = append(undo, saved{v, v.Value})
			v.Value = strings.ReplaceAll(v.Value, s, testkit.Reshape(s))
		}
	})
	defer func() {
		for _, u := range undo {
			u.n.Value = u.v
		}
	}()
	out, err := yaml.Marshal(doc)
	return out, err == nil
}

// legacyReadsOutside reports whether a key that names a file (botCertPath,
// botPrivateKeyName, truststorePath, path, …; not a context path) has a
// value that could reach outside the package directory or a device: an
// absolute path, "~", "..", ${…} or a NUL.
func legacyReadsOutside(doc *yaml.Node) bool {
	risky := false
	legacyPairs(doc, func(k, v *yaml.Node) {
		name := strings.ToLower(k.Value)
		file := (strings.HasSuffix(name, "path") && !strings.HasSuffix(name, "contextpath")) ||
			(strings.HasSuffix(name, "name") && (strings.Contains(name, "key") || strings.Contains(name, "cert")))
		if !file || v.Kind != yaml.ScalarNode {
			return
		}
		s := strings.TrimSpace(v.Value)
		risky = risky || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "~") || strings.HasPrefix(s, `\`) ||
			strings.Contains(s, "..") || strings.Contains(s, "${") || strings.ContainsRune(s, 0)
	})
	return risky
}

// legacyFuzzSeeds are SDK 1.x files with passwords, valid and not.
var legacyFuzzSeeds = []string{
	// An RSA bot that loads: the test-only key and trust store.
	`{"podHost": "acme.symphony.example", "podPort": 443, "keyAuthHost": "acme-km.symphony.example", "keyAuthPort": 8444,
 "agentHost": "acme-agent.symphony.example", "botUsername": "fuzz-bot",
 "botPrivateKeyPath": "testdata/forms/", "botPrivateKeyName": "fuzz-test-only-bot-private.pem",
 "truststorePath": "testdata/forms/fuzz-test-only-truststore.jks", "truststorePassword": "s3cr3t-jks-password",
 "proxyURL": "http://proxy.acme.example:3128", "proxyUsername": "proxy-user", "proxyPassword": "s3cr3t-proxy-password",
 "podProxyURL": "http://pod-proxy.acme.example:8080", "podProxyUsername": "pod-user", "podProxyPassword": "s3cr3t-pod-proxy-password"}`,
	// The same trust store with a wrong password.
	`{"podHost": "acme.symphony.example", "botUsername": "fuzz-bot",
 "botPrivateKeyPath": "testdata/forms", "botPrivateKeyName": "fuzz-test-only-bot-private.pem",
 "truststorePath": "testdata/forms/fuzz-test-only-truststore.jks", "truststorePassword": "s3cr3t-wrong-jks-password"}`,
	// A certificate bot that loads, and one with a wrong password, and a
	// username that is not the CN.
	`{"sessionAuthHost": "acme-api.symphony.example", "sessionAuthPort": 8444, "keyAuthHost": "acme-api.symphony.example",
 "keyAuthPort": 8444, "podHost": "acme.symphony.example", "botCertPath": "testdata/forms/", "botCertName": "fuzz-test-only-bot.p12",
 "botCertPassword": "s3cr3t-p12-password", "authType": "cert"}`,
	`{"sessionAuthHost": "acme-api.symphony.example", "keyAuthHost": "acme-api.symphony.example", "podHost": "acme.symphony.example",
 "botCertPath": "testdata/forms/", "botCertName": "fuzz-test-only-bot.p12", "botCertPassword": "s3cr3t-wrong-p12-password"}`,
	`{"sessionAuthHost": "acme-api.symphony.example", "podHost": "acme.symphony.example", "botUsername": "someone-else",
 "botCertPath": "testdata/forms/", "botCertName": "fuzz-test-only-bot.p12", "botCertPassword": "s3cr3t-p12-password"}`,
	// An app certificate, and both a key and a certificate with authType.
	`{"podHost": "acme.symphony.example", "sessionAuthHost": "acme-api.symphony.example", "appCertPath": "testdata/forms/",
 "appCertName": "fuzz-test-only-bot.p12", "appCertPassword": "s3cr3t-p12-password",
 "botUsername": "fuzz-bot", "botPrivateKeyPath": "testdata/forms/", "botPrivateKeyName": "fuzz-test-only-bot-private.pem",
 "botCertPath": "testdata/forms/", "botCertName": "fuzz-test-only-bot.p12", "botCertPassword": "s3cr3t-p12-password", "authType": "rsa"}`,
	// Proxies: a password in the URL, bad URLs, a password without a user.
	`{"podHost": "acme.symphony.example", "proxyURL": "http://user:s3cr3t-url-password@proxy.acme.example:3128"}`,
	`{"podHost": "acme.symphony.example", "proxyURL": "ftp://proxy.acme.example", "proxyUsername": "u", "proxyPassword": "s3cr3t-ftp-password"}`,
	`{"podHost": "acme.symphony.example", "agentProxyURL": "proxy.acme.example:3128", "agentProxyPassword": "s3cr3t-agent-proxy-password",
 "keyManagerProxyURL": "https://km-proxy.acme.example", "keyManagerProxyUsername": "km", "keyManagerProxyPassword": "s3cr3t-km-proxy-password"}`,
	`{"podHost": "acme.symphony.example", "proxyURL": "http://proxy.acme.example:3128", "proxyPassword": "s3cr3t-lonely-password"}`,
	// A password given twice, of the wrong kind, from the environment.
	`{"podHost": "acme.symphony.example", "proxyURL": "http://p:1", "proxyUsername": "u", "proxyPassword": "s3cr3t-first", "proxyPassword": "s3cr3t-second"}`,
	`{"podHost": "acme.symphony.example", "truststorePassword": {"nested": "s3cr3t-nested-password"}, "botCertPassword": ["s3cr3t-in-a-list"]}`,
	`{"podHost": "${SYMAUTH_FUZZ_UNSET:-acme.symphony.example}", "proxyURL": "http://p:1", "proxyUsername": "u", "proxyPassword": "${SYMAUTH_FUZZ_UNSET_PASSWORD}"}`,
	// Bad values and unknown keys.
	`{"podHost": "acme.symphony.example", "podPort": "eighty", "botUsernme": "fuzz-bot", "truststorePassword": "s3cr3t-unused-password"}`,
	`{"podHost": ["a"], "podPort": 1e99, "agentHost": "https://agent.acme.example", "keyAuthContextPath": "a?b", "authType": "kerberos"}`,
	`{"podHost": "acme.symphony.example", "retry": {"maxAttempts": -1, "multiplier": 0.5}, "connectionTimeout": "x", "readTimeout": -1,
 "nodeTlsRejectUnauthorized": false, "datafeedVersion": "v2", "s3cr3tKey": "value"}`,
	// Not JSON: YAML, an alias for a password, SDK 1.x keys mixed with BDK 2 sections.
	"podHost: acme.symphony.example\nbotUsername: fuzz-bot\ntruststorePassword: *s3cr3t-alias\n",
	`{"podHost": "acme.symphony.example", "bot": {"username": "x"}, "ssl": {"trustStore": {"password": "s3cr3t-mixed-password"}}}`,
	`{"podHost": null, "botUsername": "", "keyAuthHost": {}}`,
	`{"podHost": "acme.symphony.example"`,
}
