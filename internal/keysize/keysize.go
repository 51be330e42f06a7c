// Package keysize refuses RSA private keys that would make crypto/x509 spend
// unbounded time and memory before it can tell they are wrong.
//
// crypto/x509 validates and precomputes an RSA key as it parses it, in time
// that grows faster than the square of its numbers' sizes: a 125 KB key
// whose 1,000,000-bit modulus is inconsistent with its primes holds a core
// for 20 seconds before it is refused, and a 1.2 MB one for more than ten
// minutes. The checks here read the same
// structure the same way (encoding/asn1 into the types crypto/x509 uses), look
// only at the sizes of its numbers, and refuse what no real key has, so that
// crypto/x509 only ever sees keys it can refuse or accept in about a second.
package keysize

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
)

// MaxRSABits is the largest RSA modulus accepted: far above the keys in use
// (2048 to 4096 bits; the CLI advises 4096).
const MaxRSABits = 16384

// maxPrimeBits is the largest prime factor accepted: half of MaxRSABits. A
// real key's primes are about half its modulus each; crypto/x509 spends the
// cube of a prime's size on a key written without its CRT values, 1.7 s for
// an 8192-bit prime and 11 s for a 16384-bit one.
const maxPrimeBits = MaxRSABits / 2

// maxPrimes is the most prime factors accepted (OpenSSL writes at most 5).
const maxPrimes = 16

// pkcs1PrivateKey and pkcs1AdditionalRSAPrime are crypto/x509's types (Go
// 1.26, pkcs1.go), so that encoding/asn1 accepts exactly what it accepts.
type pkcs1PrivateKey struct {
	Version int
	N       *big.Int
	E       int
	D       *big.Int
	P       *big.Int
	Q       *big.Int
	Dp      *big.Int `asn1:"optional"`
	Dq      *big.Int `asn1:"optional"`
	Qinv    *big.Int `asn1:"optional"`

	AdditionalPrimes []pkcs1AdditionalRSAPrime `asn1:"optional,omitempty"`
}

type pkcs1AdditionalRSAPrime struct {
	Prime *big.Int
	Exp   *big.Int
	Coeff *big.Int
}

// pkcs8 is crypto/x509's type (pkcs8.go).
type pkcs8 struct {
	Version    int
	Algo       pkix.AlgorithmIdentifier
	PrivateKey []byte
}

var oidPublicKeyRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}

// PKCS1 checks an RSAPrivateKey (PKCS #1, "BEGIN RSA PRIVATE KEY") before
// x509.ParsePKCS1PrivateKey reads it: a modulus of at most MaxRSABits, at
// most 16 primes of at most MaxRSABits/2 bits each, and no other number
// larger than the modulus. DER that is not an RSAPrivateKey is left for
// crypto/x509 to refuse, which it does at once. The errors hold sizes only.
func PKCS1(der []byte) error {
	var key pkcs1PrivateKey
	if _, err := asn1.Unmarshal(der, &key); err != nil {
		return nil // crypto/x509 fails the same way, before any arithmetic
	}
	bits := key.N.BitLen()
	if bits > MaxRSABits {
		return fmt.Errorf("the RSA key is %d bits; symauth accepts at most %d", bits, MaxRSABits)
	}
	if n := 2 + len(key.AdditionalPrimes); n > maxPrimes {
		return fmt.Errorf("the RSA key has %d prime factors; symauth accepts at most %d", n, maxPrimes)
	}
	primes := []*big.Int{key.P, key.Q}
	others := []*big.Int{key.D, key.Dp, key.Dq, key.Qinv}
	for _, a := range key.AdditionalPrimes {
		primes = append(primes, a.Prime)
		others = append(others, a.Exp, a.Coeff)
	}
	for _, p := range primes {
		if b := p.BitLen(); b > maxPrimeBits {
			return fmt.Errorf("the RSA key has a %d-bit prime factor; symauth accepts at most %d bits", b, maxPrimeBits)
		}
	}
	for _, v := range others {
		if v != nil && v.BitLen() > bits {
			return fmt.Errorf("the %d-bit RSA key is malformed: it holds a number larger than its modulus", bits)
		}
	}
	return nil
}

// PKCS8 checks a PrivateKeyInfo (PKCS #8, "BEGIN PRIVATE KEY") before
// x509.ParsePKCS8PrivateKey reads it: the RSA key in it as PKCS1 does. Other
// algorithms (EC, Ed25519, X25519) have fixed sizes and are not checked.
func PKCS8(der []byte) error {
	var key pkcs8
	if _, err := asn1.Unmarshal(der, &key); err != nil || !key.Algo.Algorithm.Equal(oidPublicKeyRSA) {
		return nil
	}
	return PKCS1(key.PrivateKey)
}

// PrivateKey checks der in each form tls.X509KeyPair tries, whatever its PEM
// type says: PKCS #1, then PKCS #8 (SEC 1 EC keys need no check).
func PrivateKey(der []byte) error {
	if err := PKCS1(der); err != nil {
		return err
	}
	return PKCS8(der)
}
