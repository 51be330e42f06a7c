package login

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// jwtLifetime is how far ahead a login JWT's exp is set: the pod refuses more
// than 5 minutes, and both official SDKs use 240 s to stay clear of clock skew.
const jwtLifetime = 240 * time.Second

// JWT signs the JWTs that RSA logins send: sub = Subject (a bot's username or
// an app's id), exp = now + jwtLifetime, RS512. It is safe for concurrent
// use once made.
type JWT struct {
	Subject string
	Signer  crypto.Signer    // holds an RSA key
	Now     func() time.Time // the clock that sets exp
}

// NewBody starts signing the JWT of one login and returns the body maker of
// its calls, whose attempt 0 waits for that JWT (the first attempts share
// it) while a retry waits for it too and then signs a fresh one (so one login
// never has two signatures under way: an HSM handle may not allow it), and,
// when the body's length can be known before the signature (an RSA key: the
// signature is as long as its modulus), that first body as a Deferred, so
// that a call can dial and send its headers while the JWT is being signed.
// A first signature that failed fails the retries too. It does not touch the
// network.
func (j *JWT) NewBody() (func(attempt int) ([]byte, error), *Deferred) {
	signing, err := jwt.NewWithClaims(signingMethodRS512, j.claims()).SigningString()
	first := &Deferred{done: make(chan struct{}), length: -1}
	if err != nil {
		first.err = fmt.Errorf("signing the login JWT: %w", err)
		close(first.done)
	} else {
		if n, ok := j.bodyLength(signing); ok {
			first.length = n
		}
		go first.make(func() ([]byte, error) { return j.bodyOf(signing) })
	}
	maker := func(attempt int) ([]byte, error) {
		data, err := first.wait()
		if attempt == 0 || err != nil {
			return data, err
		}
		return j.body()
	}
	if first.length < 0 {
		return maker, nil
	}
	return maker, first
}

// bodyLength is the length of the login body of the JWT whose header and
// payload are signing, when the key tells the signature's length.
func (j *JWT) bodyLength(signing string) (int, bool) {
	pub, ok := j.Signer.Public().(*rsa.PublicKey)
	if !ok || pub.N == nil {
		return 0, false
	}
	return len(bodyPrefix) + len(signing) + 1 + base64.RawURLEncoding.EncodedLen(pub.Size()) + len(bodySuffix), true
}

// body signs a JWT and returns the login request body {"token":"<jwt>"}.
func (j *JWT) body() ([]byte, error) {
	signing, err := jwt.NewWithClaims(signingMethodRS512, j.claims()).SigningString()
	if err != nil {
		return nil, fmt.Errorf("signing the login JWT: %w", err)
	}
	return j.bodyOf(signing)
}

// bodyOf signs the JWT whose header and payload are signing, and returns the
// login request body holding it; a signature that is not as long as the
// key's modulus is an error. Its error never holds key material.
func (j *JWT) bodyOf(signing string) ([]byte, error) {
	sig, err := signingMethodRS512.Sign(signing, j.Signer)
	if err != nil {
		return nil, fmt.Errorf("signing the login JWT: %w", err)
	}
	data := []byte(bodyPrefix + signing + "." + base64.RawURLEncoding.EncodeToString(sig) + bodySuffix)
	if n, ok := j.bodyLength(signing); ok && len(data) != n {
		return nil, errors.New("signing the login JWT: a signature of unexpected length")
	}
	return data, nil
}

// The login request body around a JWT, whose characters (base64url and
// dots) JSON never escapes.
const bodyPrefix, bodySuffix = `{"token":"`, `"}`

// claims are the claims of a login JWT signed now.
func (j *JWT) claims() jwt.RegisteredClaims {
	return jwt.RegisteredClaims{
		Subject:   j.Subject,
		ExpiresAt: jwt.NewNumericDate(j.Now().Add(jwtLifetime).Truncate(time.Second)),
	}
}

// Sign returns a freshly signed JWT. Its error never holds key material.
func (j *JWT) Sign() (string, error) {
	body, err := j.body()
	if err != nil {
		return "", err
	}
	return string(body[len(bodyPrefix) : len(body)-len(bodySuffix)]), nil
}

// Deferred is the body of a call's first attempt while it is being made (a
// JWT being signed), with its length known already. Safe for concurrent use.
type Deferred struct {
	length int           // the body's length in bytes
	done   chan struct{} // closed once data or err is set
	data   []byte
	err    error
}

// make sets the body from makeBody, on a goroutine of its own: a panic or a
// runtime.Goexit there (a signer's, an HSM's) becomes the body's error rather
// than ending the process.
func (d *Deferred) make(makeBody func() ([]byte, error)) {
	returned := false
	defer func() {
		if !returned {
			d.data, d.err = nil, errors.New("signing the login JWT: the signer called runtime.Goexit")
			if v := recover(); v != nil {
				d.err = fmt.Errorf("signing the login JWT: the signer panicked: %v", v)
			}
		}
		close(d.done)
	}()
	d.data, d.err = makeBody()
	returned = true
}

func (d *Deferred) wait() ([]byte, error) {
	<-d.done
	return d.data, d.err
}

// failed reports whether the body could not be made, without waiting.
func (d *Deferred) failed() error {
	select {
	case <-d.done:
		return d.err
	default:
		return nil
	}
}

// reader returns a reader of the body: its Len is known at once, and its
// first Read waits for the body.
func (d *Deferred) reader() io.Reader { return &deferredReader{d: d} }

type deferredReader struct {
	d    *Deferred
	rest *bytes.Reader // nil until the body is made
}

// Len is the body's length, which go-retryablehttp sends as Content-Length.
func (r *deferredReader) Len() int { return r.d.length }

func (r *deferredReader) Read(p []byte) (int, error) {
	if r.rest == nil {
		data, err := r.d.wait()
		if err != nil {
			return 0, err
		}
		r.rest = bytes.NewReader(data)
	}
	return r.rest.Read(p)
}

// signingMethodRS512 signs RS512 (RSASSA-PKCS1-v1_5 with SHA-512) with any
// crypto.Signer holding an RSA key, so that keys in an HSM or a cloud KMS
// work. It is not registered with jwt: it is only used to sign.
var signingMethodRS512 jwt.SigningMethod = rs512Signer{}

type rs512Signer struct{}

func (rs512Signer) Alg() string { return "RS512" }

func (rs512Signer) Sign(signingString string, key any) ([]byte, error) {
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, jwt.ErrInvalidKeyType
	}
	digest := sha512.Sum512([]byte(signingString))
	return signer.Sign(rand.Reader, digest[:], crypto.SHA512)
}

func (rs512Signer) Verify(signingString string, sig []byte, key any) error {
	return jwt.SigningMethodRS512.Verify(signingString, sig, key)
}
