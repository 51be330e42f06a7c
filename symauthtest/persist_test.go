package symauthtest

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
)

// A server started with an earlier server's CA is trusted by the clients of
// the earlier one, and accepts the client certificates it issued.
func TestStartWithSavedCA(t *testing.T) {
	first := NewServer()
	certPEM := first.CACertPEM()
	keyPEM, err := first.CAKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.NewUser("bot"); err != nil {
		t.Fatal(err)
	}
	clientCert, err := first.IssueClientCertificate("bot")
	if err != nil {
		t.Fatal(err)
	}
	pool := first.CertPool()
	first.Close()

	second, err := Start(Options{CACertPEM: certPEM, CAKeyPEM: keyPEM})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if !bytes.Equal(second.CACertPEM(), certPEM) {
		t.Error("the second server has another CA certificate")
	}
	if _, err := second.IssueClientCertificate("bot"); err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post(second.URL+PathSessionAuth, "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("certificate login with the first server's certificate: %s", resp.Status)
	}
}

func TestStartWithBadCA(t *testing.T) {
	a, b := NewServer(), NewServer()
	defer a.Close()
	defer b.Close()
	aKey, _ := a.CAKeyPEM()
	leaf, err := a.IssueClientCertificate("x")
	if err != nil {
		t.Fatal(err)
	}
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Leaf.Raw})
	for name, tc := range map[string]struct {
		cert, key []byte
		want      string
	}{
		"key only":      {nil, aKey, "no CERTIFICATE"},
		"cert only":     {a.CACertPEM(), nil, "no PRIVATE KEY"},
		"another's key": {b.CACertPEM(), aKey, "not the certificate's"},
		"garbage cert":  {[]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), aKey, "CACertPEM"},
		"garbage key":   {a.CACertPEM(), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), "CAKeyPEM"},
		"not a CA":      {leafPEM, aKey, "not a CA's"},
	} {
		if s, err := Start(Options{CACertPEM: tc.cert, CAKeyPEM: tc.key}); err == nil || !strings.Contains(err.Error(), tc.want) {
			if s != nil {
				s.Close()
			}
			t.Errorf("%s: %v; want an error with %q", name, err, tc.want)
		}
	}
}
