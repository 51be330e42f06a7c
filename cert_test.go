package symauth_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

func certConfig(t testing.TB, srv *symauthtest.Server, username string) symauth.CertConfig {
	t.Helper()
	cert, err := srv.IssueClientCertificate(username)
	if err != nil {
		t.Fatal(err)
	}
	return symauth.CertConfig{SessionAuthURL: srv.URL, Certificate: cert, RootCAs: srv.CertPool(), Retry: fastRetry}
}

func TestCertLogin(t *testing.T) {
	srv := newPod(t)
	auth, err := symauth.NewCert(certConfig(t, srv, "cert-bot"))
	if err != nil {
		t.Fatal(err)
	}
	if auth.Username() != "cert-bot" {
		t.Fatalf("Username() = %q", auth.Username())
	}
	client := &http.Client{Transport: symauth.NewTransport(auth, srv.Client().Transport)}
	status, body := get(t, client, srv.URL+symauthtest.PathSessionInfo)
	if status != http.StatusOK || !strings.Contains(body, "cert-bot") {
		t.Fatalf("sessioninfo: %d %s", status, body)
	}
	if status, _ := get(t, client, srv.URL+symauthtest.PathDatafeeds); status != http.StatusOK {
		t.Fatalf("agent call: %d", status)
	}
	if sa, ka := srv.Calls(symauthtest.PathSessionAuth), srv.Calls(symauthtest.PathKeyAuth); sa != 1 || ka != 1 {
		t.Fatalf("logins: sessionauth %d, keyauth %d; want 1 and 1", sa, ka)
	}
}

// Certificate login calls have no body and no Content-Type.
func TestCertLoginSendsNoBody(t *testing.T) {
	srv := newPod(t)
	login := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > 0 || r.Header.Get("Content-Type") != "" || r.Method != http.MethodPost {
			t.Errorf("%s %s: content length %d, content type %q", r.Method, r.URL.Path, r.ContentLength, r.Header.Get("Content-Type"))
		}
		_, _ = w.Write([]byte(`{"name":"sessionToken","token":"t"}`))
	})
	cfg := certConfig(t, srv, "cert-bot")
	cfg.SessionAuthURL = login.URL
	cfg.RootCAs = x509.NewCertPool()
	cfg.RootCAs.AddCert(login.TLS.Certificates[0].Leaf)
	auth, err := symauth.NewCert(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := auth.Token(context.Background())
	if err != nil || tok.SessionToken != "t" || tok.KeyManagerToken != "t" {
		t.Fatalf("token %v, err %v", tok, err)
	}
	if headers, _ := login.requests(); len(headers) != 2 {
		t.Fatalf("%d login calls; want 2", len(headers))
	}
}

func TestCertLoginFailures(t *testing.T) {
	srv := newPod(t)
	t.Run("certificate from an unknown CA", func(t *testing.T) {
		cfg := certConfig(t, srv, "cert-bot")
		other := symauthtest.NewServer() // a CA the pod does not trust
		defer other.Close()
		cfg.Certificate, _ = other.IssueClientCertificate("stranger")
		_, err := mustCert(t, cfg).Token(context.Background())
		var authErr *symauth.AuthError
		if !errors.As(err, &authErr) || authErr.StatusCode != 0 && authErr.StatusCode != http.StatusUnauthorized {
			t.Fatalf("err = %v; want a TLS failure or 401", err)
		}
	})
	t.Run("403 from sessionauth", func(t *testing.T) {
		cfg := certConfig(t, srv, "cert-bot")
		cfg.SkipKeyManager = true
		srv.InjectFault(symauthtest.PathSessionAuth, symauthtest.Fault{Status: http.StatusForbidden, Times: 1})
		_, err := mustCert(t, cfg).Token(context.Background())
		var authErr *symauth.AuthError
		if !errors.As(err, &authErr) || authErr.StatusCode != http.StatusForbidden || authErr.Endpoint != symauthtest.PathSessionAuth {
			t.Fatalf("err = %v; want 403 at %s", err, symauthtest.PathSessionAuth)
		}
		if ka := srv.Calls(symauthtest.PathKeyAuth); ka != 0 {
			t.Fatalf("keyauth called %d times with SkipKeyManager", ka)
		}
	})
	t.Run("unknown server CA", func(t *testing.T) {
		srv.ResetCalls()
		cfg := certConfig(t, srv, "cert-bot")
		cfg.RootCAs = x509.NewCertPool()
		_, err := mustCert(t, cfg).Token(context.Background())
		var authErr *symauth.AuthError
		if !errors.As(err, &authErr) || authErr.StatusCode != 0 || authErr.Err == nil {
			t.Fatalf("err = %v; want a TLS failure", err)
		}
		if calls := srv.Calls(symauthtest.PathSessionAuth); calls != 0 {
			t.Fatalf("sessionauth reached %d times despite the TLS failure", calls)
		}
	})
}

func mustCert(t testing.TB, cfg symauth.CertConfig) *symauth.Cert {
	t.Helper()
	c, err := symauth.NewCert(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewCertValidation(t *testing.T) {
	srv := newPod(t)
	valid := certConfig(t, srv, "cert-bot")
	noCN := valid
	noCN.Certificate.Leaf = &x509.Certificate{NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	expired := valid
	expired.Certificate.Leaf = &x509.Certificate{NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour)}
	expired.Certificate.Leaf.Subject.CommonName = "cert-bot"
	notYet := valid
	notYet.Certificate.Leaf = &x509.Certificate{NotBefore: time.Now().Add(time.Hour), NotAfter: time.Now().Add(2 * time.Hour)}
	notYet.Certificate.Leaf.Subject.CommonName = "cert-bot"
	for _, tc := range []struct {
		name string
		cfg  func() symauth.CertConfig
		want string
	}{
		{"no URL", func() symauth.CertConfig { c := valid; c.SessionAuthURL = ""; return c }, "CertConfig.SessionAuthURL is missing"},
		{"plain http", func() symauth.CertConfig { c := valid; c.SessionAuthURL = "http://127.0.0.1:8444"; return c }, "CertConfig.SessionAuthURL must be https"},
		{"key manager", func() symauth.CertConfig { c := valid; c.KeyManagerURL = "km:8444"; return c }, "CertConfig.KeyManagerURL"},
		{"agent", func() symauth.CertConfig { c := valid; c.AgentURL = "agent"; return c }, "CertConfig.AgentURL"},
		{"empty certificate", func() symauth.CertConfig { c := valid; c.Certificate = tls.Certificate{}; return c }, "CertConfig.Certificate is empty"},
		{"no key", func() symauth.CertConfig { c := valid; c.Certificate.PrivateKey = nil; return c }, "CertConfig.Certificate has no private key"},
		{"garbage", func() symauth.CertConfig {
			c := valid
			c.Certificate = tls.Certificate{Certificate: [][]byte{{1, 2}}, PrivateKey: botKey()}
			return c
		}, "CertConfig.Certificate: the certificate cannot be parsed"},
		{"no CN", func() symauth.CertConfig { return noCN }, "CertConfig.Certificate has an empty subject CN"},
		{"expired", func() symauth.CertConfig { return expired }, "expired on"},
		{"not yet valid", func() symauth.CertConfig { return notYet }, "is not valid before"},
		{"retry", func() symauth.CertConfig { c := valid; c.Retry.MaxAttempts = -2; return c }, "CertConfig.Retry.MaxAttempts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := symauth.NewCert(tc.cfg())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want %q", err, tc.want)
			}
		})
	}
}

func TestParsePKCS12(t *testing.T) {
	srv := newPod(t)
	issued, err := srv.IssueClientCertificate("p12-bot")
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern.Encode(issued.PrivateKey, issued.Leaf, nil, "changeit")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := symauth.ParsePKCS12(p12, "changeit")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := symauth.NewCert(symauth.CertConfig{SessionAuthURL: srv.URL, Certificate: cert, RootCAs: srv.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := auth.Token(context.Background()); err != nil {
		t.Fatal(err)
	}

	if _, err := symauth.ParsePKCS12(p12, "wrong-secret"); !errors.Is(err, pkcs12.ErrIncorrectPassword) || !strings.Contains(err.Error(), "wrong password") || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("wrong password: %v", err)
	}
	other, _ := srv.IssueClientCertificate("other-bot")
	mismatched, err := pkcs12.Modern.Encode(other.PrivateKey, issued.Leaf, nil, "changeit")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := symauth.ParsePKCS12(mismatched, "changeit"); err == nil || !strings.Contains(err.Error(), "does not belong to the certificate") {
		t.Fatalf("mismatched key: %v", err)
	}
	swapped := issued
	swapped.PrivateKey = other.PrivateKey
	if _, err := symauth.NewCert(symauth.CertConfig{SessionAuthURL: srv.URL, Certificate: swapped}); err == nil || !strings.Contains(err.Error(), "CertConfig.Certificate: the private key does not belong") {
		t.Fatalf("NewCert with a mismatched key: %v", err)
	}
	if _, err := symauth.ParsePKCS12(nil, ""); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("empty: %v", err)
	}
	if _, err := symauth.ParsePKCS12([]byte("not pkcs12"), "x"); err == nil || !strings.Contains(err.Error(), "not a readable PKCS#12") {
		t.Fatalf("garbage: %v", err)
	}
}

func TestParsePEM(t *testing.T) {
	srv := newPod(t)
	issued, err := srv.IssueClientCertificate("pem-bot")
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(issued.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	combined := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issued.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})...)
	for name, in := range map[string][]byte{"one file": combined, "literal backslash-n": []byte(strings.ReplaceAll(string(combined), "\n", `\n`))} {
		cert, err := symauth.ParsePEM(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		auth, err := symauth.NewCert(symauth.CertConfig{SessionAuthURL: srv.URL, Certificate: cert, RootCAs: srv.CertPool()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := auth.Token(context.Background()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := symauth.ParsePEM(combined[:len(combined)/2]); err == nil || strings.Contains(err.Error(), "MII") {
		t.Fatalf("truncated: %v", err)
	}
}

// Files written by every go-pkcs12 encoder and by openssl load; a file asking
// for an absurd number of key-derivation iterations is refused at once
// (testdata/fuzz/FuzzParsePKCS12/mac-iterations-bomb is such a file).
func TestParsePKCS12Encoders(t *testing.T) {
	srv := newPod(t)
	issued, err := srv.IssueClientCertificate("p12-bot")
	if err != nil {
		t.Fatal(err)
	}
	for name, enc := range map[string]*pkcs12.Encoder{
		"Modern2023": pkcs12.Modern2023, "Modern2026": pkcs12.Modern2026,
		"LegacyRC2": pkcs12.LegacyRC2, "LegacyDES": pkcs12.LegacyDES,
	} {
		p12, err := enc.Encode(issued.PrivateKey, issued.Leaf, nil, "changeit")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := symauth.ParsePKCS12(p12, "changeit"); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		dir := t.TempDir()
		keyDER, _ := x509.MarshalPKCS8PrivateKey(issued.PrivateKey)
		certFile, keyFile, p12File := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"), filepath.Join(dir, "b.p12")
		_ = os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: issued.Certificate[0]}), 0o600)
		_ = os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
		out, err := exec.Command("openssl", "pkcs12", "-export", "-in", certFile, "-inkey", keyFile, "-out", p12File, "-passout", "pass:changeit").CombinedOutput()
		if err != nil {
			t.Fatalf("openssl: %v %s", err, out)
		}
		data, _ := os.ReadFile(p12File)
		if _, err := symauth.ParsePKCS12(data, "changeit"); err != nil {
			t.Errorf("openssl's PKCS#12: %v", err)
		}
	}
	bomb, err := os.ReadFile("testdata/fuzz/FuzzParsePKCS12/mac-iterations-bomb")
	if err != nil {
		t.Fatal(err)
	}
	data := fuzzCorpusBytes(t, bomb)
	start := time.Now()
	if _, err := symauth.ParsePKCS12(data, "x"); err == nil || !strings.Contains(err.Error(), "key-derivation iterations") {
		t.Fatalf("bomb: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("the bomb took %v", d)
	}
}

// fuzzCorpusBytes returns the first []byte value of a "go test fuzz v1" file.
func fuzzCorpusBytes(t testing.TB, file []byte) []byte {
	t.Helper()
	for _, line := range strings.Split(string(file), "\n") {
		if rest, ok := strings.CutPrefix(line, "[]byte("); ok {
			s, err := strconv.Unquote(strings.TrimSuffix(rest, ")"))
			if err != nil {
				t.Fatal(err)
			}
			return []byte(s)
		}
	}
	t.Fatal("no []byte in the corpus file")
	return nil
}
