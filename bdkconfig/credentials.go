package bdkconfig

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/fileread"
	"github.com/symauth/symauth/internal/pkcs12guard"
	"github.com/symauth/symauth/internal/validate"
	"software.sslmate.com/src/go-pkcs12"
)

// maxCredentialFileBytes caps what is read of a key, certificate or trust
// store; maxConfigFileBytes of a configuration.
const (
	maxCredentialFileBytes = 4 << 20
	maxConfigFileBytes     = 4 << 20
)

// pemMarker tells PEM text from binary or base64 content.
const pemMarker = "-----BEGIN"

// credentialSpec is where a key, certificate or trust store is to be read
// from, as the section says: path or content, in the current form
// (privateKey: {path: …}) or BDK's deprecated flat one (privateKeyPath).
type credentialSpec struct {
	given    bool
	src      CredentialFile
	value    scalar // the path, or the inline content
	password scalar // certificate and trust store only
	conflict error  // two sources given: reported when the credential is used
}

// flatKeys are the deprecated flat keys of one credential, "" where none.
type flatKeys struct{ path, content, password string }

// credentialSpec reads the credential name of s (a mapping of path,
// content and, with a password key, password), or its deprecated flat keys.
// A deprecated key gets a warning; giving two sources is a conflict, kept
// for when the credential is used.
func (s section) credentialSpec(name string, flat flatKeys) (credentialSpec, error) {
	var spec credentialSpec
	sec, err := s.sub(name)
	if err != nil {
		return spec, err
	}
	// The sources given, in order: the current form's, then the deprecated.
	type source struct {
		v                  scalar
		inline, deprecated bool
	}
	var sources []source
	for _, k := range []struct {
		sec     section
		key     string
		inline  bool
		instead string // for a deprecated key: the key to write
	}{
		{sec, "path", false, ""},
		{sec, "content", true, ""},
		{s, flat.path, false, s.key(name) + ".path"},
		{s, flat.content, true, s.key(name) + ".content"},
	} {
		if k.key == "" {
			continue
		}
		v, err := k.sec.str(k.key)
		if err != nil {
			return spec, err
		}
		if !v.set() {
			continue
		}
		if k.instead != "" {
			s.p.deprecated(v, k.instead)
		}
		sources = append(sources, source{v, k.inline, k.instead != ""})
	}
	if flat.password != "" {
		// As BDK: the current section, when it names a source, brings its own
		// password; the deprecated password goes with the deprecated source.
		if spec.password, err = sec.str("password"); err != nil {
			return spec, err
		}
		old, err := s.str(flat.password)
		if err != nil {
			return spec, err
		}
		switch {
		case !old.set():
		case len(sources) > 0 && !sources[0].deprecated:
			s.p.deprecated(old, s.key(name)+".password")
			s.p.warnf(old.line, "%s is ignored: the password of %s goes in %s.password, as BDK reads it", old.key, s.key(name), s.key(name))
		default:
			s.p.deprecated(old, s.key(name)+".password")
			spec.password = old
		}
	}
	if len(sources) == 0 {
		return spec, nil
	}
	if len(sources) > 1 {
		spec.conflict = s.p.errorf(sources[1].v.line, sources[1].v.key, "%s is given too: give one of them", s.p.name(sources[0].v.key))
	}
	first := sources[0]
	spec.given, spec.value = true, first.v
	if first.inline {
		spec.src = CredentialFile{Inline: true}
	} else {
		spec.src = CredentialFile{Path: s.p.resolve(first.v.text)}
	}
	return spec, nil
}

// deprecated warns that v uses a deprecated flat key; instead is the key
// to write.
func (p *configParser) deprecated(v scalar, instead string) {
	p.warnf(v.line, "%s is deprecated (BDK still reads it): write %s", v.key, instead)
}

// resolve makes a relative path relative to the parser's directory.
func (p *configParser) resolve(path string) string {
	if !filepath.IsAbs(path) && p.dir != "" {
		return filepath.Join(p.dir, path)
	}
	return path
}

// credential is the content of a credentialSpec, read.
type credential struct {
	src  CredentialFile
	data []byte
	key  string // the key it was read from
	line int
}

// read reads the credential: its content, or its file.
func (p *configParser) read(spec credentialSpec) (credential, error) {
	c := credential{src: spec.src, key: spec.value.key, line: spec.value.line}
	if spec.conflict != nil {
		return c, spec.conflict
	}
	if spec.src.Inline {
		c.data = []byte(spec.value.text)
		return c, nil
	}
	data, err := fileread.Read(spec.src.Path, maxCredentialFileBytes)
	if err != nil {
		return c, p.wrap(c.line, c.key, "", err)
	}
	if len(data) == 0 {
		return c, p.errorf(c.line, c.key, "%s is empty", spec.src.Path)
	}
	c.data = data
	return c, nil
}

// privateKey parses c as an RSA private key in PEM; inline content may also
// be the PEM base64-encoded (BDK Java's privateKey.content is base64).
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
// otherwise PKCS#12 or a Java key store (as BDK Java uses; inline content
// base64-encoded).
func (p *configParser) certificate(c credential, password scalar) (tls.Certificate, error) {
	var cert tls.Certificate
	var err error
	if bytes.Contains(c.data, []byte(pemMarker)) {
		cert, err = symauth.ParsePEM(c.data)
	} else {
		data, derr := p.binary(c)
		if derr != nil {
			return cert, derr
		}
		if isJavaKeyStore(data) {
			cert, err = p.javaKeyStoreCertificate(c, data, password)
		} else {
			cert, err = symauth.ParsePKCS12(data, password.text)
			if err != nil && strings.Contains(err.Error(), "wrong password") {
				return cert, p.wrongPassword(password, c)
			}
		}
	}
	if err != nil {
		var ce *configError
		if errors.As(err, &ce) {
			return cert, err
		}
		return cert, p.wrap(c.line, c.key, "", err)
	}
	leaf, err := validate.ClientCertificate("the certificate", cert, time.Now())
	if err != nil {
		return cert, p.wrap(c.line, c.key, "", err)
	}
	cert.Leaf = leaf
	return cert, nil
}

// binary returns the bytes of a binary credential: the file's, or the
// inline content base64-decoded.
func (p *configParser) binary(c credential) ([]byte, error) {
	if !c.src.Inline {
		return c.data, nil
	}
	data, err := decodeBase64(c.data)
	if err != nil {
		return nil, p.errorf(c.line, c.key, "neither PEM nor base64 of a PKCS#12 file or Java key store")
	}
	return data, nil
}

func (p *configParser) wrongPassword(password scalar, c credential) error {
	if !password.set() {
		return p.errorf(password.line, password.key, "missing: %s needs its password", p.name(c.key))
	}
	return p.errorf(password.line, password.key, "wrong password for %s", p.name(c.key))
}

// trustStore reads c as the certificates to trust, with the meaning of the
// SDK whose format it is: a PEM bundle (BDK Python's format) is all that is
// trusted; a Java key store (JKS) or PKCS#12 trust store (BDK Java's) is
// trusted in addition to the system's roots, as BDK Java adds the JVM's.
func (p *configParser) trustStore(c credential, password scalar) (*x509.CertPool, error) {
	if bytes.Contains(c.data, []byte(pemMarker)) {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(bytes.ReplaceAll(c.data, []byte(`\n`), []byte("\n"))) {
			return nil, p.errorf(c.line, c.key, "no certificate found in the PEM")
		}
		return pool, nil
	}
	data, err := p.binary(c)
	if err != nil {
		return nil, err
	}
	var certs []*x509.Certificate
	if isJavaKeyStore(data) {
		if certs, err = p.javaKeyStoreTrust(c, data, password); err != nil {
			return nil, err
		}
	} else {
		if err := pkcs12guard.CheckIterations(data); err != nil {
			return nil, p.errorf(c.line, c.key, "%s", err)
		}
		certs, err = pkcs12.DecodeTrustStore(data, password.text)
		switch {
		case errors.Is(err, pkcs12.ErrIncorrectPassword):
			return nil, p.wrongPassword(password, c)
		case err != nil:
			return nil, p.wrap(c.line, c.key, "not a PEM bundle, Java key store or PKCS#12 trust store", err)
		}
	}
	if len(certs) == 0 {
		return nil, p.errorf(c.line, c.key, "the trust store holds no trusted certificate")
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
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
