package symauthtest

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// CAKeyPEM returns the private key of the server's CA in PEM form (PKCS #8),
// so that a program such as an emulator can save the CA with CACertPEM and
// start the next Server with it (Options.CACertPEM and Options.CAKeyPEM):
// clients that trust the saved CA certificate then keep trusting the server,
// and client certificates it issued keep working. Keep it secret.
func (s *Server) CAKeyPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(s.ca.key)
	if err != nil {
		return nil, fmt.Errorf("symauthtest: CA key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// authority returns the CA that Start uses: the one given in
// o.CACertPEM and o.CAKeyPEM, or a new one when both are empty.
func (o *Options) authority() (*authority, error) {
	if len(o.CACertPEM) == 0 && len(o.CAKeyPEM) == 0 {
		return newAuthority()
	}
	a, err := parseAuthority(o.CACertPEM, o.CAKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("symauthtest: Options.CACertPEM and CAKeyPEM: %w", err)
	}
	return a, nil
}

// parseAuthority reads a CA certificate and its private key, both PEM.
func parseAuthority(certPEM, keyPEM []byte) (*authority, error) {
	certBlock, _ := pem.Decode(certPEM)
	if certBlock == nil || certBlock.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE PEM block in the certificate")
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return nil, err
	}
	if !cert.IsCA || cert.KeyUsage&x509.KeyUsageCertSign == 0 {
		return nil, errors.New("the certificate is not a CA's")
	}
	if now := time.Now(); now.After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return nil, fmt.Errorf("the CA certificate is valid from %s to %s only", cert.NotBefore.Format(time.RFC3339), cert.NotAfter.Format(time.RFC3339))
	}
	keyBlock, _ := pem.Decode(keyPEM)
	if keyBlock == nil || keyBlock.Type != "PRIVATE KEY" {
		return nil, errors.New("no PRIVATE KEY (PKCS #8) PEM block in the key")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(keyBlock.Bytes)
	if err != nil {
		return nil, err
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("a %T cannot sign", parsed)
	}
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		return nil, errors.New("the key is not the certificate's")
	}
	return &authority{cert: cert, key: key, certPEM: pem.EncodeToMemory(certBlock)}, nil
}
