package pkcs12guard_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/symauth/symauth/internal/pkcs12guard"
	"github.com/symauth/symauth/internal/testkit/craft"
)

// Through the exported API only: a count of 2^40 that CheckIterations can read
// without the password is refused wherever go-pkcs12 reads one (the PBMAC1
// MAC of RFC 9579, a shrouded key's PBES2, the encrypted contents' PBES2) and
// however its salt is tagged: go-pkcs12 takes any tag numbered 4 for an
// OCTET STRING.
func TestReadableCountsRefused(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "x"}, NotAfter: time.Now().Add(time.Hour)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	small := craft.PBKDF2{Iterations: 2048}
	for saltName, salt := range map[string]craft.Salt{
		"OCTET STRING": {}, "[4]": {Class: asn1.ClassContextSpecific}, "[APPLICATION 4]": {Class: asn1.ClassApplication},
		"[PRIVATE 4]": {Class: asn1.ClassPrivate}, "constructed [4]": {Class: asn1.ClassContextSpecific, Compound: true},
	} {
		huge := craft.PBKDF2{Iterations: craft.Huge, Salt: salt}
		for place, p := range map[string]craft.PKCS12{
			"MAC":               {MAC: craft.PBMAC1{KDF: huge}, Key: craft.PBES2{KDF: small}, Contents: craft.PBES2{KDF: small}},
			"shrouded key":      {MAC: craft.PBMAC1{KDF: small}, Key: craft.PBES2{KDF: huge}, Contents: craft.PBES2{KDF: small}},
			"encrypted content": {MAC: craft.PBMAC1{KDF: small}, Key: craft.PBES2{KDF: small}, Contents: craft.PBES2{KDF: huge}},
		} {
			p.Password, p.Certificate, p.PrivateKey = "changeit", cert, pkcs8
			err := pkcs12guard.CheckIterations(p.Encode())
			if err == nil || !strings.Contains(err.Error(), "1099511627776 key-derivation iterations") {
				t.Errorf("%s, salt %s: %v", place, saltName, err)
			}
		}
	}
}
