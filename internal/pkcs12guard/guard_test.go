package pkcs12guard

import (
	"crypto/des"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"hash"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/pbkdf2"
	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/symauth/symauth/internal/testkit/craft"
)

const password = "test-only-password"

// identity is a throw-away P-256 key and its self-signed certificate.
type identity struct {
	key   *ecdsa.PrivateKey
	leaf  *x509.Certificate
	pkcs8 []byte
}

func newIdentity(t testing.TB) identity {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "guard-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return identity{key, leaf, pkcs8}
}

// legacyPBE is a pbeWithSHAAnd… encryption (RFC 7292), as OpenSSL 1.x and
// Java write: the PKCS#12 KDF with SHA-1, and 3DES or RC2.
type legacyPBE struct {
	oid        asn1.ObjectIdentifier
	keyLen     int
	iterations int64
	noPassword bool // encrypt with no password at all, as some tools do for ""
}

var legacySalt = []byte("8 bytes!")

func (e legacyPBE) Algorithm() []byte {
	return craft.AlgorithmIdentifier(e.oid, craft.Seq(craft.Octets(legacySalt), craft.Int(e.iterations)))
}

func (e legacyPBE) Encrypt(plaintext []byte, pw string) []byte {
	if e.iterations > 1<<16 {
		out := make([]byte, len(plaintext)/8*8+8)
		_, _ = rand.Read(out)
		return out
	}
	var encoded []byte
	if !e.noPassword {
		encoded, _ = bmpStringZeroTerminated(pw)
	}
	key := pbkdf(sha1Sum, 20, 64, legacySalt, encoded, int(e.iterations), 1, e.keyLen)
	iv := pbkdf(sha1Sum, 20, 64, legacySalt, encoded, int(e.iterations), 2, 8)
	var block interface {
		BlockSize() int
		Encrypt(dst, src []byte)
		Decrypt(dst, src []byte)
	}
	var err error
	if e.keyLen == 24 {
		block, err = des.NewTripleDESCipher(key)
	} else {
		block, err = newRC2(key, len(key)*8)
	}
	if err != nil {
		panic(err)
	}
	return craft.CBC(block, iv, plaintext)
}

func tripleDES(iterations int64) legacyPBE {
	return legacyPBE{oid: oidPBEWithSHAAnd3KeyTripleDESCBC, keyLen: 24, iterations: iterations}
}

func rc2_40(iterations int64) legacyPBE {
	return legacyPBE{oid: oidPBEWithSHAAnd40BitRC2CBC, keyLen: 5, iterations: iterations}
}

func rc2_128(iterations int64) legacyPBE {
	return legacyPBE{oid: oidPBEWithSHAAnd128BitRC2CBC, keyLen: 16, iterations: iterations}
}

// sha1MAC is RFC 7292's MAC: HMAC-SHA-1 keyed by the PKCS#12 KDF, with no
// password at all when noPassword (as some tools write for "").
type sha1MAC struct {
	iterations int64
	noPassword bool
}

func (m sha1MAC) MacData(authSafe []byte, pw string) []byte {
	var encoded []byte
	if !m.noPassword {
		encoded, _ = bmpStringZeroTerminated(pw)
	}
	digest := make([]byte, 20) // for a count too large to run
	if m.iterations <= 1<<16 {
		key := pbkdf(sha1Sum, 20, 64, legacySalt, encoded, int(m.iterations), 3, 20)
		h := hmac.New(sha1.New, key)
		h.Write(authSafe)
		digest = h.Sum(nil)
	}
	return craft.Seq(craft.Seq(craft.AlgorithmIdentifier(asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, craft.Null), craft.Octets(digest)),
		craft.Octets(legacySalt), craft.Int(m.iterations))
}

func pbes2(iterations int64, salt craft.Salt) craft.PBES2 {
	return craft.PBES2{KDF: craft.PBKDF2{Iterations: iterations, Salt: salt}}
}

func pbmac1(iterations int64, salt craft.Salt) craft.PBMAC1 {
	return craft.PBMAC1{KDF: craft.PBKDF2{Iterations: iterations, Salt: salt}}
}

// The tags a PBKDF2 salt may have for the decoder: any whose number is 4.
var (
	octetSalt       = craft.Salt{}
	contextSalt     = craft.Salt{Class: asn1.ClassContextSpecific}
	applicationSalt = craft.Salt{Class: asn1.ClassApplication}
	privateSalt     = craft.Salt{Class: asn1.ClassPrivate, Compound: true}
	compoundSalt    = craft.Salt{Class: asn1.ClassContextSpecific, Compound: true}
)

// attack is a file asking for n iterations in one place (n = craft.Huge
// for the attack), laid out so that with a small n go-pkcs12 decodes it: the
// decoder honours the count in that place, encoded that way.
type attack struct {
	name     string
	password string // "": password
	file     func(id identity, n int64) craft.PKCS12
	hidden   bool // behind the password: only Check sees it
}

func attacks() []attack {
	std := func(id identity) craft.PKCS12 {
		return craft.PKCS12{
			Password: password, Certificate: id.leaf.Raw, PrivateKey: id.pkcs8,
			MAC: pbmac1(1000, octetSalt), Key: pbes2(1000, octetSalt), Contents: pbes2(1000, octetSalt),
		}
	}
	var out []attack
	for name, salt := range map[string]craft.Salt{
		"OCTET STRING": octetSalt, "[4]": contextSalt, "[APPLICATION 4]": applicationSalt,
		"constructed [PRIVATE 4]": privateSalt, "constructed [4]": compoundSalt,
	} {
		out = append(out,
			attack{name: "PBMAC1 MAC, salt " + name, file: func(id identity, n int64) craft.PKCS12 {
				p := std(id)
				p.MAC = pbmac1(n, salt)
				return p
			}},
			attack{name: "PBES2 shrouded key, salt " + name, file: func(id identity, n int64) craft.PKCS12 {
				p := std(id)
				p.Key = pbes2(n, salt)
				return p
			}},
			attack{name: "PBES2 encrypted contents, salt " + name, file: func(id identity, n int64) craft.PKCS12 {
				p := std(id)
				p.Contents = pbes2(n, salt)
				return p
			}},
			attack{name: "PBES2 shrouded key in PBES2 contents, salt " + name, hidden: true, file: func(id identity, n int64) craft.PKCS12 {
				p := std(id)
				p.Key, p.KeyWithCertificate = pbes2(n, salt), true
				return p
			}},
		)
	}
	for name, enc := range map[string]func(int64) legacyPBE{"3DES": tripleDES, "RC2-40": rc2_40, "RC2-128": rc2_128} {
		out = append(out,
			attack{name: name + " shrouded key", file: func(id identity, n int64) craft.PKCS12 {
				p := std(id)
				p.Key = enc(n)
				return p
			}},
			attack{name: name + " encrypted contents", file: func(id identity, n int64) craft.PKCS12 {
				p := std(id)
				p.Contents = enc(n)
				return p
			}},
			attack{name: "PBES2 shrouded key in " + name + " contents", hidden: true, file: func(id identity, n int64) craft.PKCS12 {
				p := std(id)
				p.Contents, p.Key, p.KeyWithCertificate = enc(1000), pbes2(n, contextSalt), true
				return p
			}},
			attack{name: name + " shrouded key in " + name + " contents", hidden: true, file: func(id identity, n int64) craft.PKCS12 {
				p := std(id)
				p.Contents, p.Key, p.KeyWithCertificate = enc(1000), enc(n), true
				return p
			}},
		)
	}
	return append(out,
		attack{name: "SHA-1 MAC", file: func(id identity, n int64) craft.PKCS12 {
			p := std(id)
			p.MAC = sha1MAC{iterations: n}
			return p
		}},
		attack{name: "SHA-256 MAC", file: func(id identity, n int64) craft.PKCS12 {
			p := std(id)
			p.MAC = craft.ClassicMAC{Iterations: n}
			if n < craft.Huge {
				p.MAC = sha1MAC{iterations: n} // craft writes no real SHA-256 MAC
			}
			return p
		}},
		attack{name: "no MAC, empty password, PBES2 key in PBES2 contents", password: "-", hidden: true, file: func(id identity, n int64) craft.PKCS12 {
			p := std(id)
			p.Password, p.MAC, p.Key, p.KeyWithCertificate = "", nil, pbes2(n, contextSalt), true
			return p
		}},
		// A MAC and contents made with no password at all: the decoder
		// tries that when the MAC fails for the empty password.
		attack{name: "no-password MAC, PBES2 key in 3DES contents", password: "-", hidden: true, file: func(id identity, n int64) craft.PKCS12 {
			p := std(id)
			p.Password, p.MAC, p.KeyWithCertificate = "", sha1MAC{iterations: 1000, noPassword: true}, true
			p.Contents = legacyPBE{oid: oidPBEWithSHAAnd3KeyTripleDESCBC, keyLen: 24, iterations: 1000, noPassword: true}
			p.Key = pbes2(n, contextSalt)
			return p
		}},
	)
}

// Each attack file is refused, by CheckIterations when the count can be read
// without the password and by Check always, whatever the password; the same
// file with 1000 iterations decodes.
func TestAttacksRefused(t *testing.T) {
	id := newIdentity(t)
	for _, a := range attacks() {
		t.Run(a.name, func(t *testing.T) {
			pw := password
			if a.password == "-" {
				pw = ""
			}
			if _, _, _, err := pkcs12.DecodeChain(a.file(id, 1000).Encode(), pw); err != nil {
				t.Fatalf("with 1000 iterations, go-pkcs12 does not decode the file: %v", err)
			}
			bomb := a.file(id, craft.Huge).Encode()
			err := CheckIterations(bomb)
			if a.hidden != (err == nil) {
				t.Errorf("CheckIterations: %v", err)
			}
			passwords := []string{pw}
			if !a.hidden {
				passwords = append(passwords, "wrong", "")
			}
			for _, p := range passwords {
				err := Check(bomb, p)
				if err == nil || !strings.Contains(err.Error(), "asks for 1099511627776 key-derivation iterations; symauth runs at most 1000000") {
					t.Fatalf("Check(password %q): %v", p, err)
				}
				if p != "" && strings.Contains(err.Error(), p) {
					t.Fatalf("the error shows the password: %v", err)
				}
			}
			if err := Check(a.file(id, 1000).Encode(), pw); err != nil {
				t.Errorf("with 1000 iterations: %v", err)
			}
			if a.hidden {
				// With another password the decoder stops at the MAC (or
				// at its absence), and so does the guard.
				if err := Check(bomb, "wrong"); err != nil {
					t.Errorf("Check(wrong password): %v", err)
				}
				done := make(chan error, 1)
				go func() { _, _, _, err := pkcs12.DecodeChain(bomb, "wrong"); done <- err }()
				select {
				case err := <-done:
					if err == nil {
						t.Error("go-pkcs12 decodes the file with a wrong password")
					}
				case <-time.After(10 * time.Second):
					t.Fatal("go-pkcs12 has not stopped at the MAC after 10 s")
				}
			}
		})
	}
}

// Where the count sits in the MacData decides how the file is read: a PBMAC1
// file's own MacData.iterations is checked too, though unused.
func TestMACFields(t *testing.T) {
	id := newIdentity(t)
	p := craft.PKCS12{Password: password, Certificate: id.leaf.Raw, PrivateKey: id.pkcs8, MAC: pbmac1(1000, octetSalt)}
	der := p.Encode()
	if err := Check(der, password); err != nil {
		t.Fatal(err)
	}
	p.MAC = craft.PBMAC1{KDF: craft.PBKDF2{Iterations: 1000, KeyLength: 1 << 20}}
	if err := CheckIterations(p.Encode()); err == nil || !strings.Contains(err.Error(), "asks for a 1048576-byte key; symauth derives at most 64") {
		t.Fatalf("huge PBMAC1 key: %v", err)
	}
	if err := CheckIterations(craft.Seq(craft.Int(3), craft.Seq(craft.OID(craft.OIDData), craft.Explicit0(craft.Octets(craft.Seq()))),
		craft.Seq(craft.Seq(craft.AlgorithmIdentifier(craft.OIDPBMAC1, craft.Null), craft.Octets(nil)), craft.Octets(nil), craft.Int(craft.Huge)))); err == nil {
		t.Fatal("a PBMAC1 MacData's own huge count passes")
	}
}

// The private key the decoder parses is checked for size: in a key bag,
// shrouded, in the encrypted contents. Only the first key bag is: the
// decoder refuses a second before parsing it.
func TestOversizedKeyRefused(t *testing.T) {
	id := newIdentity(t)
	huge := craft.PKCS8(craft.RSAKey(100_000))
	for name, p := range map[string]craft.PKCS12{
		"key bag":                  {MAC: pbmac1(1000, octetSalt)},
		"shrouded key":             {MAC: pbmac1(1000, octetSalt), Key: pbes2(1000, octetSalt)},
		"key bag in contents":      {MAC: pbmac1(1000, octetSalt), Contents: tripleDES(1000), KeyWithCertificate: true},
		"shrouded key in contents": {MAC: pbmac1(1000, octetSalt), Contents: rc2_40(1000), Key: tripleDES(1000), KeyWithCertificate: true},
	} {
		p.Password, p.Certificate, p.PrivateKey = password, id.leaf.Raw, huge
		if err := CheckIterations(p.Encode()); err != nil {
			t.Errorf("%s: CheckIterations: %v", name, err)
		}
		if err := Check(p.Encode(), password); err == nil || err.Error() != "the RSA key is 100000 bits; symauth accepts at most 16384" {
			t.Errorf("%s: %v", name, err)
		}
		p.PrivateKey = id.pkcs8
		if err := Check(p.Encode(), password); err != nil {
			t.Errorf("%s, a real key: %v", name, err)
		}
	}
}

// Files written by tools pass, and the guard opens their encrypted parts as
// the decoder does: it finds every certificate bag and the key.
func TestRealFilesPass(t *testing.T) {
	id := newIdentity(t)
	ca := newIdentity(t)
	files := map[string][]byte{}
	for name, enc := range map[string]*pkcs12.Encoder{
		"Modern2023": pkcs12.Modern2023, "Modern2026": pkcs12.Modern2026,
		"LegacyRC2": pkcs12.LegacyRC2, "LegacyDES": pkcs12.LegacyDES,
		"Modern2023, 100 000 iterations": pkcs12.Modern2023.WithIterations(100_000),
	} {
		der, err := enc.Encode(id.key, id.leaf, []*x509.Certificate{ca.leaf}, password)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = der
	}
	if _, err := exec.LookPath("openssl"); err == nil {
		dir := t.TempDir()
		certFile, keyFile, out := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem"), filepath.Join(dir, "o.p12")
		writePEM(t, certFile, "CERTIFICATE", append(append([]byte(nil), id.leaf.Raw...), ca.leaf.Raw...))
		writePEM(t, keyFile, "PRIVATE KEY", id.pkcs8)
		if msg, err := exec.Command("openssl", "pkcs12", "-export", "-in", certFile, "-inkey", keyFile, "-out", out, "-passout", "pass:"+password).CombinedOutput(); err != nil {
			t.Fatalf("openssl: %v %s", err, msg)
		}
		files["openssl"] = readFile(t, out)
	}
	for name, der := range files {
		if err := CheckIterations(der); err != nil {
			t.Errorf("%s: CheckIterations: %v", name, err)
		}
		if err := Check(der, password); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		assertOpens(t, name, der, password, 2)
	}
	passwordless, err := pkcs12.Passwordless.Encode(id.key, id.leaf, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := Check(passwordless, ""); err != nil {
		t.Errorf("Passwordless: %v", err)
	}
	store, err := pkcs12.Modern2023.EncodeTrustStore([]*x509.Certificate{id.leaf, ca.leaf}, password)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckIterations(store); err != nil {
		t.Errorf("trust store: %v", err)
	}
}

// The BDK sample identity.p12 (OpenSSL 1.x: RC2-40 contents, 3DES key, SHA-1
// MAC, 2048 iterations) passes and opens. It is looked for where bdkconfig's
// tests look (shared/bdk-samples beside the repository, or /work/shared),
// and in $SYMAUTH_BDK_SAMPLES.
func TestBDKSample(t *testing.T) {
	var der []byte
	for _, dir := range []string{os.Getenv("SYMAUTH_BDK_SAMPLES"), filepath.Join("..", "..", "..", "shared", "bdk-samples"), "/work/shared/bdk-samples"} {
		if data, err := os.ReadFile(filepath.Join(dir, "credentials", "identity.p12")); dir != "" && err == nil {
			der = data
			break
		}
	}
	if der == nil {
		t.Skip("no BDK samples")
	}
	if err := Check(der, "password"); err != nil {
		t.Fatal(err)
	}
	assertOpens(t, "identity.p12", der, "password", 1)
}

// assertOpens checks that the guard decrypts der as the decoder does: the
// same number of certificates, and the key, which parses.
func assertOpens(t *testing.T, name string, der []byte, pw string, certs int) {
	t.Helper()
	if _, _, ca, err := pkcs12.DecodeChain(der, pw); err != nil || len(ca)+1 != certs {
		t.Fatalf("%s: go-pkcs12: %v, %d CA certificates", name, err, len(ca))
	}
	f, ok := parse(der)
	if !ok {
		t.Fatalf("%s: not parsed", name)
	}
	if _, ok := f.decryptionPassword(pw + "x"); ok {
		t.Fatalf("%s: the guard finds the MAC right for a wrong password", name)
	}
	p, ok := f.decryptionPassword(pw)
	if !ok {
		t.Fatalf("%s: the guard finds the MAC wrong", name)
	}
	bags, ok := f.bags(p)
	if !ok {
		t.Fatalf("%s: the guard cannot open the encrypted contents", name)
	}
	var gotCerts, keys int
	for _, bag := range bags {
		switch {
		case bag.Id.Equal(asn1.ObjectIdentifier(craft.OIDCertBag)):
			gotCerts++
		case bag.Id.Equal(oidPKCS8ShroundedKeyBag):
			var info encryptedPrivateKeyInfo
			if unmarshal(bag.Value.Bytes, &info) != nil {
				t.Fatalf("%s: shrouded key bag unreadable", name)
			}
			key, ok := decrypt(info, p)
			if !ok {
				t.Fatalf("%s: the guard cannot decrypt the key", name)
			}
			if _, err := x509.ParsePKCS8PrivateKey(key); err != nil {
				t.Fatalf("%s: the decrypted key: %v", name, err)
			}
			keys++
		}
	}
	if gotCerts != certs || keys != 1 {
		t.Fatalf("%s: the guard finds %d certificates and %d shrouded keys; want %d and 1", name, gotCerts, keys, certs)
	}
}

// What is not a PFX, or not one the decoder reads, is left to the decoder.
func TestNotPKCS12(t *testing.T) {
	id := newIdentity(t)
	good := craft.PKCS12{Password: password, Certificate: id.leaf.Raw, PrivateKey: id.pkcs8, MAC: pbmac1(1000, octetSalt)}.Encode()
	for name, der := range map[string][]byte{
		"empty": nil, "garbage": []byte("not DER at all"), "truncated": good[:len(good)/2],
		"trailing data":           append(append([]byte(nil), good...), 0),
		"authSafe not a SEQUENCE": craft.Seq(craft.Int(3), craft.Seq(craft.OID(craft.OIDData), craft.Explicit0(craft.Octets(craft.Int(1))))),
		"no authSafe content":     craft.Seq(craft.Int(3), craft.Seq(craft.OID(craft.OIDData))),
		"three items":             threeItems(id),
		"odd content types": craft.Seq(craft.Int(3), craft.Seq(craft.OID(craft.OIDData), craft.Explicit0(craft.Octets(craft.Seq(
			craft.Seq(craft.OID(craft.OIDData), craft.Explicit0(craft.Int(1))),
			craft.Seq(craft.OID(craft.OIDEncryptedData), craft.Explicit0(craft.Int(1))),
			craft.Seq(craft.OID(craft.OIDRSA), craft.Explicit0(craft.Int(1)))))))),
	} {
		if err := CheckIterations(der); err != nil {
			t.Errorf("%s: CheckIterations: %v", name, err)
		}
		if err := Check(der, password); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if err := Check(good, "\U0001F600"); err != nil { // a password the decoder cannot encode
		t.Errorf("non-BMP password: %v", err)
	}
}

// threeItems is an authenticated safe of three items, each decryptable:
// DecodeChain refuses it before decrypting any.
func threeItems(id identity) []byte {
	p := craft.PKCS12{Password: password, Certificate: id.leaf.Raw, PrivateKey: id.pkcs8, Contents: pbes2(1000, octetSalt), Key: pbes2(1000, octetSalt)}
	var pfx pfxPdu
	if _, err := asn1.Unmarshal(p.Encode(), &pfx); err != nil {
		panic(err)
	}
	var content asn1.RawValue
	_, _ = asn1.Unmarshal(pfx.AuthSafe.Content.Bytes, &content)
	var items []asn1.RawValue
	_, _ = asn1.Unmarshal(content.Bytes, &items)
	return craft.Seq(craft.Int(3), craft.Seq(craft.OID(craft.OIDData), craft.Explicit0(craft.Octets(craft.Seq(items[0].FullBytes, items[1].FullBytes, items[0].FullBytes)))))
}

// The decoder's structures that the guard's decryption refuses as the
// decoder does: each case decodes to nothing.
func TestDecryptRefusals(t *testing.T) {
	pw, _ := bmpStringZeroTerminated(password)
	kdf := func(salt []byte, prf []byte) []byte {
		fields := [][]byte{salt, craft.Int(1000)}
		if prf != nil {
			fields = append(fields, prf)
		}
		return craft.AlgorithmIdentifier(craft.OIDPBKDF2, craft.Seq(fields...))
	}
	octets := craft.Octets([]byte("salt"))
	aes := craft.AlgorithmIdentifier(craft.OIDAES256CBC, craft.Octets(make([]byte, 16)))
	for name, alg := range map[string][]byte{
		"unknown algorithm":    craft.AlgorithmIdentifier(craft.OIDRSA, nil),
		"3DES, no parameters":  craft.AlgorithmIdentifier(oidPBEWithSHAAnd3KeyTripleDESCBC, nil),
		"PBES2, no parameters": craft.AlgorithmIdentifier(oidPBES2, nil),
		"PBES2, not PBKDF2":    craft.AlgorithmIdentifier(oidPBES2, craft.Seq(craft.AlgorithmIdentifier(craft.OIDRSA, nil), aes)),
		"PBKDF2, bad params":   craft.AlgorithmIdentifier(oidPBES2, craft.Seq(craft.AlgorithmIdentifier(craft.OIDPBKDF2, craft.Int(1)), aes)),
		"salt tag 5":           craft.AlgorithmIdentifier(oidPBES2, craft.Seq(kdf(craft.Null, nil), aes)),
		"unknown PRF":          craft.AlgorithmIdentifier(oidPBES2, craft.Seq(kdf(octets, craft.AlgorithmIdentifier(craft.OIDRSA, nil)), aes)),
		"unknown cipher":       craft.AlgorithmIdentifier(oidPBES2, craft.Seq(kdf(octets, nil), craft.AlgorithmIdentifier(craft.OIDRSA, nil))),
		"short IV":             craft.AlgorithmIdentifier(oidPBES2, craft.Seq(kdf(octets, nil), craft.AlgorithmIdentifier(oidAES128CBC, craft.Octets(make([]byte, 8))))),
		"odd BMP password":     nil, // see below
	} {
		var ai pkix.AlgorithmIdentifier
		if alg != nil {
			if _, err := asn1.Unmarshal(alg, &ai); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		p := pw
		if alg == nil {
			ai, p = pkix.AlgorithmIdentifier{Algorithm: oidPBES2}, []byte{0}
		}
		for _, data := range [][]byte{nil, make([]byte, 16), make([]byte, 17)} {
			if _, ok := decrypt(encryptedPrivateKeyInfo{ai, data}, p); ok {
				t.Errorf("%s: decrypted", name)
			}
		}
	}
	for _, prf := range []asn1.ObjectIdentifier{oidHmacWithSHA1, oidHmacWithSHA256, oidHmacWithSHA512} {
		for _, cipher := range []asn1.ObjectIdentifier{oidAES128CBC, oidAES192CBC, oidAES256CBC} {
			alg := craft.AlgorithmIdentifier(oidPBES2, craft.Seq(kdf(octets, craft.AlgorithmIdentifier(prf, craft.Null)), craft.AlgorithmIdentifier(cipher, craft.Octets(make([]byte, 16)))))
			var ai pkix.AlgorithmIdentifier
			if _, err := asn1.Unmarshal(alg, &ai); err != nil {
				t.Fatal(err)
			}
			// Random ciphertext: bad padding, almost always.
			if _, ok := decrypt(encryptedPrivateKeyInfo{ai, []byte("0123456789abcdef")}, pw); ok {
				t.Logf("%v %v: random bytes had a valid padding", prf, cipher)
			}
		}
	}
}

// RFC 2268's test vectors, as go-pkcs12's internal/rc2 tests them.
func TestRC2(t *testing.T) {
	for _, tc := range []struct {
		key, plain, cipher string
		t1                 int
	}{
		{"0000000000000000", "0000000000000000", "ebb773f993278eff", 63},
		{"ffffffffffffffff", "ffffffffffffffff", "278b27e42e2f0d49", 64},
		{"3000000000000000", "1000000000000001", "30649edf9be7d2c2", 64},
		{"88", "0000000000000000", "61a8a244adacccf0", 64},
		{"88bca90e90875a", "0000000000000000", "6ccf4308974c267f", 64},
		{"88bca90e90875a7f0f79c384627bafb2", "0000000000000000", "1a807d272bbe5db1", 64},
		{"88bca90e90875a7f0f79c384627bafb2", "0000000000000000", "2269552ab0f85ca6", 128},
		{"88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e", "0000000000000000", "5b78d3a43dfff1f1", 129},
	} {
		k, p, c := unhex(t, tc.key), unhex(t, tc.plain), unhex(t, tc.cipher)
		b, _ := newRC2(k, tc.t1)
		if b.BlockSize() != 8 {
			t.Fatalf("block size %d", b.BlockSize())
		}
		var dst [8]byte
		b.Encrypt(dst[:], p)
		if string(dst[:]) != string(c) {
			t.Errorf("encrypt %s: %x; want %x", tc.key, dst, c)
		}
		b.Decrypt(dst[:], c)
		if string(dst[:]) != string(p) {
			t.Errorf("decrypt %s: %x; want %x", tc.key, dst, p)
		}
	}
}

// The guard copies go-pkcs12 v0.7.4's types and reading: another version
// must be read again, and the guard updated.
func TestDecoderVersion(t *testing.T) {
	mod := string(readFile(t, filepath.Join("..", "..", "go.mod")))
	if !strings.Contains(mod, "\tsoftware.sslmate.com/src/go-pkcs12 v0.7.4\n") {
		t.Fatal("go.mod requires another go-pkcs12 than v0.7.4: compare its decoding (pkcs12.go, mac.go, crypto.go, safebags.go) with the guard's, and update the guard")
	}
}

func writePEM(t *testing.T, name, typ string, der []byte) {
	t.Helper()
	var out []byte
	for rest := der; len(rest) > 0; {
		var v asn1.RawValue
		next, err := asn1.Unmarshal(rest, &v)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: v.FullBytes})...)
		rest = next
	}
	if err := os.WriteFile(name, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// macFunc writes a MacData from the content it covers and the password.
type macFunc func(authSafe []byte, pw string) []byte

func (m macFunc) MacData(authSafe []byte, pw string) []byte { return m(authSafe, pw) }

var macSalt = []byte("mac salt")

// classicMAC is RFC 7292's MAC with the digest oid, hFn and the KDF's u, v.
func classicMAC(oid asn1.ObjectIdentifier, hFn func() hash.Hash, sum func([]byte) []byte, u, v int) macFunc {
	return func(authSafe []byte, pw string) []byte {
		encoded, _ := bmpStringZeroTerminated(pw)
		h := hmac.New(hFn, pbkdf(sum, u, v, macSalt, encoded, 1000, 3, u))
		h.Write(authSafe)
		return craft.Seq(craft.Seq(craft.AlgorithmIdentifier(oid, craft.Null), craft.Octets(h.Sum(nil))), craft.Octets(macSalt), craft.Int(1000))
	}
}

// pbmac1MAC is a PBMAC1 MAC whose KDF AlgorithmIdentifier is kdfAlg (or
// PBKDF2 with salt, prf and keyLen), its MAC macAlg, the key computed as
// go-pkcs12 does when it can.
func pbmac1MAC(kdfAlg []byte, salt []byte, prf, macAlg asn1.ObjectIdentifier, prfHash, macHash func() hash.Hash, keyLen int) macFunc {
	return func(authSafe []byte, pw string) []byte {
		if kdfAlg == nil {
			fields := [][]byte{salt, craft.Int(1000), craft.Int(int64(keyLen))}
			if prf != nil {
				fields = append(fields, craft.AlgorithmIdentifier(prf, craft.Null))
			}
			kdfAlg = craft.AlgorithmIdentifier(craft.OIDPBKDF2, craft.Seq(fields...))
		}
		var v asn1.RawValue
		_, _ = asn1.Unmarshal(salt, &v)
		digest := make([]byte, 32)
		if keyLen > 0 && keyLen <= 64 {
			h := hmac.New(macHash, pbkdf2.Key([]byte(pw), v.Bytes, 1000, keyLen, prfHash))
			h.Write(authSafe)
			digest = h.Sum(nil)
		}
		alg := craft.AlgorithmIdentifier(craft.OIDPBMAC1, craft.Seq(kdfAlg, craft.AlgorithmIdentifier(macAlg, craft.Null)))
		return craft.Seq(craft.Seq(alg, craft.Octets(digest)), craft.Octets(macSalt), craft.Int(1))
	}
}

// The guard verifies a MAC exactly where go-pkcs12 does: for each MacData,
// the guard gets past it if and only if the decoder decodes the file.
func TestMACsAsTheDecoder(t *testing.T) {
	id := newIdentity(t)
	octets := craft.Octets([]byte("pbmac1 salt"))
	decoded := 0
	sha1OID, sha256OID, sha512OID := asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	for name, mac := range map[string]macFunc{
		"SHA-1":                     classicMAC(sha1OID, sha1.New, sha1Sum, 20, 64),
		"SHA-256":                   classicMAC(sha256OID, sha256.New, sha256Sum, 32, 64),
		"SHA-512":                   classicMAC(sha512OID, sha512.New, sha512Sum, 64, 128),
		"MD5":                       classicMAC(asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}, sha1.New, sha1Sum, 20, 64),
		"PBMAC1 SHA-256":            pbmac1MAC(nil, octets, oidHmacWithSHA256, oidHmacWithSHA256, sha256.New, sha256.New, 32),
		"PBMAC1 SHA-512":            pbmac1MAC(nil, octets, oidHmacWithSHA512, oidHmacWithSHA512, sha512.New, sha512.New, 64),
		"PBMAC1 default PRF, SHA-1": pbmac1MAC(nil, octets, nil, oidHmacWithSHA1, sha1.New, sha1.New, 20),
		"PBMAC1 SHA-1 PRF":          pbmac1MAC(nil, octets, oidHmacWithSHA1, oidHmacWithSHA256, sha1.New, sha256.New, 32),
		"PBMAC1 [4] salt":           pbmac1MAC(nil, craft.TLV(asn1.ClassContextSpecific, 4, false, []byte("s")), oidHmacWithSHA256, oidHmacWithSHA256, sha256.New, sha256.New, 32),
		"PBMAC1 19-byte key":        pbmac1MAC(nil, octets, oidHmacWithSHA256, oidHmacWithSHA256, sha256.New, sha256.New, 19),
		"PBMAC1 65-byte key":        pbmac1MAC(nil, octets, oidHmacWithSHA256, oidHmacWithSHA256, sha256.New, sha256.New, 65),
		"PBMAC1 NULL salt":          pbmac1MAC(nil, craft.Null, oidHmacWithSHA256, oidHmacWithSHA256, sha256.New, sha256.New, 32),
		"PBMAC1 unknown PRF":        pbmac1MAC(nil, octets, craft.OIDRSA, oidHmacWithSHA256, sha256.New, sha256.New, 32),
		"PBMAC1 unknown MAC":        pbmac1MAC(nil, octets, oidHmacWithSHA256, craft.OIDRSA, sha256.New, sha256.New, 32),
		"PBMAC1 not PBKDF2":         pbmac1MAC(craft.AlgorithmIdentifier(craft.OIDRSA, nil), octets, nil, oidHmacWithSHA256, sha256.New, sha256.New, 32),
		"PBMAC1 bad PBKDF2 params":  pbmac1MAC(craft.AlgorithmIdentifier(craft.OIDPBKDF2, craft.Int(1)), octets, nil, oidHmacWithSHA256, sha256.New, sha256.New, 32),
		"PBMAC1 bad params": func([]byte, string) []byte {
			alg := craft.AlgorithmIdentifier(craft.OIDPBMAC1, craft.Int(1))
			return craft.Seq(craft.Seq(alg, craft.Octets(nil)), craft.Octets(macSalt), craft.Int(1))
		},
	} {
		der := craft.PKCS12{Password: password, Certificate: id.leaf.Raw, PrivateKey: id.pkcs8, MAC: mac, Key: tripleDES(1000), Contents: pbes2(1000, octetSalt)}.Encode()
		_, _, _, err := pkcs12.DecodeChain(der, password)
		if err == nil {
			decoded++
		}
		f, _ := parse(der)
		if _, ok := f.decryptionPassword(password); ok != (err == nil) {
			t.Errorf("%s: the guard gets past the MAC: %v; go-pkcs12: %v", name, ok, err)
		}
		if err := Check(der, password); err != nil && name != "PBMAC1 65-byte key" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if decoded != 8 { // the three classic ones, and the first five PBMAC1 ones
		t.Errorf("go-pkcs12 decodes %d of the files; want 8", decoded)
	}
}
