// Package craft builds, for tests, the hostile inputs that symauth's parsers
// must refuse at once: PKCS#12 files whose every key-derivation parameter is
// chosen, in every place go-pkcs12 reads one, and RSA private keys of any
// size. It imports only the standard library and golang.org/x/crypto/pbkdf2
// (the decoder's own PBKDF2), so that the tests of every package, those of
// internal/pkcs12guard included, can use it. Only tests import it.
package craft

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"math/big"

	"golang.org/x/crypto/pbkdf2"
)

// Huge is an iteration count that would take a core days: 2^40.
const Huge = 1 << 40

// maxRun is the most iterations this package runs itself. Above it, the
// ciphertext or MAC it writes is random: the decoder cannot tell before it has
// spent the iterations anyway.
const maxRun = 1 << 16

// OIDs of PKCS#12 (RFC 7292), PKCS#5 (RFC 8018) and PBMAC1 (RFC 9579).
var (
	OIDData          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDEncryptedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	OIDKeyBag        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	OIDShroudedBag   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	OIDCertBag       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	OIDX509Cert      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	OIDPBES2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	OIDPBKDF2        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	OIDPBMAC1        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	OIDHMACSHA256    = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	OIDSHA256        = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDAES256CBC     = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	OIDRSA           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
)

// TLV is one DER element of any class and tag around content.
func TLV(class, tag int, compound bool, content []byte) []byte {
	return must(asn1.Marshal(asn1.RawValue{Class: class, Tag: tag, IsCompound: compound, Bytes: content}))
}

// Seq is a SEQUENCE of the encoded elements.
func Seq(elements ...[]byte) []byte {
	var content []byte
	for _, e := range elements {
		content = append(content, e...)
	}
	return TLV(asn1.ClassUniversal, asn1.TagSequence, true, content)
}

// Octets is an OCTET STRING.
func Octets(b []byte) []byte { return TLV(asn1.ClassUniversal, asn1.TagOctetString, false, b) }

// Int is an INTEGER.
func Int(n int64) []byte { return must(asn1.Marshal(n)) }

// OID is an OBJECT IDENTIFIER.
func OID(o asn1.ObjectIdentifier) []byte { return must(asn1.Marshal(o)) }

// Explicit0 is [0] EXPLICIT around an encoded element.
func Explicit0(element []byte) []byte { return TLV(asn1.ClassContextSpecific, 0, true, element) }

// Null is NULL.
var Null = []byte{5, 0}

// AlgorithmIdentifier is an AlgorithmIdentifier; params nil: absent.
func AlgorithmIdentifier(o asn1.ObjectIdentifier, params []byte) []byte {
	return Seq(OID(o), params)
}

// Salt is how a PBKDF2 salt is tagged. go-pkcs12 reads the salt as any
// element and checks only that its tag number is 4, the number of OCTET
// STRING: so [4], [APPLICATION 4] and [PRIVATE 4], primitive or constructed,
// are salts to it too.
type Salt struct {
	Class    int  // asn1.ClassUniversal (the zero value), ClassContextSpecific …
	Compound bool // constructed: the salt's content is an OCTET STRING in it
}

// PBKDF2 is the PBKDF2-params of a PBES2 encryption or a PBMAC1 MAC, with
// HMAC-SHA-256 as its PRF.
type PBKDF2 struct {
	Iterations int64
	Salt       Salt
	KeyLength  int // 0: absent from PBES2, 32 in PBMAC1 (which requires one)
}

var saltBytes = []byte("sixteen byte slt")

// salt is the salt's content, which the decoder takes as the salt.
func (k PBKDF2) salt() []byte {
	if k.Salt.Compound {
		return Octets(saltBytes)
	}
	return saltBytes
}

func (k PBKDF2) params(keyLength int) []byte {
	fields := [][]byte{TLV(k.Salt.Class, asn1.TagOctetString, k.Salt.Compound, k.salt()), Int(k.Iterations)}
	if keyLength != 0 {
		fields = append(fields, Int(int64(keyLength)))
	}
	fields = append(fields, AlgorithmIdentifier(OIDHMACSHA256, Null))
	return Seq(fields...)
}

// key derives length bytes from password as go-pkcs12 does for PBES2 and
// PBMAC1 (the password as UTF-8), or returns nil above maxRun iterations or
// 64 bytes.
func (k PBKDF2) key(password string, length int) []byte {
	if k.Iterations > maxRun || length > 64 {
		return nil
	}
	return pbkdf2.Key([]byte(password), k.salt(), int(k.Iterations), length, sha256.New)
}

// Encryption encrypts a part of the file: a SafeContents or a private key.
type Encryption interface {
	// Algorithm is the encoded AlgorithmIdentifier.
	Algorithm() []byte
	// Encrypt encrypts plaintext with password, as the decoder will decrypt
	// it; random bytes when the KDF is beyond what tests can run.
	Encrypt(plaintext []byte, password string) []byte
}

// PBES2 is PBES2 with PBKDF2-HMAC-SHA-256 and AES-256-CBC, as go-pkcs12's
// Modern2023 and OpenSSL 3 write.
type PBES2 struct{ KDF PBKDF2 }

var iv = []byte("sixteen bytes iv")

// Algorithm implements Encryption.
func (e PBES2) Algorithm() []byte {
	return AlgorithmIdentifier(OIDPBES2, Seq(
		AlgorithmIdentifier(OIDPBKDF2, e.KDF.params(e.KDF.KeyLength)),
		AlgorithmIdentifier(OIDAES256CBC, Octets(iv))))
}

// Encrypt implements Encryption.
func (e PBES2) Encrypt(plaintext []byte, password string) []byte {
	key := e.KDF.key(password, 32)
	if key == nil {
		return random(len(plaintext)/16*16 + 16)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	return CBC(block, iv, plaintext)
}

// CBC pads plaintext (PKCS #7) and encrypts it with block in CBC mode.
func CBC(block cipher.Block, iv, plaintext []byte) []byte {
	n := block.BlockSize() - len(plaintext)%block.BlockSize()
	out := append([]byte(nil), plaintext...)
	for range n {
		out = append(out, byte(n))
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, out)
	return out
}

// MAC writes a PFX's MacData.
type MAC interface {
	// MacData is the encoded MacData over authSafe, the content of the
	// authenticated safe's OCTET STRING.
	MacData(authSafe []byte, password string) []byte
}

// PBMAC1 is a PBMAC1 MAC (RFC 9579) with PBKDF2-HMAC-SHA-256 and
// HMAC-SHA-256, as go-pkcs12's Modern2026 writes.
type PBMAC1 struct{ KDF PBKDF2 }

// MacData implements MAC.
func (m PBMAC1) MacData(authSafe []byte, password string) []byte {
	keyLength := m.KDF.KeyLength
	if keyLength == 0 {
		keyLength = 32
	}
	digest := random(32)
	if key := m.KDF.key(password, keyLength); key != nil {
		h := hmac.New(sha256.New, key)
		h.Write(authSafe)
		digest = h.Sum(nil)
	}
	alg := AlgorithmIdentifier(OIDPBMAC1, Seq(
		AlgorithmIdentifier(OIDPBKDF2, m.KDF.params(keyLength)),
		AlgorithmIdentifier(OIDHMACSHA256, Null)))
	// RFC 9579: the MacData's own salt and iterations are not used.
	return Seq(Seq(alg, Octets(digest)), Octets([]byte("NOT USED")), Int(1))
}

// ClassicMAC is a MacData of RFC 7292 (HMAC-SHA-256, its key from the PKCS#12
// KDF) with a random digest: for a count too large to run.
type ClassicMAC struct{ Iterations int64 }

// MacData implements MAC.
func (m ClassicMAC) MacData([]byte, string) []byte {
	return Seq(Seq(AlgorithmIdentifier(OIDSHA256, Null), Octets(random(32))), Octets(saltBytes), Int(m.Iterations))
}

// PKCS12 describes a PFX holding one certificate and one private key, laid
// out as OpenSSL does: a SafeContents holding the certificate bag (encrypted
// with Contents, or not) and another, unencrypted, holding the key bag
// (shrouded with Key, or not). KeyWithCertificate puts the key bag in the
// certificate's SafeContents instead, where it is encrypted twice.
type PKCS12 struct {
	Password           string
	Certificate        []byte     // DER
	PrivateKey         []byte     // PKCS #8 DER
	MAC                MAC        // nil: no MacData (the decoder then needs the empty password)
	Key                Encryption // nil: a keyBag, unencrypted
	Contents           Encryption // nil: the certificate's SafeContents is not encrypted
	KeyWithCertificate bool
}

// Encode returns the PFX in DER.
func (p PKCS12) Encode() []byte {
	certBag := Seq(OID(OIDCertBag), Explicit0(Seq(OID(OIDX509Cert), Explicit0(Octets(p.Certificate)))))
	keyBag := Seq(OID(OIDKeyBag), Explicit0(p.PrivateKey))
	if p.Key != nil {
		shrouded := Seq(p.Key.Algorithm(), Octets(p.Key.Encrypt(p.PrivateKey, p.Password)))
		keyBag = Seq(OID(OIDShroudedBag), Explicit0(shrouded))
	}
	certContents := []([]byte){certBag}
	if p.KeyWithCertificate {
		certContents = append(certContents, keyBag)
	}
	infos := [][]byte{p.contentInfo(Seq(certContents...), p.Contents)}
	if !p.KeyWithCertificate {
		infos = append(infos, p.contentInfo(Seq(keyBag), nil))
	}
	authSafe := Seq(infos...)
	fields := [][]byte{Int(3), Seq(OID(OIDData), Explicit0(Octets(authSafe)))}
	if p.MAC != nil {
		fields = append(fields, p.MAC.MacData(authSafe, p.Password))
	}
	return Seq(fields...)
}

// contentInfo is a ContentInfo of type data holding safeContents, or of type
// encryptedData holding it encrypted with e.
func (p PKCS12) contentInfo(safeContents []byte, e Encryption) []byte {
	if e == nil {
		return Seq(OID(OIDData), Explicit0(Octets(safeContents)))
	}
	encrypted := TLV(asn1.ClassContextSpecific, 0, false, e.Encrypt(safeContents, p.Password))
	return Seq(OID(OIDEncryptedData), Explicit0(Seq(Int(0), Seq(OID(OIDData), e.Algorithm(), encrypted))))
}

// RSAKey returns an RSAPrivateKey (PKCS #1) whose modulus is a number of
// bits bits and whose other numbers are small and unrelated to it, as an
// attacker would send: crypto/x509 spends time superlinear in bits before it
// finds the key inconsistent.
func RSAKey(bits int) []byte { return RSAKeyWith(bits, 0, 0, 0, 0, 0, 0) }

// RSAKeyWith returns an RSAPrivateKey of random odd numbers, in the order of
// PKCS #1 (version 0, N, E = 65537, D, P, Q, Dp, Dq, Qinv), each of the given
// number of bits (0: the number 3), and extra OtherPrimeInfos of three
// numbers of primeBits each.
func RSAKeyWith(nBits, dBits, pBits, qBits, crtBits, extra, primeBits int) []byte {
	num := func(bits int) []byte {
		if bits == 0 {
			return Int(3)
		}
		v := new(big.Int).SetBytes(random((bits + 7) / 8))
		for i := v.BitLen() - 1; i >= bits; i-- {
			v.SetBit(v, i, 0)
		}
		v.SetBit(v, bits-1, 1)
		v.SetBit(v, 0, 1) // odd, as a modulus and primes are: crypto/rsa refuses an even one at once
		return must(asn1.Marshal(v))
	}
	fields := [][]byte{Int(0), num(nBits), Int(65537), num(dBits), num(pBits), num(qBits), num(crtBits), num(crtBits), num(crtBits)}
	if extra > 0 {
		var others [][]byte
		for range extra {
			others = append(others, Seq(num(primeBits), num(primeBits), num(primeBits)))
		}
		fields = append(fields, Seq(others...))
	}
	return Seq(fields...)
}

// PKCS8 wraps an RSAPrivateKey in a PrivateKeyInfo (PKCS #8).
func PKCS8(rsaPrivateKey []byte) []byte {
	return Seq(Int(0), AlgorithmIdentifier(OIDRSA, Null), Octets(rsaPrivateKey))
}

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
