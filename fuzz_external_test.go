package symauth_test

// Fuzz targets of the exported parsers of key material and configuration:
// ParsePrivateKey, LoadPKCS12 and ParseConfig. Their seed corpora are in
// testdata/fuzz/<FuzzName>; the keys there are throw-away 1024-bit (RSA) and
// P-256 (EC) test-only keys, generated for the corpus and used nowhere else.
// Run one with
//
//	go test -run '^$' -fuzz '^FuzzParseConfig$' -fuzztime 60s -fuzzminimizetime 5s .
//
// -fuzzminimizetime keeps the fuzzer fuzzing: one call with an RSA key or a
// PKCS#12 file in it takes milliseconds, so minimizing each new interesting
// input for the default 60 s would use the whole run.
//
// Every target asserts properties of the result, not only that nothing
// panics; each call must also return within fuzzBudget (no hang). The seeds
// run in every go test.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/symauth/symauth"
)

// fuzzBudget is how long one call of a parser may take before it counts as a
// hang. Normal inputs take microseconds to milliseconds, even under -race.
const fuzzBudget = 3 * time.Second

// fuzzWithinBudget runs fn and fails t if fn has not returned within fuzzBudget.
// A hung fn keeps running in its goroutine until the test binary exits: the
// test has failed by then, and the input is the reproducer.
func fuzzWithinBudget(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	timer := time.NewTimer(fuzzBudget)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s has not returned after %v: a hang", what, fuzzBudget)
	}
}

// fuzzBase64Windows returns every window of n base64 characters in s.
func fuzzBase64Windows(s string, n int) []string {
	isB64 := func(c byte) bool {
		return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/'
	}
	var out []string
	run := 0
	for i := 0; i < len(s); i++ {
		if !isB64(s[i]) {
			run = 0
			continue
		}
		if run++; run >= n {
			out = append(out, s[i+1-n:i+1])
		}
	}
	return out
}

func fuzzPEM(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// FuzzParsePrivateKey parses arbitrary bytes as a PEM private key.
//
// A success is an *rsa.PrivateKey that Validates and survives a PKCS#1
// round trip; a failure has no key and a short message holding none of the
// input (no run of 16 base64 characters of it). Writing the input's newlines
// as a literal backslash-n, as environment variables carry keys, changes
// nothing: same key, same error.
func FuzzParsePrivateKey(f *testing.F) {
	rsaKey := botKey()
	pkcs1 := fuzzPEM("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey))
	pkcs8DER, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	if err != nil {
		f.Fatal(err)
	}
	pkcs8 := fuzzPEM("PRIVATE KEY", pkcs8DER)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		f.Fatal(err)
	}
	ecPKCS8, err := x509.MarshalPKCS8PrivateKey(ecKey)
	if err != nil {
		f.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	edPKCS8, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		f.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(rsaKey.Public())
	if err != nil {
		f.Fatal(err)
	}
	encrypted := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-128-CBC,00112233445566778899AABBCCDDEEFF"},
		Bytes:   []byte("not really encrypted")})
	for _, seed := range [][]byte{
		pkcs1,
		pkcs8,
		bytes.ReplaceAll(pkcs8, []byte("\n"), []byte(`\n`)),                   // as an environment variable holds it
		bytes.ReplaceAll(pkcs1, []byte("\n"), []byte("\r\n")),                 // Windows line ends
		append(fuzzPEM("EC PARAMETERS", []byte{6, 8, 42, 134, 72}), pkcs1...), // a block to skip first
		pkcs1[:len(pkcs1)/2],                               // truncated
		fuzzPEM("RSA PRIVATE KEY", pkcs8DER),               // PKCS#8 under the PKCS#1 label
		fuzzPEM("PRIVATE KEY", pkcs8DER[:len(pkcs8DER)-9]), // truncated DER
		fuzzPEM("EC PRIVATE KEY", ecDER),
		fuzzPEM("PRIVATE KEY", ecPKCS8),
		fuzzPEM("PRIVATE KEY", edPKCS8),
		fuzzPEM("PUBLIC KEY", pubDER),
		fuzzPEM("ENCRYPTED PRIVATE KEY", []byte("opaque")),
		encrypted,
		[]byte("-----BEGIN RSA PRIVATE KEY-----\n!!!not base64!!!\n-----END RSA PRIVATE KEY-----\n"),
		[]byte(base64.StdEncoding.EncodeToString(pkcs8DER)), // DER in base64 without PEM armour
		[]byte("not a key at all"),
		{},
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := symauth.ParsePrivateKey(data)
		fuzzCheckKey(t, data, key, err)
		envForm := bytes.ReplaceAll(data, []byte("\n"), []byte(`\n`))
		key2, err2 := symauth.ParsePrivateKey(envForm)
		switch {
		case (err == nil) != (err2 == nil):
			t.Fatalf("newlines written as \\n change the outcome: %v, then %v", err, err2)
		case err != nil && err.Error() != err2.Error():
			t.Fatalf("newlines written as \\n change the error: %q, then %q", err, err2)
		case key != nil && !key.Equal(key2):
			t.Fatalf("newlines written as \\n give another key")
		}
	})
}

func fuzzCheckKey(t *testing.T, data []byte, key *rsa.PrivateKey, err error) {
	t.Helper()
	if err == nil {
		if key == nil {
			t.Fatal("no key and no error")
		}
		if verr := key.Validate(); verr != nil {
			t.Fatalf("the parsed key does not Validate: %v", verr)
		}
		again, perr := x509.ParsePKCS1PrivateKey(x509.MarshalPKCS1PrivateKey(key))
		if perr != nil || !again.Equal(key) {
			t.Fatalf("the parsed key does not survive a PKCS#1 round trip: %v", perr)
		}
		return
	}
	if key != nil {
		t.Fatalf("a key and an error: %v", err)
	}
	msg := err.Error()
	if len(msg) > 256 {
		t.Fatalf("error of %d bytes: %.300q", len(msg), msg)
	}
	text := strings.ReplaceAll(string(data), `\n`, "\n")
	for _, w := range fuzzBase64Windows(msg, 16) {
		if strings.Contains(text, w) {
			t.Fatalf("error %q shows %q of the input", msg, w)
		}
	}
}

// fuzzP12 is a PKCS#12 file and the password that opens it.
type fuzzP12 struct {
	data     []byte
	password string
}

// fuzzPKCS12Seeds encodes a throw-away P-256 key and its self-signed certificate
// (CN localhost) with every encoder of go-pkcs12, and a trust store.
func fuzzPKCS12Seeds(tb testing.TB) []fuzzP12 {
	tb.Helper()
	cert := localhostCertificate(tb)
	var out []fuzzP12
	for _, enc := range []struct {
		e        *pkcs12.Encoder
		password string
	}{
		{pkcs12.Modern, "test-only-password"},
		{pkcs12.LegacyRC2, "changeit"},
		{pkcs12.LegacyDES, "pässwörd"},
		{pkcs12.Passwordless, ""},
	} {
		data, err := enc.e.Encode(cert.PrivateKey, cert.Leaf, []*x509.Certificate{cert.Leaf}, enc.password)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, fuzzP12{data, enc.password})
	}
	store, err := pkcs12.Modern.EncodeTrustStore([]*x509.Certificate{cert.Leaf}, "trust-store-password")
	if err != nil {
		tb.Fatal(err)
	}
	return append(out, fuzzP12{store, "trust-store-password"})
}

// FuzzLoadPKCS12 reads arbitrary bytes as a PKCS#12 file with an arbitrary
// password.
//
// It returns within fuzzBudget. A success holds the leaf first, its parsed
// Leaf, and a private key that belongs to it. A failure never shows the
// password: when the message holds the password's text, the same call with
// another password of the same shape must show it too (it is then fixed text
// or text of the file, not the password).
func FuzzLoadPKCS12(f *testing.F) {
	for _, s := range fuzzPKCS12Seeds(f) {
		f.Add(s.data, s.password)
		f.Add(s.data, "wrong-password")
		f.Add(s.data[:len(s.data)*2/3], s.password)
	}
	f.Add([]byte{0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2}, "changeit") // a JKS file
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n"), "changeit")
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03}, "😀 not UCS-2")
	f.Add([]byte{}, "")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		if len(data) > 64<<10 {
			return
		}
		var cert tls.Certificate
		var err error
		fuzzWithinBudget(t, "LoadPKCS12", func() { cert, err = symauth.LoadPKCS12(data, password) })
		if err == nil {
			fuzzCheckCertificate(t, cert)
			return
		}
		msg := err.Error()
		if password == "" || !strings.Contains(msg, password) {
			return
		}
		// The password's text is in the message: fixed text, text of the
		// file, or the password itself. Only the last follows the password.
		other := fuzzReshape(password)
		if strings.Contains(msg, other) {
			return // cannot tell
		}
		var errOther error
		fuzzWithinBudget(t, "LoadPKCS12", func() { _, errOther = symauth.LoadPKCS12(data, other) })
		if errOther != nil && strings.Contains(errOther.Error(), other) {
			t.Fatalf("the error shows the password %q: %q (with password %q: %v)", password, msg, other, errOther)
		}
	})
}

func fuzzCheckCertificate(t *testing.T, cert tls.Certificate) {
	t.Helper()
	if len(cert.Certificate) == 0 || cert.Leaf == nil || !bytes.Equal(cert.Certificate[0], cert.Leaf.Raw) {
		t.Fatalf("success without the leaf first and parsed: %d certificates, Leaf %v", len(cert.Certificate), cert.Leaf != nil)
	}
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		t.Fatalf("success with a private key of type %T", cert.PrivateKey)
	}
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(cert.Leaf.PublicKey) {
		t.Fatal("success with a private key that is not the leaf's")
	}
}

// fuzzReshape returns s with its ASCII letters and digits replaced by others
// (ROT13, digits shifted by 5), so that text made from s is told from fixed
// text; s with an "x" in front when it has none.
func fuzzReshape(s string) string {
	out := []byte(s)
	changed := false
	for i, c := range out {
		switch {
		case c >= 'a' && c <= 'z':
			out[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			out[i] = 'A' + (c-'A'+13)%26
		case c >= '0' && c <= '9':
			out[i] = '0' + (c-'0'+5)%10
		default:
			continue
		}
		changed = true
	}
	if !changed {
		return "x" + s
	}
	return string(out)
}

// FuzzParseConfig parses arbitrary YAML (up to 16 KiB) as a configuration.
//
// It returns within fuzzBudget. Neither its error nor, on success, the
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
func FuzzParseConfig(f *testing.F) {
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
				if r := fuzzReshape(s); strings.Contains(out, s) && !strings.Contains(out, r) {
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
			r := fuzzReshape(s)
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

// fuzzConfigOutput parses data as a configuration within fuzzBudget and returns
// what it shows: the error, or the Config printed with %v, %+v and %#v. ok is
// false, and nothing is parsed, when data could make ParseConfig read a file
// outside the working directory (see fuzzReadsOutside).
func fuzzConfigOutput(t *testing.T, data []byte) (out string, ok bool) {
	t.Helper()
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) == nil && fuzzReadsOutside(&doc) {
		return "", false
	}
	var cfg *symauth.Config
	var err error
	fuzzWithinBudget(t, "ParseConfig", func() { cfg, err = symauth.ParseConfig(data) })
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
		n.Value = fuzzReshape(n.Value)
	}
	defer func() {
		for i, n := range nodes {
			n.Value = saved[i]
		}
	}()
	out, err := yaml.Marshal(doc)
	return out, err == nil
}

// fuzzReadsOutside reports whether the document could make ParseConfig read a
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
	keyPEM := string(fuzzPEM("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(botKey())))
	seeds := fuzzPKCS12Seeds(tb)
	p12 := base64.StdEncoding.EncodeToString(seeds[0].data)
	store := base64.StdEncoding.EncodeToString(seeds[len(seeds)-1].data)
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
    password: ` + seeds[0].password + `
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
