package bdkconfig

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/pkcs12guard"
	"github.com/symauth/symauth/internal/validate"
	"software.sslmate.com/src/go-pkcs12"
)

// maxCredentialFileBytes caps what is read of a key, certificate, trust store
// or configuration file.
const maxCredentialFileBytes = 4 << 20

// jksMagic and jceksMagic start Java's own key store formats.
var (
	jksMagic   = []byte{0xFE, 0xED, 0xFE, 0xED}
	jceksMagic = []byte{0xCE, 0xCE, 0xCE, 0xCE}
)

// pemMarker tells PEM text from binary or base64 content.
const pemMarker = "-----BEGIN"

// credential is a key, certificate or trust store read from its path or
// content, and where it came from.
type credential struct {
	src  CredentialFile
	data []byte
	key  string // the key it was read from: "….path" or "….content"
	line int
}

// credential reads the path|content mapping name of s. The content is the
// text written in the file (with ${…} replaced); a path is read, relative to
// the parser's directory. ok is false when neither is given.
func (s section) credential(name string) (sec section, c credential, ok bool, err error) {
	if sec, err = s.sub(name); err != nil || !sec.present() {
		return sec, c, false, err
	}
	path, err := sec.str("path")
	if err != nil {
		return sec, c, false, err
	}
	content, err := sec.str("content")
	if err != nil {
		return sec, c, false, err
	}
	switch {
	case path.set() && content.set():
		return sec, c, false, s.p.errorf(sec.line, sec.path, "give path or content, not both")
	case content.set():
		return sec, credential{src: CredentialFile{Inline: true}, data: []byte(content.text), key: content.key, line: content.line}, true, nil
	case !path.set():
		return sec, c, false, nil
	}
	file := path.text
	if !filepath.IsAbs(file) && s.p.dir != "" {
		file = filepath.Join(s.p.dir, file)
	}
	data, err := readLimited(file)
	if err != nil {
		return sec, c, false, s.p.wrap(path.line, path.key, "", err)
	}
	if len(data) == 0 {
		return sec, c, false, s.p.errorf(path.line, path.key, "%s is empty", file)
	}
	return sec, credential{src: CredentialFile{Path: file}, data: data, key: path.key, line: path.line}, true, nil
}

// readLimited reads a file of at most maxCredentialFileBytes.
func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCredentialFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxCredentialFileBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB", name, maxCredentialFileBytes>>20)
	}
	return data, nil
}

// privateKey parses c as an RSA private key in PEM; inline content may also
// be the PEM base64-encoded.
func (p *configParser) privateKey(c credential) (*rsa.PrivateKey, error) {
	data := c.data
	if c.src.Inline && !bytes.Contains(data, []byte(pemMarker)) {
		if der, err := decodeBase64(data); err == nil {
			data = der
		}
	}
	key, err := symauth.ParsePrivateKey(data)
	if err != nil {
		return nil, p.wrap(c.line, c.key, "", err)
	}
	if err := validate.RSASigner("the key", key); err != nil {
		return nil, p.wrap(c.line, c.key, "", err)
	}
	return key, nil
}

// certificate reads c as a client certificate with its key: PEM (certificate
// and unencrypted key, as BDK Python uses) when it holds "-----BEGIN",
// otherwise PKCS#12 (as BDK Java uses; inline content base64-encoded).
func (p *configParser) certificate(c credential, password scalar) (tls.Certificate, error) {
	var cert tls.Certificate
	var err error
	if bytes.Contains(c.data, []byte(pemMarker)) {
		cert, err = symauth.ParsePEM(c.data)
	} else {
		data := c.data
		if c.src.Inline {
			if data, err = decodeBase64(data); err != nil {
				return cert, p.errorf(c.line, c.key, "neither PEM nor base64-encoded PKCS#12")
			}
		}
		cert, err = symauth.ParsePKCS12(data, password.text)
		if err != nil && strings.Contains(err.Error(), "wrong password") {
			return cert, p.errorf(password.line, password.key, "wrong password for %s", c.key)
		}
	}
	if err != nil {
		return cert, p.wrap(c.line, c.key, "", err)
	}
	leaf, err := validate.ClientCertificate("the certificate", cert, time.Now())
	if err != nil {
		return cert, p.wrap(c.line, c.key, "", err)
	}
	cert.Leaf = leaf
	return cert, nil
}

// trustStore reads c as the certificates to trust: a PEM bundle (as BDK
// Python uses) or a PKCS#12 trust store (as BDK Java users have; inline
// content base64-encoded). A JKS file gets advice on converting it.
func (p *configParser) trustStore(c credential, password scalar) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if bytes.Contains(c.data, []byte(pemMarker)) {
		if !pool.AppendCertsFromPEM(bytes.ReplaceAll(c.data, []byte(`\n`), []byte("\n"))) {
			return nil, p.errorf(c.line, c.key, "no certificate found in the PEM")
		}
		return pool, nil
	}
	data := c.data
	if c.src.Inline {
		var err error
		if data, err = decodeBase64(data); err != nil {
			return nil, p.errorf(c.line, c.key, "neither PEM nor base64-encoded PKCS#12")
		}
	}
	if bytes.HasPrefix(data, jksMagic) || bytes.HasPrefix(data, jceksMagic) {
		return nil, p.errorf(c.line, c.key, "a Java key store (JKS) cannot be read; convert it to PKCS#12 with "+
			"keytool -importkeystore -srckeystore truststore.jks -destkeystore truststore.p12 -deststoretype PKCS12, "+
			"or export its certificates to a PEM file (keytool -exportcert -rfc -alias NAME -keystore truststore.jks)")
	}
	if err := pkcs12guard.CheckIterations(data); err != nil {
		return nil, p.errorf(c.line, c.key, "%s", err)
	}
	certs, err := pkcs12.DecodeTrustStore(data, password.text)
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return nil, p.errorf(password.line, password.key, "wrong or missing password for %s", c.key)
	case err != nil:
		return nil, p.wrap(c.line, c.key, "not a PEM bundle nor a readable PKCS#12 trust store", err)
	case len(certs) == 0:
		return nil, p.errorf(c.line, c.key, "the trust store holds no certificate")
	}
	for _, cert := range certs {
		pool.AddCert(cert)
	}
	return pool, nil
}

// decodeBase64 decodes standard base64, with or without padding, ignoring
// white space (line breaks of wrapped text).
func decodeBase64(data []byte) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, string(data))
	clean = strings.TrimRight(clean, "=")
	out, err := base64.RawStdEncoding.DecodeString(clean)
	if err != nil || len(out) == 0 {
		return nil, errors.New("not base64")
	}
	return out, nil
}
