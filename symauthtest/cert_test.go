package symauthtest

import (
	"crypto/ecdsa"
	"crypto/x509"
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestCertLogin(t *testing.T) {
	s, _ := startLogged(t, Options{})
	cert, err := s.IssueClientCertificate("cert-bot")
	if err != nil {
		t.Fatal(err)
	}
	if cert.Leaf == nil || cert.Leaf.Subject.CommonName != "cert-bot" ||
		!slices.Equal(cert.Leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}) {
		t.Fatalf("client certificate leaf: %+v", cert.Leaf)
	}
	if _, ok := cert.PrivateKey.(*ecdsa.PrivateKey); !ok {
		t.Fatalf("client key is %T", cert.PrivateKey)
	}
	if _, err := cert.Leaf.Verify(x509.VerifyOptions{Roots: s.CertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("client certificate does not chain to the CA: %v", err)
	}
	c := http1Client(t, s, cert)
	post := func(c *http.Client, path string) result {
		return do(t, c, newRequest(t, http.MethodPost, s.URL+path, nil)) // no body, no Content-Type
	}

	st := tokenOf(t, post(c, PathSessionAuth), "sessionToken")
	kt := tokenOf(t, post(c, PathKeyAuth), "keyManagerToken")
	if r := get(t, s, PathSessionInfo, st, ""); r.status != http.StatusOK {
		t.Errorf("sessioninfo with the certificate session: %d %s", r.status, r.body)
	}
	if r := get(t, s, PathDatafeeds, st, kt); r.status != http.StatusOK {
		t.Errorf("agent call with the certificate tokens: %d %s", r.status, r.body)
	}

	// Without a certificate the TLS handshake succeeds but login is refused.
	for _, path := range []string{PathSessionAuth, PathKeyAuth} {
		wantError(t, post(s.Client(), path), http.StatusUnauthorized, "client certificate required")
		wantError(t, do(t, c, newRequest(t, http.MethodGet, s.URL+path, nil)), http.StatusMethodNotAllowed, "use POST")
	}

	// A CA certificate for a name not allowed certificate login.
	stranger, err := s.ca.clientCertificate("stranger")
	if err != nil {
		t.Fatal(err)
	}
	newUser(t, s, "rsa-bot")
	rsaOnly, err := s.ca.clientCertificate("rsa-bot")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*http.Client{http1Client(t, s, stranger), http1Client(t, s, rsaOnly)} {
		for _, path := range []string{PathSessionAuth, PathKeyAuth} {
			r := post(c, path)
			if r.status != http.StatusForbidden || r.body != `{"code":403,"message":"certificate authentication is not allowed for the requested user"}`+"\n" {
				t.Errorf("%s: %d %s", path, r.status, r.body)
			}
		}
	}

	// A certificate from another CA fails in the TLS handshake.
	s2 := start(t, Options{})
	foreign, err := s2.IssueClientCertificate("cert-bot")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := tryDo(http1Client(t, s, foreign), newRequest(t, http.MethodPost, s.URL+PathSessionAuth, nil)); err == nil {
		t.Errorf("foreign certificate: got %d %s, want a TLS error", r.status, r.body)
	}
}

func TestCertAndRSAOnOneUser(t *testing.T) {
	s := start(t, Options{})
	key := newUser(t, s, "bot")
	id1, _ := s.RegisterUser("bot", &key.PublicKey)
	cert, err := s.IssueClientCertificate("bot")
	if err != nil {
		t.Fatal(err)
	}
	id2, _ := s.RegisterUser("bot", &key.PublicKey)
	if id1 != id2 {
		t.Errorf("id changed from %d to %d", id1, id2)
	}
	st := tokenOf(t, do(t, http1Client(t, s, cert), newRequest(t, http.MethodPost, s.URL+PathSessionAuth, nil)), "sessionToken")
	kt := login(t, s, PathRelay, sign(t, key, "bot", s.now().Add(time.Minute)))
	if r := get(t, s, PathDatafeeds, st, kt); r.status != http.StatusOK {
		t.Errorf("certificate session with RSA key manager token: %d %s", r.status, r.body)
	}
}
