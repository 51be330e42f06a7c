package symauthtest

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// maxJWTAhead is how far in the future a login JWT's exp may be: the pod
// refuses an exp more than 5 minutes ahead.
const maxJWTAhead = 300 * time.Second

// refusal is a login or API refusal whose message is safe to show and log: a
// human sentence naming the problem, never a token.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

func refusef(format string, args ...any) *refusal {
	return &refusal{msg: fmt.Sprintf(format, args...)}
}

// maxShown caps the length of client-supplied strings (alg, sub) quoted in a
// refusal.
const maxShown = 64

// shown quotes a client-supplied string for a refusal, cut to maxShown bytes.
func shown(s string) string {
	if len(s) > maxShown {
		s = s[:maxShown] + "..."
	}
	return fmt.Sprintf("%q", s)
}

// verifyLoginJWT checks a login JWT as a pod does and returns the user it
// logs in. The JWT must be RS512, its sub a registered user with an RSA key,
// its signature valid for that key, and its exp present, after now and at
// most 5 minutes ahead. iat, a typ header and unknown claims are accepted.
// Every error is a *refusal.
func (s *Server) verifyLoginJWT(raw string) (*user, error) {
	var u *user
	err := s.verifySignedJWT(raw, "user", func(sub string) (*rsa.PublicKey, error) {
		if u = s.users.lookup(sub); u == nil {
			return nil, refusef("unknown user %s", shown(sub))
		}
		if u.rsaKey == nil {
			return nil, refusef("user %s has no RSA public key registered", shown(sub))
		}
		return u.rsaKey, nil
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// verifyAppJWT checks an app login JWT (RSA app login, extension app login)
// by the rules of verifyLoginJWT, with sub a registered app id and the
// signature valid for the app's key. Every error is a *refusal.
func (s *Server) verifyAppJWT(raw string) (*app, error) {
	var a *app
	err := s.verifySignedJWT(raw, "app", func(sub string) (*rsa.PublicKey, error) {
		if a = s.apps.lookup(sub); a == nil {
			return nil, refusef("unknown app %s", shown(sub))
		}
		if a.rsaKey == nil {
			return nil, refusef("app %s has no RSA public key registered", shown(sub))
		}
		return a.rsaKey, nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// verifySignedJWT checks a login JWT whose sub names a subject of kind
// ("user" or "app"); keyOf returns the subject's public key or a refusal.
// Every error is a *refusal.
func (s *Server) verifySignedJWT(raw, kind string, keyOf func(sub string) (*rsa.PublicKey, error)) error {
	if raw == "" {
		return refusef("the request has no token")
	}
	now := s.now()
	keyed := "" // the sub whose key the signature was checked with
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodRS512.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	claims := jwt.MapClaims{}
	token, err := parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		sub, ok := claims["sub"].(string)
		if !ok || sub == "" {
			return nil, refusef("the JWT has no sub claim naming the %s", kind)
		}
		key, err := keyOf(sub)
		if err != nil {
			return nil, err
		}
		keyed = sub
		return key, nil
	})
	if err != nil {
		return loginRefusal(token, kind, keyed, err)
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil { // unreachable: the parser requires a valid exp
		return refusef("the JWT has no valid exp claim")
	}
	if ahead := exp.Sub(now); ahead > maxJWTAhead {
		return refusef("the JWT exp is %s ahead, more than the 5 minutes allowed", ahead.Round(time.Second))
	}
	return nil
}

// loginRefusal turns a golang-jwt error into a refusal. token is what the
// parser got to before failing (maybe nil), and keyed the sub (of kind "user"
// or "app") whose key the signature was checked with ("" if none).
func loginRefusal(token *jwt.Token, kind, keyed string, err error) *refusal {
	var r *refusal
	switch {
	case errors.As(err, &r):
		return r
	case errors.Is(err, jwt.ErrTokenMalformed) || token == nil:
		return refusef("the token is not a well-formed JWT")
	}
	if alg, _ := token.Header["alg"].(string); alg != jwt.SigningMethodRS512.Alg() {
		if alg == "" {
			return refusef("the JWT header has no alg; the pod accepts only RS512")
		}
		return refusef("the JWT algorithm %s is not accepted; the pod accepts only RS512", shown(alg))
	}
	switch {
	case errors.Is(err, jwt.ErrTokenSignatureInvalid) && keyed != "":
		return refusef("the JWT signature does not verify with the public key registered for %s %s", kind, shown(keyed))
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return refusef("the JWT has no exp claim")
	case errors.Is(err, jwt.ErrTokenExpired):
		return refusef("the JWT has expired (its exp is not after the server's now)")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return refusef("the JWT is not valid yet (its nbf is after the server's now)")
	case errors.Is(err, jwt.ErrTokenInvalidClaims):
		return refusef("the JWT has a malformed claim (exp, nbf or iat must be numbers)")
	default:
		return refusef("the JWT is invalid")
	}
}
