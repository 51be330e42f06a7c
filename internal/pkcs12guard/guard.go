// Package pkcs12guard refuses PKCS#12 files that would make the decoder,
// software.sslmate.com/src/go-pkcs12, spend unbounded time before it can tell
// a wrong password or a wrong file.
//
// A PKCS#12 file names its own key-derivation iteration counts — for its MAC
// and for each encrypted part — and the decoder runs them before it can tell
// anything: a 2.5 KB file asking for 2^40 iterations holds a core for days
// (40 hours of SHA-1, 90 of PBKDF2-HMAC-SHA-256, from timings of 10 million
// iterations). It then parses
// the private key it finds with crypto/x509, which an RSA key with a huge
// modulus holds for minutes (see internal/keysize).
//
// The guard reads each structure the decoder reads, into the decoder's own
// types (copied from go-pkcs12 v0.7.4) with encoding/asn1, as the decoder
// does: so it finds every cost parameter the decoder will honour, however it
// is encoded. (A PBKDF2 salt, for one, is read as any element, and checked
// only for its tag number, 4: a salt tagged [4] is a salt to the decoder.)
// Where the decoder cannot parse a structure, it fails before any work on
// what it holds, and the guard leaves it to say so.
//
// The cost parameters of go-pkcs12 v0.7.4, and where it reads them:
//
//   - the MacData (mac.go, doMac): the iterations of the PKCS#12 KDF for
//     HMAC-SHA-1, -256 and -512; for PBMAC1 (RFC 9579), the PBKDF2-params in
//     the algorithm's parameters: iterations, and the key length, which the
//     decoder itself keeps to 20 to 64 bytes;
//   - the encryption of each EncryptedData of the authenticated safe and of
//     each shrouded key bag (crypto.go, pbDecrypt): the iterations of the
//     pkcs-12PbeParams of the pbeWithSHAAnd… algorithms, or of the
//     PBKDF2-params of PBES2 (whose key length is the AES key's, 16 to 32
//     bytes, whatever the parameters say);
//   - the private key of the first key bag, parsed by crypto/x509.
//
// Salts cost time in proportion to their length only, as does the file's
// size; the callers bound that size.
package pkcs12guard

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"

	"github.com/symauth/symauth/internal/keysize"
)

// maxPKCS12Iterations is far above what tools write (OpenSSL: 2048, Java
// keytool: 10 000, go-pkcs12's encoders: 2048; OWASP's 2023 advice for
// PBKDF2-SHA-256: 600 000) and the most the decoder may run per key
// derivation. At 10 million, a derivation cost 1.4 s (the PKCS#12 KDF,
// SHA-1) to 3.5 s (PBKDF2, SHA-1) per output block on the machine this was
// measured on, with one to four blocks; a file may ask for five derivations
// (the MAC twice for the empty password, two encrypted contents, a key) and
// Check repeats the decoder's work, so a file at a 10 million limit
// everywhere would cost one to two minutes. At 1 million it costs a tenth
// of that, and no real file comes near.
const maxPKCS12Iterations = 1_000_000

// maxPBMAC1KeyLength is the longest PBMAC1 key the decoder derives (64
// bytes, SHA-512's output); the guard holds it there too.
const maxPBMAC1KeyLength = 64

// maxDecodeChainItems is the most items of an authenticated safe
// pkcs12.DecodeChain decrypts: it refuses more before decrypting any.
const maxDecodeChainItems = 2

// CheckIterations refuses a PFX whose MAC, or the encryption of one of its
// parts that can be read without the password, asks for more than
// maxPKCS12Iterations: the MacData, the EncryptedData of the authenticated
// safe and the shrouded key bags outside them. It is enough before
// pkcs12.DecodeTrustStore, which decrypts no key bag; before
// pkcs12.DecodeChain, use Check. Anything that is not a PFX is left for the
// decoder to refuse.
func CheckIterations(der []byte) error {
	f, ok := parse(der)
	if !ok {
		return nil
	}
	return f.checkReadable(&work{})
}

// Check is CheckIterations, and then what the password opens, before
// pkcs12.DecodeChain(der, password). Where the decoder will get past the MAC
// (which the guard verifies as the decoder does, at the cost CheckIterations
// bounded), it decrypts the encrypted SafeContents as the decoder will,
// checks the iterations of the shrouded key bags inside them, and checks the
// size of the private key the decoder will parse, decrypting it if it is
// shrouded. The errors hold counts and sizes, never the password or key
// material.
func Check(der []byte, password string) error {
	f, ok := parse(der)
	if !ok {
		return nil
	}
	w := &work{}
	if err := f.checkReadable(w); err != nil {
		return err
	}
	if !f.decodable || len(f.authSafe) == 0 || len(f.authSafe) > maxDecodeChainItems {
		return nil // the decoder refuses it before decrypting anything
	}
	p, ok := f.decryptionPassword(password)
	if !ok {
		return nil // the decoder stops at the MAC
	}
	bags, ok := f.bags(p)
	if !ok {
		return nil // the decoder fails on the contents
	}
	return checkBags(bags, p, w)
}

// A file is a PFX as the decoder reads it (pkcs12.go, getSafeContents).
type file struct {
	decodable bool   // version 3, the authenticated safe is data: the decoder goes on to the MAC
	content   []byte // what the MAC is computed over
	mac       macData
	authSafe  []contentInfo // nil when it cannot be parsed
}

func parse(der []byte) (*file, bool) {
	var pfx pfxPdu
	if err := unmarshal(der, &pfx); err != nil {
		return nil, false
	}
	f := &file{mac: pfx.MacData}
	var content asn1.RawValue
	if unmarshal(pfx.AuthSafe.Content.Bytes, &content) == nil {
		f.content = content.Bytes
		f.decodable = pfx.Version == 3 && pfx.AuthSafe.ContentType.Equal(oidDataContentType)
		if unmarshal(content.Bytes, &f.authSafe) != nil {
			f.authSafe = nil
		}
	}
	return f, true
}

// checkReadable checks the cost parameters readable without the password.
func (f *file) checkReadable(w *work) error {
	if err := checkMAC(&f.mac, w); err != nil {
		return err
	}
	for _, ci := range f.authSafe {
		switch {
		case ci.ContentType.Equal(oidDataContentType):
			var data []byte
			var bags []safeBag
			if unmarshal(ci.Content.Bytes, &data) != nil || unmarshal(data, &bags) != nil {
				continue
			}
			if err := checkShroudedBags(bags, w); err != nil {
				return err
			}
		case ci.ContentType.Equal(oidEncryptedDataContentType):
			var ed encryptedData
			if unmarshal(ci.Content.Bytes, &ed) != nil {
				continue
			}
			if err := checkEncryption("encrypted contents", ed.EncryptedContentInfo.ContentEncryptionAlgorithm, w); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkMAC checks the MacData. Its own iteration count is checked even for
// PBMAC1, which ignores it: no real file has a large one.
func checkMAC(m *macData, w *work) error {
	if !m.Mac.Algorithm.Algorithm.Equal(oidPBMAC1) {
		// The decoder computes the MAC twice for the empty password.
		return w.add("MAC", m.Iterations, 2*1)
	}
	if err := w.add("MAC", m.Iterations, 0); err != nil {
		return err
	}
	var params pbmac1Params
	if unmarshal(m.Mac.Algorithm.Parameters.FullBytes, &params) != nil || !params.Kdf.Algorithm.Equal(oidPBKDF2) {
		return nil
	}
	kdf, ok := parsePBKDF2(params.Kdf)
	if !ok {
		return nil
	}
	if kdf.KeyLength > maxPBMAC1KeyLength {
		return fmt.Errorf("the PKCS#12 file's MAC asks for a %d-byte key; symauth derives at most %d", kdf.KeyLength, maxPBMAC1KeyLength)
	}
	// PBKDF2 runs the count once per 20-byte block (HMAC-SHA-1, the worst
	// case) of the key, twice for the empty password.
	return w.add("MAC", kdf.Iterations, 2*max(1, (kdf.KeyLength+19)/20))
}

// checkEncryption checks the encryption of a part of the file, named by what.
func checkEncryption(what string, alg pkix.AlgorithmIdentifier, w *work) error {
	switch {
	case alg.Algorithm.Equal(oidPBEWithSHAAnd3KeyTripleDESCBC),
		alg.Algorithm.Equal(oidPBEWithSHAAnd128BitRC2CBC),
		alg.Algorithm.Equal(oidPBEWithSHAAnd40BitRC2CBC):
		var params pbeParams
		if unmarshal(alg.Parameters.FullBytes, &params) != nil {
			return nil
		}
		return w.add(what, params.Iterations, 3) // the PKCS#12 KDF: two blocks of key, one of IV
	case alg.Algorithm.Equal(oidPBES2):
		var params pbes2Params
		if unmarshal(alg.Parameters.FullBytes, &params) != nil || !params.Kdf.Algorithm.Equal(oidPBKDF2) {
			return nil
		}
		if kdf, ok := parsePBKDF2(params.Kdf); ok {
			return w.add(what, kdf.Iterations, 2) // an AES-256 key: two HMAC-SHA-1 blocks at worst
		}
	}
	return nil
}

// parsePBKDF2 reads PBKDF2-params as the decoder does. It does not check the
// salt's tag: whatever the decoder would make of it, the count is checked.
func parsePBKDF2(kdf pkix.AlgorithmIdentifier) (pbkdf2Params, bool) {
	var params pbkdf2Params
	err := unmarshal(kdf.Parameters.FullBytes, &params)
	return params, err == nil
}

// maxPKCS12Work bounds the whole file's key-derivation work: the sum, over
// every derivation the decoder may run, of its iterations times its blocks.
// Real files need well under a tenth of it (keytool: 10 000 iterations for
// the MAC and each part); at the limit a file costs a few seconds.
const maxPKCS12Work = 4_000_000

// work adds up the key-derivation work of a file; nil counts nothing.
type work struct{ total int64 }

// add checks a derivation of n iterations run blocks times (0: checked
// only against the per-derivation limit).
func (w *work) add(what string, n, blocks int) error {
	if n > maxPKCS12Iterations {
		return fmt.Errorf("the PKCS#12 file's %s asks for %d key-derivation iterations; symauth runs at most %d", what, n, maxPKCS12Iterations)
	}
	if w == nil || n <= 0 {
		return nil
	}
	if w.total += int64(n) * int64(blocks); w.total > maxPKCS12Work {
		return fmt.Errorf("the PKCS#12 file asks for %d key-derivation rounds in all (its %s included); symauth runs at most %d", w.total, what, maxPKCS12Work)
	}
	return nil
}

// checkShroudedBags checks the encryption of each shrouded key bag.
func checkShroudedBags(bags []safeBag, w *work) error {
	for _, bag := range bags {
		if !bag.Id.Equal(oidPKCS8ShroundedKeyBag) {
			continue
		}
		var info encryptedPrivateKeyInfo
		if unmarshal(bag.Value.Bytes, &info) != nil {
			continue
		}
		if err := checkEncryption("shrouded key", info.AlgorithmIdentifier, w); err != nil {
			return err
		}
	}
	return nil
}

// bags are the safe bags of the authenticated safe, the encrypted
// SafeContents decrypted with password, as getSafeContents returns them; false
// where the decoder fails with this password.
func (f *file) bags(password []byte) ([]safeBag, bool) {
	var bags []safeBag
	for _, ci := range f.authSafe {
		var data []byte
		switch {
		case ci.ContentType.Equal(oidDataContentType):
			if unmarshal(ci.Content.Bytes, &data) != nil {
				return nil, false
			}
		case ci.ContentType.Equal(oidEncryptedDataContentType):
			var ed encryptedData
			if unmarshal(ci.Content.Bytes, &ed) != nil || ed.Version != 0 {
				return nil, false
			}
			var ok bool
			if data, ok = decrypt(ed.EncryptedContentInfo, password); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
		var contents []safeBag
		if unmarshal(data, &contents) != nil {
			return nil, false
		}
		bags = append(bags, contents...)
	}
	return bags, true
}

// checkBags checks the shrouded key bags' encryption, and the first key bag's
// key, which DecodeChain parses (it refuses a second key bag before
// touching it).
func checkBags(bags []safeBag, password []byte, w *work) error {
	if err := checkShroudedBags(bags, w); err != nil {
		return err
	}
	for _, bag := range bags {
		switch {
		case bag.Id.Equal(oidKeyBag):
			return keysize.PKCS8(bag.Value.Bytes)
		case bag.Id.Equal(oidPKCS8ShroundedKeyBag):
			var info encryptedPrivateKeyInfo
			if unmarshal(bag.Value.Bytes, &info) != nil {
				return nil
			}
			key, ok := decrypt(info, password)
			var raw asn1.RawValue
			if !ok || unmarshal(key, &raw) != nil {
				return nil
			}
			return keysize.PKCS8(key)
		}
	}
	return nil
}

// unmarshal is the decoder's: asn1.Unmarshal, refusing trailing data.
func unmarshal(in []byte, out any) error {
	trailing, err := asn1.Unmarshal(in, out)
	if err != nil {
		return err
	}
	if len(trailing) != 0 {
		return errors.New("trailing data")
	}
	return nil
}

// pbkdf2Of reads a PBKDF2 key derivation as the decoder uses it: the
// algorithm must be PBKDF2 and its salt an OCTET STRING; its PRF is an HMAC
// of hmacHash's, SHA-1 when absent.
func pbkdf2Of(kdf pkix.AlgorithmIdentifier) (pbkdf2Params, func() hash.Hash, bool) {
	if !kdf.Algorithm.Equal(oidPBKDF2) {
		return pbkdf2Params{}, nil, false
	}
	params, ok := parsePBKDF2(kdf)
	if !ok || params.Salt.Tag != asn1.TagOctetString {
		return pbkdf2Params{}, nil, false
	}
	if params.Prf.Algorithm == nil {
		return params, sha1.New, true
	}
	prf, ok := hmacHash(params.Prf.Algorithm)
	return params, prf, ok
}

// hmacHash is the hash of the HMAC algorithm oid: hmacWithSHA1, SHA256 or
// SHA512, the ones the decoder supports.
func hmacHash(oid asn1.ObjectIdentifier) (func() hash.Hash, bool) {
	switch {
	case oid.Equal(oidHmacWithSHA1):
		return sha1.New, true
	case oid.Equal(oidHmacWithSHA256):
		return sha256.New, true
	case oid.Equal(oidHmacWithSHA512):
		return sha512.New, true
	}
	return nil, false
}
