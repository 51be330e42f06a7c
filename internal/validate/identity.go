package validate

import (
	"crypto"
	"crypto/rsa"
	"fmt"
	"strings"
)

// minRSAKeyBits is the smallest RSA key accepted.
const minRSAKeyBits = 2048

// Username checks a username or app id: present, without surrounding white
// space. Its errors start with field.
func Username(field, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s is missing", field)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("%s has leading or trailing white space", field)
	}
	return nil
}

// RSASigner checks that s is a usable signer with an RSA public key of at
// least minRSAKeyBits bits. A typed-nil or zero key, or a signer whose
// Public panics, is an error, not a panic. Its errors start with field.
func RSASigner(field string, s crypto.Signer) error {
	if s == nil {
		return fmt.Errorf("%s is missing", field)
	}
	pub, err := publicKey(s)
	if err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	rsaPub, ok := pub.(*rsa.PublicKey)
	switch {
	case !ok:
		return fmt.Errorf("%s has a %T; Symphony needs an RSA key", field, pub)
	case rsaPub == nil || rsaPub.N == nil || rsaPub.N.Sign() <= 0:
		return fmt.Errorf("%s is an empty RSA key", field)
	}
	if bits := rsaPub.N.BitLen(); bits < minRSAKeyBits {
		return fmt.Errorf("%s is a %d-bit RSA key; at least %d bits are required", field, bits, minRSAKeyBits)
	}
	return nil
}

// publicKey calls s.Public, turning a panic (a typed-nil *rsa.PrivateKey
// panics there) into an error.
func publicKey(s crypto.Signer) (pub crypto.PublicKey, err error) {
	defer func() {
		if recover() != nil {
			err = fmt.Errorf("the %T key is nil or unusable", s)
		}
	}()
	return s.Public(), nil
}
