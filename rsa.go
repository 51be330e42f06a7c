package symauth

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
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

	// CommonJWT makes requests carry "Authorization: Bearer …" instead of
	// the sessionToken header (opt-in; the pod must support it). The bearer
	// token is renewed through the pod shortly before it expires.
	CommonJWT bool

	// Logger, if set, gets a Debug line per failed login call that may be
	// retried, and is the default Logger of a Session made for this login
	// (see SessionOptions.Logger). Never a token or key.
	Logger *slog.Logger
}

// RSA logs a bot in with the RSA workflow. It is a TokenSource that logs in on
// every Token call (wrap it in a Session, as NewTransport does, to cache).
// It is safe for concurrent use.
type RSA struct {
	jwt loginJWT // sub = the bot's username
	bot botLogin
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
	var agent string
	if cfg.AgentURL != "" {
		if agent, err = parseBaseURL("RSAConfig.AgentURL", cfg.AgentURL); err != nil {
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
	r := &RSA{jwt: loginJWT{subject: cfg.Username, signer: cfg.PrivateKey, now: time.Now}}
	r.bot = botLogin{
		caller:   newLoginCaller(client, cfg.Retry, cfg.Logger),
		workflow: "rsa",
		session:  loginRequest{url: pod + rsaSessionLoginPath, endpoint: rsaSessionLoginPath},
		newBody:  r.jwt.newBody,
	}
	if !cfg.SkipKeyManager {
		r.bot.keyManager = loginRequest{url: km + rsaKeyManagerLoginPath, endpoint: rsaKeyManagerLoginPath}
		r.bot.skd = newKeyDelivery(agent)
	}
	if cfg.CommonJWT {
		r.bot.commonJWT = newCommonJWT(pod)
	}
	return r, nil
}

// Token logs in: it signs one JWT and sends it to the pod and, unless
// SkipKeyManager or simplified key delivery applies, to the key manager, at
// the same time. A retried call signs a fresh JWT. A failure is an *AuthError.
func (r *RSA) Token(ctx context.Context) (*Token, error) { return r.bot.token(ctx) }

// Refresh renews a token near its expiry: with CommonJWT, its bearer token
// through the pod (a new login if the pod refuses the session); otherwise by a
// new login. A Session calls it; it is rarely needed directly.
func (r *RSA) Refresh(ctx context.Context, old *Token) (*Token, error) {
	return r.bot.refresh(ctx, old)
}

// loginJWT signs the JWTs that RSA logins send: sub = subject (a bot's
// username or an app's id), exp = now + 240 s, RS512.
type loginJWT struct {
	subject string
	signer  crypto.Signer
	now     func() time.Time
}

// newBody signs the JWT of one login and returns the body maker of its
// calls: the first attempts share that JWT, retries sign a fresh one.
func (j *loginJWT) newBody() (func(attempt int) ([]byte, error), error) {
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
func (j *loginJWT) body() ([]byte, error) {
	signed, err := j.sign()
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		Token string `json:"token"`
	}{signed})
}

func (j *loginJWT) sign() (string, error) {
	claims := jwt.RegisteredClaims{
		Subject:   j.subject,
		ExpiresAt: jwt.NewNumericDate(j.now().Add(jwtLifetime).Truncate(time.Second)),
	}
	signed, err := jwt.NewWithClaims(signingMethodRS512, claims).SignedString(j.signer)
	if err != nil {
		return "", fmt.Errorf("signing the login JWT: %w", err)
	}
	return signed, nil
}

func (r *RSA) sourceLogger() *slog.Logger { return r.bot.caller.logger }

// String describes the login without key material.
func (r *RSA) String() string {
	return fmt.Sprintf("symauth.RSA{Username:%q PodLogin:%q}", r.jwt.subject, r.bot.session.url)
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
				return nil, fmt.Errorf("symauth: ParsePrivateKey: this is %s; Symphony needs an RSA key", keyKind(key))
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

// keyKind names a parsed key's algorithm without printing it.
func keyKind(key any) string {
	switch key.(type) {
	case *ecdsa.PrivateKey:
		return "an ECDSA key"
	case ed25519.PrivateKey:
		return "an Ed25519 key"
	case *ecdh.PrivateKey:
		return "an ECDH key"
	default:
		return "not an RSA key"
	}
}
