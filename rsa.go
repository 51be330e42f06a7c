package symauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Paths of the RSA login endpoints.
const (
	rsaSessionLoginPath    = "/login/pubkey/authenticate"
	rsaKeyManagerLoginPath = "/relay/pubkey/authenticate"
)

// jwtLifetime is how far ahead the login JWT's exp is set: the pod refuses more
// than 5 minutes, and both official SDKs use 240 s to stay clear of clock skew.
const jwtLifetime = 240 * time.Second

// minRSAKeyBits is the smallest RSA key accepted.
const minRSAKeyBits = 2048

// RSAConfig configures the RSA workflow: a JWT signed with the bot's private
// key is exchanged for a session token at the pod and a key manager token at
// the key manager.
type RSAConfig struct {
	PodURL         string        // e.g. "https://acme.symphony.com"
	KeyManagerURL  string        // "" means PodURL
	AgentURL       string        // optional: enables the SKD check
	Username       string        // the bot's username: the JWT's sub
	PrivateKey     crypto.Signer // *rsa.PrivateKey, or any signer with an RSA public key (HSM, KMS)
	SkipKeyManager bool          // never log in to the key manager
	HTTPClient     *http.Client  // sends the login calls (proxy, root CAs); nil: a private default
	Retry          RetryPolicy   // retries of each login call; zero: the default
}

// RSA logs a bot in with the RSA workflow. It is a TokenSource that logs in on
// every Token call (wrap it in a Session, as NewTransport does, to cache).
// It is safe for concurrent use.
type RSA struct {
	username  string
	signer    crypto.Signer
	endpoints loginEndpoints
	caller    *loginCaller
	now       func() time.Time
}

// NewRSA validates cfg and returns the RSA login. It does not touch the
// network. Every problem in cfg is reported with the name of its field.
func NewRSA(cfg RSAConfig) (*RSA, error) {
	pod, err := parseBaseURL("RSAConfig.PodURL", cfg.PodURL)
	if err != nil {
		return nil, err
	}
	km := pod
	if cfg.KeyManagerURL != "" {
		if km, err = parseBaseURL("RSAConfig.KeyManagerURL", cfg.KeyManagerURL); err != nil {
			return nil, err
		}
	}
	if cfg.AgentURL != "" {
		if _, err := parseBaseURL("RSAConfig.AgentURL", cfg.AgentURL); err != nil {
			return nil, err
		}
	}
	if err := validateUsername("RSAConfig.Username", cfg.Username); err != nil {
		return nil, err
	}
	if err := validateRSASigner("RSAConfig.PrivateKey", cfg.PrivateKey); err != nil {
		return nil, err
	}
	if err := cfg.Retry.validate("RSAConfig.Retry"); err != nil {
		return nil, err
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	r := &RSA{
		username:  cfg.Username,
		signer:    cfg.PrivateKey,
		endpoints: loginEndpoints{sessionURL: pod + rsaSessionLoginPath, sessionPath: rsaSessionLoginPath},
		caller:    newLoginCaller(client, cfg.Retry),
		now:       time.Now,
	}
	if !cfg.SkipKeyManager {
		r.endpoints.keyManagerURL, r.endpoints.keyManagerPath = km+rsaKeyManagerLoginPath, rsaKeyManagerLoginPath
	}
	return r, nil
}

// Token logs in: it signs one JWT and sends it to the pod and, unless
// SkipKeyManager, to the key manager, concurrently. A retried call signs a
// fresh JWT. A failure is an *AuthError.
func (r *RSA) Token(ctx context.Context) (*Token, error) {
	shared, err := r.loginBody()
	if err != nil {
		return nil, &AuthError{Endpoint: rsaSessionLoginPath, Err: err}
	}
	body := func(attempt int) ([]byte, error) {
		if attempt == 0 {
			return shared, nil
		}
		return r.loginBody()
	}
	return r.caller.loginPair(ctx, r.endpoints, body)
}

// loginBody signs a JWT (sub = username, exp = now + 240 s) and returns the
// login request body {"token":"<jwt>"}.
func (r *RSA) loginBody() ([]byte, error) {
	claims := jwt.RegisteredClaims{
		Subject:   r.username,
		ExpiresAt: jwt.NewNumericDate(r.now().Add(jwtLifetime).Truncate(time.Second)),
	}
	signed, err := jwt.NewWithClaims(signingMethodRS512, claims).SignedString(r.signer)
	if err != nil {
		return nil, fmt.Errorf("signing the login JWT: %w", err)
	}
	return json.Marshal(struct {
		Token string `json:"token"`
	}{signed})
}

// String describes the login without key material.
func (r *RSA) String() string {
	return fmt.Sprintf("symauth.RSA{Username:%q PodLogin:%q}", r.username, r.endpoints.sessionURL)
}

// GoString is String, for %#v.
func (r *RSA) GoString() string { return r.String() }

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

func validateRSASigner(field string, s crypto.Signer) error {
	if s == nil {
		return fmt.Errorf("symauth: %s is missing", field)
	}
	pub, ok := s.Public().(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("symauth: %s has a %T; Symphony needs an RSA key", field, s.Public())
	}
	if bits := pub.N.BitLen(); bits < minRSAKeyBits {
		return fmt.Errorf("symauth: %s is a %d-bit RSA key; at least %d bits are required", field, bits, minRSAKeyBits)
	}
	return nil
}

func validateUsername(field, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("symauth: %s is missing", field)
	case strings.TrimSpace(name) != name:
		return fmt.Errorf("symauth: %s has leading or trailing white space", field)
	}
	return nil
}

// ParsePrivateKey parses an RSA private key in PEM: PKCS#1 ("BEGIN RSA PRIVATE
// KEY") or PKCS#8 ("BEGIN PRIVATE KEY"). A literal backslash-n ("\n" written
// as two characters, as keys passed through environment variables often are)
// is read as a newline. Encrypted keys are not supported. Errors never contain
// key material.
func ParsePrivateKey(pemBytes []byte) (*rsa.PrivateKey, error) {
	text := strings.ReplaceAll(string(pemBytes), `\n`, "\n")
	for rest := []byte(text); ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("symauth: ParsePrivateKey: no PEM private key found (expected BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY)")
		}
		switch block.Type {
		case "RSA PRIVATE KEY":
			if _, encrypted := block.Headers["Proc-Type"]; encrypted {
				return nil, errors.New("symauth: ParsePrivateKey: the key is encrypted; decrypt it first (openssl pkey -in key.pem -out plain.pem)")
			}
			key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("symauth: ParsePrivateKey: malformed PKCS#1 RSA private key")
			}
			return key, nil
		case "PRIVATE KEY":
			key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("symauth: ParsePrivateKey: malformed PKCS#8 private key")
			}
			rsaKey, ok := key.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("symauth: ParsePrivateKey: the key is %s; Symphony needs an RSA key", keyKind(key))
			}
			return rsaKey, nil
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("symauth: ParsePrivateKey: the key is encrypted; decrypt it first (openssl pkey -in key.pem -out plain.pem)")
		case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
			return nil, fmt.Errorf("symauth: ParsePrivateKey: found a %s, not a private key", strings.ToLower(block.Type))
		case "EC PRIVATE KEY", "OPENSSH PRIVATE KEY":
			return nil, fmt.Errorf("symauth: ParsePrivateKey: found an %s; Symphony needs an RSA key in PEM", block.Type)
		}
		// Any other block (EC PARAMETERS …): keep looking.
	}
}

// keyKind names a parsed key's type without printing it.
func keyKind(key any) string {
	switch key.(type) {
	case *rsa.PrivateKey:
		return "an RSA key"
	case interface{ Public() crypto.PublicKey }:
		return fmt.Sprintf("a %T key", key)
	default:
		return "not a private key"
	}
}
