package validate

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"time"
)

// ClientCertificate checks that cert holds a parsable, currently valid
// leaf with a CN and a private key, and returns the leaf.
func ClientCertificate(field string, cert tls.Certificate, now time.Time) (*x509.Certificate, error) {
	if len(cert.Certificate) == 0 {
		return nil, fmt.Errorf("%s is empty (no certificate; see symauth.ParsePKCS12 and symauth.ParsePEM)", field)
	}
	if cert.PrivateKey == nil {
		return nil, fmt.Errorf("%s has no private key", field)
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s: the certificate cannot be parsed: %w", field, err)
		}
	}
	switch {
	case leaf.Subject.CommonName == "":
		return nil, fmt.Errorf("%s has an empty subject CN; it must be the bot's username", field)
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("%s (CN %q) expired on %s", field, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("%s (CN %q) is not valid before %s", field, leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if err := KeyMatchesCertificate(cert.PrivateKey, leaf); err != nil {
		return nil, fmt.Errorf("%s: %w", field, err)
	}
	return leaf, nil
}

// KeyMatchesCertificate checks that key is the private half of leaf's public key.
func KeyMatchesCertificate(key any, leaf *x509.Certificate) error {
	priv, ok := key.(crypto.Signer)
	if !ok {
		return errors.New("the private key is of an unsupported type")
	}
	public, err := publicKey(priv)
	if err != nil {
		return err
	}
	pub, ok := public.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !equalKeys(pub, leaf.PublicKey) {
		return fmt.Errorf("the private key does not belong to the certificate (CN %q)", leaf.Subject.CommonName)
	}
	return nil
}

// equalKeys is pub.Equal(other), false where Equal panics (a zero key).
func equalKeys(pub interface{ Equal(crypto.PublicKey) bool }, other crypto.PublicKey) (equal bool) {
	defer func() {
		if recover() != nil {
			equal = false
		}
	}()
	return pub.Equal(other)
}
