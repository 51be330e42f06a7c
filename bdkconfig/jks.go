package bdkconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"sort"
	"strconv"

	"github.com/pavlo-v-chernykh/keystore-go/v4"
	"github.com/symauth/symauth/internal/keysize"
)

// Java's own key store format (JKS), which keytool wrote by default until
// Java 9 and most BDK Java deployments still have as their trust store.
var jksMagic = []byte{0xFE, 0xED, 0xFE, 0xED}

// jceksMagic starts the JCEKS variant, which keystore-go does not read.
var jceksMagic = []byte{0xCE, 0xCE, 0xCE, 0xCE}

func isJavaKeyStore(data []byte) bool {
	return bytes.HasPrefix(data, jksMagic) || bytes.HasPrefix(data, jceksMagic)
}

// loadJavaKeyStore checks the structure of a JKS file, then decodes it and
// verifies its integrity with password, as Java's KeyStore.load does.
func (p *configParser) loadJavaKeyStore(c credential, data []byte, password scalar) (keystore.KeyStore, error) {
	ks := keystore.New()
	if bytes.HasPrefix(data, jceksMagic) {
		return ks, p.errorf(c.line, c.key, "a JCEKS key store cannot be read; convert it to PKCS#12 "+
			"(keytool -importkeystore -srckeystore store.jceks -srcstoretype JCEKS -destkeystore store.p12 -deststoretype PKCS12)")
	}
	if err := checkJKSStructure(data); err != nil {
		return ks, p.errorf(c.line, c.key, "not a valid Java key store: %s", err)
	}
	if !password.set() {
		return ks, p.errorf(password.line, password.key, "missing: a Java key store is read with its password (keytool's default is changeit)")
	}
	if err := decodeSafely(func() error { return ks.Load(bytes.NewReader(data), []byte(password.text)) }); err != nil {
		if bytes.Contains([]byte(err.Error()), []byte("invalid digest")) {
			return ks, p.errorf(password.line, password.key, "wrong password for %s (its integrity check failed)", p.name(c.key))
		}
		return ks, p.errorf(c.line, c.key, "not a valid Java key store")
	}
	return ks, nil
}

var errMalformedEntry = errors.New("malformed entry")

// decodeSafely runs a keystore-go decoding step, turning a panic of the
// decoder on a malformed file (a protected key too short for its salt and
// digest makes it slice out of range) into an error.
func decodeSafely(decode func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errMalformedEntry
		}
	}()
	return decode()
}

// javaKeyStoreTrust returns the certificates a JKS trust store makes
// trusted, in alias order: its trusted certificate entries and, as Java's
// TrustManagerFactory does, the first certificate of each key entry.
func (p *configParser) javaKeyStoreTrust(c credential, data []byte, password scalar) ([]*x509.Certificate, error) {
	ks, err := p.loadJavaKeyStore(c, data, password)
	if err != nil {
		return nil, err
	}
	aliases := ks.Aliases()
	sort.Strings(aliases)
	var certs []*x509.Certificate
	for _, alias := range aliases {
		var der []byte
		switch {
		case ks.IsTrustedCertificateEntry(alias):
			entry, err := ks.GetTrustedCertificateEntry(alias)
			if err != nil {
				return nil, p.errorf(c.line, c.key, "entry %q cannot be read", alias)
			}
			der = entry.Certificate.Content
		case ks.IsPrivateKeyEntry(alias):
			chain, err := ks.GetPrivateKeyEntryCertificateChain(alias)
			if err != nil || len(chain) == 0 {
				continue
			}
			der = chain[0].Content
		default:
			continue
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, p.errorf(c.line, c.key, "entry %q holds no valid X.509 certificate", alias)
		}
		certs = append(certs, cert)
	}
	return certs, nil
}

// javaKeyStoreCertificate returns the one private key entry of a JKS key
// store, with its chain, as a client certificate. Its key is protected by
// the store's password, as keytool writes it.
func (p *configParser) javaKeyStoreCertificate(c credential, data []byte, password scalar) (tls.Certificate, error) {
	var cert tls.Certificate
	ks, err := p.loadJavaKeyStore(c, data, password)
	if err != nil {
		return cert, err
	}
	var keys []string
	for _, alias := range ks.Aliases() {
		if ks.IsPrivateKeyEntry(alias) {
			keys = append(keys, alias)
		}
	}
	switch len(keys) {
	case 0:
		return cert, p.errorf(c.line, c.key, "the Java key store holds no private key entry")
	case 1:
	default:
		return cert, p.errorf(c.line, c.key, "the Java key store holds %d private key entries; symauth needs exactly one", len(keys))
	}
	var entry keystore.PrivateKeyEntry
	err = decodeSafely(func() (err error) {
		entry, err = ks.GetPrivateKeyEntry(keys[0], []byte(password.text))
		return err
	})
	switch {
	case errors.Is(err, errMalformedEntry):
		return cert, p.errorf(c.line, c.key, "not a valid Java key store: the key of entry %q is malformed", keys[0])
	case err != nil:
		return cert, p.errorf(password.line, password.key, "the key of entry %q cannot be decrypted with this password", keys[0])
	}
	if err := keysize.PKCS8(entry.PrivateKey); err != nil {
		return cert, p.wrap(c.line, c.key, "entry "+strconv.Quote(keys[0]), err)
	}
	key, err := x509.ParsePKCS8PrivateKey(entry.PrivateKey)
	if err != nil {
		return cert, p.errorf(c.line, c.key, "the key of entry %q is not a valid PKCS#8 key", keys[0])
	}
	for _, certificate := range entry.CertificateChain {
		cert.Certificate = append(cert.Certificate, certificate.Content)
	}
	if len(cert.Certificate) == 0 {
		return cert, p.errorf(c.line, c.key, "entry %q has no certificate", keys[0])
	}
	cert.PrivateKey = key
	return cert, nil
}

// maxJKSEntries bounds the entries of a JKS file.
const maxJKSEntries = 1 << 12

// checkJKSStructure walks a JKS file and checks that every length it
// declares fits in the data, so that the decoder, which allocates what a
// length says before reading, cannot be made to allocate more than the
// file's size.
func checkJKSStructure(data []byte) error {
	r := jksReader{data: data}
	r.skip(4) // magic
	version := r.u32()
	if r.err == nil && version != 1 && version != 2 {
		return errors.New("unknown version")
	}
	n := r.u32()
	if r.err == nil && n > maxJKSEntries {
		return errors.New("too many entries")
	}
	for i := uint32(0); i < n && r.err == nil; i++ {
		tag := r.u32()
		r.skip(int(r.u16())) // alias
		r.skip(8)            // creation time
		switch tag {
		case 1: // private key: encrypted key, then the chain
			r.skip(int(r.u32()))
			chain := r.u32()
			if r.err == nil && chain > maxJKSEntries {
				return errors.New("certificate chain too long")
			}
			for j := uint32(0); j < chain && r.err == nil; j++ {
				r.certificate(version)
			}
		case 2: // trusted certificate
			r.certificate(version)
		default:
			if r.err == nil {
				return errors.New("unknown entry type")
			}
		}
	}
	r.skip(20) // SHA-1 digest
	if r.err != nil {
		return r.err
	}
	if len(r.data) != 0 {
		return errors.New("trailing data")
	}
	return nil
}

type jksReader struct {
	data []byte
	err  error
}

func (r *jksReader) skip(n int) {
	if r.err != nil {
		return
	}
	if n < 0 || n > len(r.data) {
		r.err = errors.New("truncated, or a length larger than the file")
		return
	}
	r.data = r.data[n:]
}

func (r *jksReader) u32() uint32 {
	if r.err != nil || len(r.data) < 4 {
		r.skip(4)
		return 0
	}
	v := binary.BigEndian.Uint32(r.data)
	r.data = r.data[4:]
	return v
}

func (r *jksReader) u16() uint16 {
	if r.err != nil || len(r.data) < 2 {
		r.skip(2)
		return 0
	}
	v := binary.BigEndian.Uint16(r.data)
	r.data = r.data[2:]
	return v
}

// certificate skips one certificate: its type (version 2), then its DER.
func (r *jksReader) certificate(version uint32) {
	if version == 2 {
		r.skip(int(r.u16()))
	}
	r.skip(int(r.u32()))
}
