package bdkconfig_test

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/internal/testkit"
	"go.yaml.in/yaml/v3"
)

// Fuzz target of Parse. Its seed corpus is in testdata/fuzz/FuzzParse;
// the keys there are throw-away test-only keys. Run it with
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 60s -fuzzminimizetime 5s ./bdkconfig
//
// It asserts properties of the result, not only that nothing panics; each
// call must also return within testkit.FuzzBudget (no hang). The seeds run in
// every go test.

// FuzzParse parses arbitrary YAML (up to 16 KiB) as a configuration.
//
// It returns within testkit.FuzzBudget. Neither its error nor, on success, the
// Config printed with %v, %+v and %#v shows a value of a content: or
// password: key (a key, a certificate, a password). A value is shown when the
// output holds it and, with that value's letters and digits replaced
// throughout the document, the output holds the replacement instead — or
// when the output holds a value of 24 bytes or more, or a 16-byte line of a
// content value, at all.
//
// Inputs that could make the parser read a file outside the package
// directory (an absolute path, "..", "~", ${…} where a path: key exists) are
// skipped: a device such as /dev/stdin would block, which is no bug of the
// parser.
func FuzzParse(f *testing.F) {
	for _, seed := range fuzzConfigSeeds(f) {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 {
			return
		}
		out, ok := fuzzConfigOutput(t, data)
		if !ok {
			return
		}
		var doc yaml.Node
		if yaml.Unmarshal(data, &doc) != nil {
			// Not YAML: look for the values in the text.
			for _, m := range fuzzRawSecret.FindAllSubmatch(data, -1) {
				s := strings.TrimSpace(string(m[1]))
				if r := testkit.Reshape(s); strings.Contains(out, s) && !strings.Contains(out, r) {
					if other, ok := fuzzConfigOutput(t, bytes.ReplaceAll(data, []byte(s), []byte(r))); ok && strings.Contains(other, r) {
						t.Fatalf("the output shows the secret %q:\n%s\n(with it reshaped:\n%s)", s, out, other)
					}
				}
			}
			return
		}
		secrets, lines := fuzzConfigSecrets(&doc)
		var reshaped *string // the output for the reshaped document, made once when needed
		for _, s := range secrets {
			if !strings.Contains(out, s) {
				continue
			}
			if len(s) >= 24 {
				t.Fatalf("the output shows the secret %q:\n%s", s, out)
			}
			r := testkit.Reshape(s)
			if strings.Contains(out, r) {
				continue // cannot tell
			}
			if reshaped == nil {
				text := ""
				if other, ok := fuzzReshapeSecrets(&doc); ok {
					text, _ = fuzzConfigOutput(t, other)
				}
				reshaped = &text
			}
			if strings.Contains(*reshaped, r) {
				t.Fatalf("the output shows the secret %q:\n%s\n(with the secrets reshaped:\n%s)", s, out, *reshaped)
			}
		}
		for _, l := range lines {
			if strings.Contains(out, l) {
				t.Fatalf("the output shows the content line %q:\n%s", l, out)
			}
		}
	})
}

// fuzzRawSecret finds content: and password: values of 12 bytes or more in text
// that is not YAML.
var fuzzRawSecret = regexp.MustCompile(`(?:content|password)[ \t]*:[ \t]*["']?([^"'\r\n]{12,})`)

// fuzzConfigOutput parses data as a configuration within testkit.FuzzBudget and returns
// what it shows: the error, or the Config printed with %v, %+v and %#v. ok is
// false, and nothing is parsed, when data could make Parse read a file
// outside the working directory (see fuzzReadsOutside).
func fuzzConfigOutput(t *testing.T, data []byte) (out string, ok bool) {
	t.Helper()
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil && fuzzReadsOutside(&doc) {
		return "", false
	}
	var cfg *bdkconfig.Config
	var err error
	testkit.WithinBudget(t, "Parse", func() { cfg, err = bdkconfig.Parse(data, bdkconfig.WithLogger(quietLogger())) })
	switch {
	case err != nil:
		return err.Error(), true
	case cfg == nil:
		t.Fatal("no Config and no error")
	}
	// None of these may panic or touch the network.
	_, _, _, _ = cfg.PodURL(), cfg.AgentURL(), cfg.KeyManagerURL(), cfg.SessionAuthURL()
	return fmt.Sprintf("%v\n%+v\n%#v", cfg, cfg, cfg), true
}

// fuzzWalkConfig calls fn for every scalar node of the document (aliases
// followed once) with whether it is the value of a content: or password:
// key.
func fuzzWalkConfig(doc *yaml.Node, fn func(n *yaml.Node, secret bool)) {
	type visit struct {
		n      *yaml.Node
		secret bool
	}
	seen := map[visit]bool{}
	var walk func(n *yaml.Node, secret bool)
	walk = func(n *yaml.Node, secret bool) {
		if n == nil || seen[visit{n, secret}] {
			return
		}
		seen[visit{n, secret}] = true
		switch n.Kind {
		case yaml.AliasNode:
			walk(n.Alias, secret)
		case yaml.ScalarNode:
			fn(n, secret)
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				walk(k, false)
				walk(n.Content[i+1], k.Kind == yaml.ScalarNode && (k.Value == "content" || k.Value == "password"))
			}
		default:
			for _, c := range n.Content {
				walk(c, false)
			}
		}
	}
	walk(doc, false)
}

// fuzzConfigSecrets returns the values of content: and password: keys (of 4
// bytes or more, and not also used where no secret is expected, as through
// an alias) and the lines of 16 bytes or more of those values.
func fuzzConfigSecrets(doc *yaml.Node) (secrets, lines []string) {
	plain := map[*yaml.Node]bool{}
	var nodes []*yaml.Node
	fuzzWalkConfig(doc, func(n *yaml.Node, secret bool) {
		if secret {
			nodes = append(nodes, n)
		} else {
			plain[n] = true
		}
	})
	for _, n := range nodes {
		if plain[n] {
			continue
		}
		if v := strings.TrimSpace(n.Value); len(v) >= 4 {
			secrets = append(secrets, v)
		}
		for _, l := range strings.Split(n.Value, "\n") {
			if l = strings.TrimSpace(l); len(l) >= 16 {
				lines = append(lines, l)
			}
		}
	}
	return secrets, lines
}

// fuzzReshapeSecrets returns the document with the values of content: and
// password: keys reshaped; ok is false when it cannot be encoded again.
func fuzzReshapeSecrets(doc *yaml.Node) (out []byte, ok bool) {
	var nodes []*yaml.Node
	fuzzWalkConfig(doc, func(n *yaml.Node, secret bool) {
		if secret {
			nodes = append(nodes, n)
		}
	})
	saved := make([]string, len(nodes))
	for i, n := range nodes {
		saved[i] = n.Value
		n.Value = testkit.Reshape(n.Value)
	}
	defer func() {
		for i, n := range nodes {
			n.Value = saved[i]
		}
	}()
	out, err := yaml.Marshal(doc)
	return out, err == nil
}

// fuzzReadsOutside reports whether the document could make Parse read a
// file outside the working directory: it has a path key, and a value that
// is absolute, climbs with "..", starts with "~" or uses ${…}.
func fuzzReadsOutside(doc *yaml.Node) bool {
	hasPath, risky := false, false
	fuzzWalkConfig(doc, func(n *yaml.Node, _ bool) {
		v := n.Value
		hasPath = hasPath || v == "path"
		risky = risky || strings.HasPrefix(strings.TrimSpace(v), "/") || strings.HasPrefix(strings.TrimSpace(v), "~") ||
			strings.Contains(v, "..") || strings.Contains(v, "${") || strings.ContainsRune(v, 0)
	})
	return hasPath && risky
}

// fuzzConfigSeeds are configurations that hold key material and passwords in
// content: and password: values, valid and not.
func fuzzConfigSeeds(tb testing.TB) []string {
	tb.Helper()
	indent := func(s string) string { return "      " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n      ") }
	keyPEM := string(testkit.PEM("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testkit.RSAKey())))
	seeds := testkit.PKCS12Seeds(tb)
	p12 := base64.StdEncoding.EncodeToString(seeds[0].Data)
	store := base64.StdEncoding.EncodeToString(seeds[len(seeds)-1].Data)
	return []string{
		// RSA bot with an inline key, a proxy with a password.
		`host: acme.symphony.com
agent: {host: agent.acme.com}
bot:
  username: fuzz-bot
  privateKey:
    content: |
` + indent(keyPEM) + `
proxy: {host: proxy.acme.com, port: 3128, username: proxy-user, password: proxy-secret-password}
retry: {maxAttempts: 3, initialIntervalMillis: 100, multiplier: 1.5, maxIntervalMillis: 1000}
commonJwt: {enabled: false}
`,
		// The same key as an environment variable holds it, base64 of the PEM.
		`host: acme.symphony.com
bot: {username: fuzz-bot, privateKey: {content: "` + base64.StdEncoding.EncodeToString([]byte(keyPEM)) + `"}}
`,
		// Certificate bot: inline PKCS#12 with its password, and a trust store.
		`host: acme.symphony.com
sessionAuth: {host: acme-api.symphony.com, port: 8444}
keyManager: {host: acme-api.symphony.com, port: 8444}
bot:
  certificate:
    content: ` + p12 + `
    password: ` + seeds[0].Password + `
ssl:
  trustStore:
    content: ` + store + `
    password: trust-store-password
`,
		// Wrong passwords.
		`host: acme.symphony.com
sessionAuth: {host: acme-api.symphony.com, port: 8444}
bot: {certificate: {content: ` + p12 + `, password: wrong-secret-password}}
`,
		`host: acme.symphony.com
ssl: {trustStore: {content: ` + store + `, password: other-wrong-password}}
`,
		// Broken content: not PEM, not base64, a truncated key.
		`host: acme.symphony.com
bot: {username: fuzz-bot, privateKey: {content: "not a key: hunter2-secret-content"}}
`,
		`host: acme.symphony.com
bot:
  username: fuzz-bot
  privateKey: {content: "` + strings.ReplaceAll(keyPEM[:len(keyPEM)/2], "\n", `\n`) + `"}
`,
		`host: acme.symphony.com
bot: {certificate: {content: "!!!!", password: "s3cr3t-password"}}
app: {appId: fuzz-app, certificate: {content: "` + p12[:len(p12)/2] + `", password: app-secret-password}}
`,
		// Anchors, merge keys and interpolation.
		`defaults: &defaults {scheme: https, port: 443, context: /symphony}
pod: {<<: *defaults, host: acme.symphony.com}
agent: {<<: [*defaults], host: agent.acme.com}
secret: &pw env-secret-password
bot:
  username: ${BOT_USERNAME:-fuzz-bot}
  certificate: {content: "${BOT_P12:-bm90IGEgcDEy}", password: *pw}
`,
		// JSON, and a password given twice.
		`{"host": "acme.symphony.com", "bot": {"username": "fuzz-bot", "privateKey": {"content": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}}}`,
		`host: acme.symphony.com
proxy: {host: proxy, port: 3128, username: u, password: first-secret, password: second-secret}
`,
		// Not a configuration.
		"- a\n- list\n",
		"host: [unclosed\n",
		"",
	}
}
