package symauthtest

import (
	"crypto/rand"
	"fmt"

	"github.com/golang-jwt/jwt/v5"
)

// How the server signs the session tokens and Common JWT bearer tokens it
// issues.
//
// A real pod signs both RS512 with its own RSA key. Nothing outside the pod
// checks those signatures: clients treat a session token as opaque but for
// the payload's canUseSimplifiedKeyDelivery, which SDKs decode without
// verifying (symauth, BDK Java's JwtHelper.isSkdEnabled), and read only a
// bearer token's exp, also unverified (symauth's bearerExpiry, BDK Java's
// JwtHelper.extractExpirationDate); only the pod verifies its bearer tokens,
// on each API call. An RSA-2048 signature, though, costs a private-key
// operation of about 0.7 ms on a fast core (several times that on a busy
// one), and a user login signs two (session and bearer): that bounds the
// fake's login capacity at about 1 000 logins/s on 2 cores, so that a load
// test of a client would measure its fake pod instead.
//
// So by default the server signs both tokens HS512 with a random key of its
// own, made at Start: the same JWT form (base64url header.payload.signature,
// header {"alg":…,"typ":"JWT"}), the same claims, a payload any client can
// decode, and a signature that only this server can make and check, in a few
// microseconds. Options.RS512Tokens signs them RS512 with the server's RSA
// key instead, exactly like a real pod (verifiable with the certificate of
// GET /pod/v1/podcert), for a test that checks a token's alg or signature,
// at two RSA signatures per login. User identity JWTs and the pod
// certificate are RS512 and RSA either way: extension apps verify them.

// hmacKeySize is the length in bytes of the HS512 key: SHA-512's block
// size, the longest key HMAC uses as it is.
const hmacKeySize = 128

// tokenSigner signs and verifies a server's session and bearer tokens. It
// is set at Start and not changed after; safe for concurrent use.
type tokenSigner struct {
	method  jwt.SigningMethod // jwt.SigningMethodHS512 or jwt.SigningMethodRS512
	hmacKey []byte            // the HS512 key; nil with RS512
}

// newTokenSigner returns the signer of Options.RS512Tokens rs512: with it,
// RS512 with the server's RSA key; without, HS512 with a new random key.
func newTokenSigner(rs512 bool) tokenSigner {
	if rs512 {
		return tokenSigner{method: jwt.SigningMethodRS512}
	}
	key := make([]byte, hmacKeySize)
	rand.Read(key) // never fails: crypto/rand.Read crashes the program instead
	return tokenSigner{method: jwt.SigningMethodHS512, hmacKey: key}
}

// tokenClaims are the claims of a session token (sub, userId but in an app
// session, sessionId, iat, and canUseSimplifiedKeyDelivery when true) and of
// a bearer token (sub, userId, sessionId, iat, exp, jti); a struct, cheaper
// to encode than a jwt.MapClaims, whose keys are sorted at each encoding.
type tokenClaims struct {
	jwt.RegisteredClaims
	UserID    int64  `json:"userId,omitempty"` // user ids start at 1
	SessionID string `json:"sessionId"`
	SKD       bool   `json:"canUseSimplifiedKeyDelivery,omitempty"`
}

// signToken signs claims as a session or bearer token (what names it in an
// error).
func (s *Server) signToken(what string, claims *tokenClaims) (string, error) {
	var key any = s.tokenSigner.hmacKey
	if s.tokenSigner.hmacKey == nil {
		rsaKey, err := s.signer()
		if err != nil {
			return "", err
		}
		key = rsaKey
	}
	token, err := jwt.NewWithClaims(s.tokenSigner.method, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign %s token: %w", what, err)
	}
	return token, nil
}

// tokenVerifyKey returns the key that verifies the server's session and
// bearer tokens.
func (s *Server) tokenVerifyKey() (any, error) {
	if s.tokenSigner.hmacKey != nil {
		return s.tokenSigner.hmacKey, nil
	}
	key, err := s.signer()
	if err != nil {
		return nil, err
	}
	return &key.PublicKey, nil
}
