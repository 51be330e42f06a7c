package symauth

import (
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/symauth/symauth/internal/keysize"
	"github.com/symauth/symauth/internal/login"
	"github.com/symauth/symauth/internal/validate"
)

// Paths of the RSA login endpoints.
const (
	rsaSessionLoginPath    = "/login/pubkey/authenticate"
	rsaKeyManagerLoginPath = "/relay/pubkey/authenticate"
)

// RSAConfig configures the RSA workflow: a JWT signed with the bot's private
// key is exchanged for a session token at the pod and a key manager token at
// the key manager.
type RSAConfig struct {
	PodURL         string        // e.g. "https://acme.symphony.com"
	KeyManagerURL  string        // "" means PodURL
	AgentURL       string        // the agent; "" means PodURL for the tokens (the cloud layout), and no agent for the SKD check
	Username       string        // the bot's username: the JWT's sub
	PrivateKey     crypto.Signer // *rsa.PrivateKey, or any signer with an RSA public key (HSM, KMS)
	SkipKeyManager bool          // never log in to the key manager

	// SkipAgentVersionCheck makes simplified key delivery trust the session
	// token's claim alone, without asking AgentURL its version, as BDK Java
	// does when a configuration names no agent of its own.
	SkipAgentVersionCheck bool
	HTTPClient            *http.Client // sends the login calls (proxy, root CAs); nil: a default shared by all sources, on http.DefaultTransport's pool while that is an *http.Transport
	Retry                 RetryPolicy  // retries of each login call; zero: the default

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
	jwt login.JWT // sub = the bot's username
	bot botLogin
}

// NewRSA validates cfg and returns the RSA login. It does not touch the
// network. Every problem in cfg is reported with the name of its field.
func NewRSA(cfg RSAConfig) (*RSA, error) {
	v := validate.Fields{Prefix: "symauth: RSAConfig."}
	pod := v.BaseURL("PodURL", cfg.PodURL)
	km := pod
	if cfg.KeyManagerURL != "" {
		km = v.BaseURL("KeyManagerURL", cfg.KeyManagerURL)
	}
	var agent string
	if cfg.AgentURL != "" {
		agent = v.BaseURL("AgentURL", cfg.AgentURL)
	}
	v.Username("Username", cfg.Username)
	v.RSASigner("PrivateKey", cfg.PrivateKey)
	v.Retry("Retry", login.Retry(cfg.Retry))
	if err := v.Err(); err != nil {
		return nil, err
	}
	client := login.ClientOrDefault(cfg.HTTPClient)
	r := &RSA{jwt: login.JWT{Subject: cfg.Username, Signer: cfg.PrivateKey, Now: time.Now}}
	r.bot = botLogin{
		caller:   newLoginCaller(client, cfg.Retry, cfg.Logger),
		workflow: "rsa",
		user:     cfg.Username,
		session:  login.Request{URL: pod + rsaSessionLoginPath, Endpoint: rsaSessionLoginPath},
		newBody:  r.jwt.NewBody,
	}
	if !cfg.SkipKeyManager {
		r.bot.keyManager = login.Request{URL: km + rsaKeyManagerLoginPath, Endpoint: rsaKeyManagerLoginPath}
		r.bot.skd = newKeyDelivery(skdAgent(agent, cfg.SkipAgentVersionCheck), newLoginCaller(client, agentCheckRetry, cfg.Logger))
	}
	if cfg.CommonJWT {
		r.bot.commonJWT = newCommonJWT(pod)
	}
	r.bot.origins = newOrigins(pod, agent)
	return r, nil
}

// Token logs in: it signs one JWT and sends it to the pod and, unless
// SkipKeyManager or simplified key delivery applies, to the key manager, at
// the same time. A retried call signs a fresh JWT. A failure is an *AuthError.
func (r *RSA) Token(ctx context.Context) (*Token, error) { return r.bot.token(ctx) }

// renew renews a token near its expiry (see renewal).
func (r *RSA) renew(ctx context.Context, old *Token) (*Token, error) {
	return r.bot.refresh(ctx, old)
}

func (r *RSA) symphonyOrigins() *origins { return r.bot.origins }

func (r *RSA) sourceLogger() *slog.Logger { return r.bot.caller.Logger() }

// String describes the login without key material.
func (r *RSA) String() string {
	return fmt.Sprintf("symauth.RSA{Username:%q PodLogin:%q}", r.jwt.Subject, r.bot.session.URL)
}

// GoString is String, for %#v.
func (r *RSA) GoString() string { return r.String() }

// ParsePrivateKey parses an RSA private key in PEM: PKCS#1 ("BEGIN RSA PRIVATE
// KEY") or PKCS#8 ("BEGIN PRIVATE KEY"). A literal backslash-n ("\n" written
// as two characters, as keys passed through environment variables often are)
// is read as a newline. Encrypted keys are not supported, nor keys above 16384
// bits. Errors never contain key material.
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
			if err := keysize.PKCS1(block.Bytes); err != nil {
				return nil, fmt.Errorf("symauth: ParsePrivateKey: %w", err)
			}
			key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, errors.New("symauth: ParsePrivateKey: malformed PKCS#1 RSA private key")
			}
			return key, nil
		case "PRIVATE KEY":
			if err := keysize.PKCS8(block.Bytes); err != nil {
				return nil, fmt.Errorf("symauth: ParsePrivateKey: %w", err)
			}
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
