package symauthtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Certificate validity uses the real clock, never Options.Now: TLS peers check
// it against their own clocks.
const (
	certBackdate = time.Hour            // NotBefore this long before now, for clock skew
	certValidity = 365 * 24 * time.Hour // NotAfter this long after now
)

// authority is the in-memory certificate authority of one Server. It is
// immutable after newAuthority, so safe for concurrent use.
type authority struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

// newAuthority generates a self-signed ECDSA P-256 CA.
func newAuthority() (*authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("symauthtest: generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"symauthtest"}, CommonName: "symauthtest CA"},
		NotBefore:             now.Add(-certBackdate),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("symauthtest: create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("symauthtest: parse CA certificate: %w", err)
	}
	return &authority{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}

// pool returns a new pool holding the CA certificate.
func (a *authority) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.cert)
	return p
}

// serverCertificate issues the TLS server certificate, valid for 127.0.0.1,
// ::1, localhost and, when it is none of those and not empty or unspecified,
// listenHost.
func (a *authority) serverCertificate(listenHost string) (tls.Certificate, error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"symauthtest"}, CommonName: "localhost"},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if ip := net.ParseIP(listenHost); ip != nil {
		if !ip.IsUnspecified() && !ip.IsLoopback() {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		}
	} else if listenHost != "" && listenHost != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, listenHost)
	}
	return a.issue(tmpl)
}

// clientCertificate issues a client certificate with CN = username.
func (a *authority) clientCertificate(username string) (tls.Certificate, error) {
	return a.issue(&x509.Certificate{
		Subject:     pkix.Name{Organization: []string{"symauthtest"}, CommonName: username},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// signingCertificate issues the pod's JWT signing certificate for pub (the
// key that signs session tokens and identity JWTs) and returns it in PEM form.
func (a *authority) signingCertificate(pub crypto.PublicKey) ([]byte, error) {
	der, _, err := a.sign(&x509.Certificate{
		Subject:  pkix.Name{Organization: []string{"symauthtest"}, CommonName: "symauthtest pod JWT signing"},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}, pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// issue completes tmpl (serial, validity), signs it for a new ECDSA P-256 key
// and returns the certificate with its key and Leaf set.
func (a *authority) issue(tmpl *x509.Certificate) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("symauthtest: generate certificate key: %w", err)
	}
	der, leaf, err := a.sign(tmpl, key.Public())
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// sign completes tmpl (serial, validity), signs it with the CA for pub and
// returns the DER certificate, parsed too.
func (a *authority) sign(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, *x509.Certificate, error) {
	var err error
	if tmpl.SerialNumber, err = newSerial(); err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl.NotBefore = now.Add(-certBackdate)
	tmpl.NotAfter = now.Add(certValidity)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, pub, a.key)
	if err != nil {
		return nil, nil, fmt.Errorf("symauthtest: create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("symauthtest: parse certificate: %w", err)
	}
	return der, leaf, nil
}

// newSerial returns a random positive 128-bit certificate serial number.
func newSerial() (*big.Int, error) {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("symauthtest: certificate serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}
