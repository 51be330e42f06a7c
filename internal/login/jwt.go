package login

import (
	"crypto"
	"crypto/rand"
	"crypto/sha512"
	"encoding/json"
	"fmt"
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

// NewBody signs the JWT of one login and returns the body maker of its
// calls: the first attempts share that JWT, retries sign a fresh one.
func (j *JWT) NewBody() (func(attempt int) ([]byte, error), error) {
	shared, err := j.body()
	if err != nil {
		return nil, err
	}
	return func(attempt int) ([]byte, error) {
		if attempt == 0 {
			return shared, nil
		}
		return j.body()
	}, nil
}

// body signs a JWT and returns the login request body {"token":"<jwt>"}.
func (j *JWT) body() ([]byte, error) {
	signed, err := j.Sign()
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Token string `json:"token"`
	}{signed})
}

// Sign returns a freshly signed JWT. Its error never holds key material.
func (j *JWT) Sign() (string, error) {
	claims := jwt.RegisteredClaims{
		Subject:   j.Subject,
		ExpiresAt: jwt.NewNumericDate(j.Now().Add(jwtLifetime).Truncate(time.Second)),
	}
	signed, err := jwt.NewWithClaims(signingMethodRS512, claims).SignedString(j.Signer)
	if err != nil {
		return "", fmt.Errorf("signing the login JWT: %w", err)
	}
	return signed, nil
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
