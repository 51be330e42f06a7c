package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	pkcs12 "software.sslmate.com/src/go-pkcs12"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/fileread"
	"github.com/symauth/symauth/internal/keysize"
)

// The file steps: --key or --cert, and --ca.

// minKeyBits is the smallest RSA key symauth accepts.
const minKeyBits = 2048

// Advice shared by several key problems.
const (
	adviceNewKey = "generate an RSA key (openssl genrsa -out bot-private.pem 4096) and upload its public half " +
		"(openssl rsa -in bot-private.pem -pubout -out bot-public.pem) in the Admin Console"
	adviceDecrypt = "the key is encrypted; symauth and Symphony's SDKs need it unencrypted: " +
		"openssl pkey -in ENCRYPTED.pem -out bot-private.pem (and keep that file private)"
)

// pemKeyFormats names the formats of the PEM blocks ParsePrivateKey reads.
var pemKeyFormats = map[string]string{"RSA PRIVATE KEY": "PKCS#1", "PRIVATE KEY": "PKCS#8"}

// checkKeyFile reads --key as the login does, and describes it: its format,
// PKCS#1 or PKCS#8, and the RSA key's size.
func (c *checker) checkKeyFile(context.Context) outcome {
	file := c.flags.keyFile
	data, err := fileread.Read(file, maxCredentialBytes)
	if err != nil {
		return readFailure("--key", err)
	}
	note := ""
	if bytes.Contains(data, []byte(`\n`)) {
		note = ` (literal \n read as line breaks)`
	}
	block := findKeyBlock(bytes.ReplaceAll(data, []byte(`\n`), []byte("\n")))
	if o, bad := keyBlockProblem(file, data, block); bad {
		return o
	}
	key, err := symauth.ParsePrivateKey(data)
	if err != nil {
		return failed(fmt.Sprintf("%s: %v", file, err), "the file is damaged or not an RSA private key: get the bot's key file again, or "+adviceNewKey)
	}
	if bits := key.N.BitLen(); bits < minKeyBits {
		return failed(fmt.Sprintf("%s: a %d-bit RSA key; at least %d bits are needed", file, bits, minKeyBits), adviceNewKey)
	}
	c.key = key
	return passed("%s: %s, RSA %d bits, public key %s%s", file, pemKeyFormats[block.Type], key.N.BitLen(), fingerprint(&key.PublicKey), note)
}

// fingerprint identifies an RSA public key, so that the key of --key can be
// told from the one registered for the bot: "SHA256:" and the unpadded base64
// of the SHA-256 of its DER SubjectPublicKeyInfo, as OpenSSH writes its
// fingerprints (which hash another encoding of the key). fingerprintCommand
// computes the same from a public key file.
func fingerprint(pub *rsa.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil { // not for a key ParsePrivateKey returned
		return "(unknown)"
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// fingerprintCommand prints the fingerprint of the public key in a PEM file.
const fingerprintCommand = "openssl pkey -pubin -in PUBLIC.pem -outform DER | openssl dgst -sha256 -binary | base64 | tr -d ="

// findKeyBlock returns the first PEM block in data of a type ParsePrivateKey
// reads or recognizes, or nil.
func findKeyBlock(data []byte) *pem.Block {
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return nil
		}
		switch block.Type {
		case "RSA PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "PUBLIC KEY", "RSA PUBLIC KEY",
			"CERTIFICATE", "EC PRIVATE KEY", "OPENSSH PRIVATE KEY":
			return block
		}
	}
}

// keyBlockProblem explains why block, the key block found in data (nil:
// none), is not an unencrypted RSA private key, when it can tell.
func keyBlockProblem(file string, data []byte, block *pem.Block) (outcome, bool) {
	if block == nil {
		switch {
		case len(bytes.TrimSpace(data)) == 0:
			return failed(file+": the file is empty", "give the bot's private key file: it starts with -----BEGIN PRIVATE KEY-----"), true
		case isPKCS12(data):
			return failed(file+": a PKCS#12 file (a certificate and its key), not a PEM private key",
				"this is a PKCS#12 certificate: "+pkcs12KeyAdvice(file)), true
		case data[0] == 0x30: // an ASN.1 SEQUENCE: DER
			return failed(file+": a binary (DER) file, not PEM", "convert it: openssl pkey -inform DER -in "+file+" -out bot-private.pem"), true
		}
		return failed(file+": no PEM private key in the file",
			"a key file starts with -----BEGIN PRIVATE KEY----- (PKCS#8) or -----BEGIN RSA PRIVATE KEY----- (PKCS#1)"), true
	}
	switch block.Type {
	case "ENCRYPTED PRIVATE KEY":
		return failed(file+": an encrypted PKCS#8 key", adviceDecrypt), true
	case "RSA PRIVATE KEY":
		if _, encrypted := block.Headers["Proc-Type"]; encrypted {
			return failed(file+": an encrypted PKCS#1 key", adviceDecrypt), true
		}
	case "PUBLIC KEY", "RSA PUBLIC KEY":
		return failed(file+": a public key, not the private key",
			"--key needs the private half; the public half is what you upload in the Admin Console"), true
	case "CERTIFICATE":
		return failed(file+": a certificate, not a private key",
			"for certificate login use --cert FILE --sessionauth URL; for RSA login --key needs the bot's private key"), true
	case "EC PRIVATE KEY":
		return failed(file+": an EC key; Symphony's RSA login needs an RSA key", adviceNewKey), true
	case "OPENSSH PRIVATE KEY":
		return failed(file+": an OpenSSH key, not PEM",
			"convert a copy of it to PKCS#8: ssh-keygen -p -m PKCS8 -f COPY, or "+adviceNewKey), true
	case "PRIVATE KEY":
		if keysize.PKCS8(block.Bytes) != nil {
			break // ParsePrivateKey says why, without parsing it
		}
		if key, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			if _, ok := key.(*rsa.PrivateKey); !ok {
				return failed(fmt.Sprintf("%s: a PKCS#8 %T; Symphony's RSA login needs an RSA key", file, key), adviceNewKey), true
			}
		}
	}
	return outcome{}, false
}

// checkCertFile reads --cert as the login does (PKCS#12, or PEM when it looks
// like PEM) and checks the certificate: its key, its CN and its dates.
func (c *checker) checkCertFile(context.Context) outcome {
	file, password := c.flags.certFile, c.flags.certPassword()
	data, err := fileread.Read(file, maxCredentialBytes)
	if err != nil {
		return readFailure("--cert", err)
	}
	format := "PKCS#12"
	var cert tls.Certificate
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		format = "PEM"
		if cert, err = symauth.ParsePEM(data); err != nil {
			return pemCertFailure(file, data, err)
		}
	} else if cert, err = symauth.ParsePKCS12(data, password); err != nil {
		return pkcs12Failure(file, password, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return failed(fmt.Sprintf("%s: the certificate cannot be parsed: %v", file, err), "get the bot's certificate again")
		}
	}
	if o, bad := c.certProblem(file, cert); bad {
		return o
	}
	c.cert = cert
	leaf := cert.Leaf
	return passed("%s: %s, CN %q, issued by %s, valid until %s", file, format,
		leaf.Subject.CommonName, nameOf(leaf.Issuer), leaf.NotAfter.Format(time.DateOnly))
}

// certProblem explains what makes cert unusable for logging in as the bot:
// a key that is not the certificate's, no CN or another CN than --user, or
// dates that do not include now.
func (c *checker) certProblem(file string, cert tls.Certificate) (outcome, bool) {
	leaf, now := cert.Leaf, time.Now()
	cn := leaf.Subject.CommonName
	switch { // ParsePKCS12 and ParsePEM have checked that the key is the certificate's
	case cn == "":
		return failed(file+": the certificate has no CN", "certificate login uses the CN as the username: get a certificate whose CN is the bot's username"), true
	case c.flags.user != "" && cn != c.flags.user:
		return failed(fmt.Sprintf("%s: the certificate is for %q, not --user %q", file, cn, c.flags.user),
			"certificate login logs in the account named by the certificate's CN: use the bot's own certificate, or fix --user"), true
	case now.After(leaf.NotAfter):
		return failed(fmt.Sprintf("%s: the certificate (CN %q) expired on %s", file, cn, leaf.NotAfter.Format(time.DateOnly)),
			"get a new certificate for the bot (and check this machine's clock)"), true
	case now.Before(leaf.NotBefore):
		return failed(fmt.Sprintf("%s: the certificate (CN %q) is not valid before %s", file, cn, leaf.NotBefore.Format(time.RFC3339)),
			"check this machine's clock and time zone"), true
	}
	return outcome{}, false
}

// pkcs12Failure explains why a PKCS#12 --cert file could not be read: a
// wrong or missing password, or not PKCS#12 at all.
func pkcs12Failure(file, password string, err error) outcome {
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		detail := file + ": wrong password"
		if password == "" {
			detail = file + ": the file needs a password, and none was given"
		}
		return failed(detail, "give the .p12 file's password with --password, or in $"+passwordEnv+" (the emulator's bot.p12 uses "+p12Password+")")
	}
	return failed(fmt.Sprintf("%s: %v", file, err),
		"--cert needs a PKCS#12 file (.p12, .pfx) holding one certificate and its key "+
			"(openssl pkcs12 -export -in cert.pem -inkey key.pem -out bot.p12), or a PEM file holding both")
}

// pemCertFailure explains why a PEM --cert file could not be read, from the
// PEM blocks it holds.
func pemCertFailure(file string, data []byte, err error) outcome {
	var certs, keys, encrypted int
	for rest := bytes.ReplaceAll(data, []byte(`\n`), []byte("\n")); ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		_, procType := block.Headers["Proc-Type"]
		switch {
		case block.Type == "CERTIFICATE":
			certs++
		case block.Type == "ENCRYPTED PRIVATE KEY" || procType:
			encrypted++
		case strings.HasSuffix(block.Type, "PRIVATE KEY"):
			keys++
		}
	}
	const both = "a PEM --cert file holds the certificate and its unencrypted private key: cat bot-cert.pem bot-key.pem > bot.pem"
	switch {
	case encrypted > 0:
		return failed(file+": the private key is encrypted", adviceDecrypt)
	case certs == 0:
		return failed(file+": no certificate (BEGIN CERTIFICATE) in the file", both)
	case keys == 0:
		return failed(file+": no private key in the file", both)
	}
	return failed(fmt.Sprintf("%s: %v", file, err), "the key must be the certificate's own, and neither may be damaged: "+both)
}

// checkCAFile checks that --ca holds at least one certificate, and sets the
// roots the later steps trust.
func (c *checker) checkCAFile(context.Context) outcome {
	file := c.flags.caFile
	data, err := fileread.Read(file, maxCredentialBytes)
	if err != nil {
		return readFailure("--ca", err)
	}
	var subjects []string
	for rest := data; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return failed(fmt.Sprintf("%s: a malformed certificate: %v", file, err), "get the CA certificate again, in PEM")
		}
		subjects = append(subjects, cert.Subject.String())
	}
	if len(subjects) == 0 {
		return failed(file+": no PEM certificate in the file",
			"--ca needs CA certificates in PEM (-----BEGIN CERTIFICATE-----), e.g. the emulator's ca.pem; "+
				"convert a DER file with: openssl x509 -inform DER -in ca.cer -out ca.pem")
	}
	if c.roots, err = c.flags.rootCAs(); err != nil {
		return failed(err.Error(), "check the file given to --ca")
	}
	if len(subjects) == 1 {
		return passed("%s: 1 certificate: %s", file, subjects[0])
	}
	return passed("%s: %d certificates, the first: %s", file, len(subjects), subjects[0])
}

// readFailure explains why the file of flag could not be read.
func readFailure(flag string, err error) outcome {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return failed(err.Error(), "check the path given to "+flag)
	case errors.Is(err, fs.ErrPermission):
		return failed(err.Error(), "this user may not read the file: check its permissions (ls -l)")
	case errors.Is(err, fileread.ErrNotRegular):
		return failed(err.Error(), flag+" needs the path of a file, not of a pipe or a device")
	case errors.Is(err, fileread.ErrTooLarge) && flag == "--config":
		return failed(err.Error(), "no configuration file is that large: check the path given to "+flag)
	case errors.Is(err, fileread.ErrTooLarge):
		return failed(err.Error(), "no key or certificate file is that large: check the path given to "+flag)
	}
	return failed(err.Error(), flag+" needs a readable file")
}

// nameOf is a certificate name's CN, or its whole form when it has no CN.
func nameOf(n pkix.Name) string {
	if n.CommonName != "" {
		return n.CommonName
	}
	return n.String()
}
