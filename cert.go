package symauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/symauth/symauth/internal/keysize"
	"github.com/symauth/symauth/internal/login"
	"github.com/symauth/symauth/internal/pkcs12guard"
	"github.com/symauth/symauth/internal/transport"
	"github.com/symauth/symauth/internal/validate"
	"software.sslmate.com/src/go-pkcs12"
)

// Paths of the certificate login endpoints.
const (
	certSessionLoginPath    = "/sessionauth/v1/authenticate"
	certKeyManagerLoginPath = "/keyauth/v1/authenticate"
)

// CertConfig configures the certificate workflow: the bot presents its client
// certificate over mutual TLS to the session auth and key manager endpoints.
type CertConfig struct {
	SessionAuthURL string          // e.g. "https://acme-api.symphony.com:8444"
	KeyManagerURL  string          // "" means SessionAuthURL
	AgentURL       string          // optional: enables the SKD check
	Certificate    tls.Certificate // CN = bot username; see ParsePKCS12 and ParsePEM
	RootCAs        *x509.CertPool  // nil: system roots
	SkipKeyManager bool            // never log in to the key manager

	// SkipAgentVersionCheck: as RSAConfig.SkipAgentVersionCheck.
	SkipAgentVersionCheck bool
	Retry                 RetryPolicy // retries of each login call; zero: the default

	// Proxy chooses the proxy of the login calls; nil: from the environment
	// (HTTPS_PROXY, NO_PROXY), as http.DefaultTransport does.
	Proxy func(*http.Request) (*url.URL, error)

	// PodURL is the pod the bot's API calls go to, e.g.
	// "https://acme.symphony.com". With it, a Transport sends the tokens to
	// the pod and agent origins only (see Transport); without it, to any
	// https origin. Required with CommonJWT: the bearer token is renewed there.
	PodURL string

	// CommonJWT makes requests carry "Authorization: Bearer …" instead of
	// the sessionToken header (opt-in; the pod must support it).
	CommonJWT bool

	// Logger: as RSAConfig.Logger.
	Logger *slog.Logger
}

// Cert logs a bot in with its client certificate. It is a TokenSource that
// logs in on every Token call (wrap it in a Session, as NewTransport does, to
// cache). It is safe for concurrent use.
//
// Its login calls use an http.Transport of its own (built like
// http.DefaultTransport, proxy from the environment) holding the certificate;
// no shared transport or tls.Config is modified.
type Cert struct {
	username string // the certificate's CN
	bot      botLogin
}

// NewCert validates cfg and returns the certificate login. It does not touch
// the network. Every problem in cfg is reported with the name of its field.
func NewCert(cfg CertConfig) (*Cert, error) {
	v := validate.Fields{Prefix: "symauth: CertConfig."}
	sa := v.TLSBaseURL("SessionAuthURL", cfg.SessionAuthURL)
	km := sa
	if cfg.KeyManagerURL != "" {
		km = v.TLSBaseURL("KeyManagerURL", cfg.KeyManagerURL)
	}
	var agent, pod string
	if cfg.AgentURL != "" {
		agent = v.BaseURL("AgentURL", cfg.AgentURL)
	}
	switch {
	case cfg.CommonJWT && cfg.PodURL == "":
		v.Add(errors.New("symauth: CertConfig.PodURL is missing: CommonJWT renews its bearer tokens at the pod"))
	case cfg.PodURL != "":
		pod = v.BaseURL("PodURL", cfg.PodURL)
	}
	v.Retry("Retry", login.Retry(cfg.Retry))
	if err := v.Err(); err != nil {
		return nil, err
	}
	leaf, err := validate.ClientCertificate("symauth: CertConfig.Certificate", cfg.Certificate, time.Now())
	if err != nil {
		return nil, err
	}
	client := mutualTLSClient(cfg.Certificate, cfg.RootCAs, cfg.Proxy)
	c := &Cert{username: leaf.Subject.CommonName}
	c.bot = botLogin{
		caller:   newLoginCaller(client, cfg.Retry, cfg.Logger),
		workflow: "certificate",
		user:     leaf.Subject.CommonName,
		session:  login.Request{URL: sa + certSessionLoginPath, Endpoint: certSessionLoginPath},
	}
	if !cfg.SkipKeyManager {
		c.bot.keyManager = login.Request{URL: km + certKeyManagerLoginPath, Endpoint: certKeyManagerLoginPath}
		c.bot.skd = newKeyDelivery(skdAgent(agent, cfg.SkipAgentVersionCheck), newLoginCaller(client, agentCheckRetry, cfg.Logger))
	}
	if cfg.CommonJWT {
		c.bot.commonJWT = newCommonJWT(pod)
	}
	if pod != "" {
		c.bot.origins = newOrigins(pod, agent)
	}
	return c, nil
}

// Token logs in: it POSTs, with no body, to the session auth endpoint and,
// unless SkipKeyManager or simplified key delivery applies, to the key
// manager, at the same time, over mutual TLS. A failure is an *AuthError.
func (c *Cert) Token(ctx context.Context) (*Token, error) { return c.bot.token(ctx) }

// renew renews a token near its expiry (see renewal).
func (c *Cert) renew(ctx context.Context, old *Token) (*Token, error) {
	return c.bot.refresh(ctx, old)
}

func (c *Cert) symphonyOrigins() *origins { return c.bot.origins }

func (c *Cert) sourceLogger() *slog.Logger { return c.bot.caller.Logger() }

// Username is the bot's username: the certificate's subject CN.
func (c *Cert) Username() string { return c.username }

// String describes the login without key material.
func (c *Cert) String() string {
	return fmt.Sprintf("symauth.Cert{Username:%q SessionAuthLogin:%q}", c.username, c.bot.session.URL)
}

// GoString is String, for %#v.
func (c *Cert) GoString() string { return c.String() }

// mutualTLSClient is a client of its own (built like http.DefaultTransport)
// that presents cert, trusts roots (nil: the system's) and uses proxy (nil:
// from the environment). No shared transport or tls.Config is modified.
func mutualTLSClient(cert tls.Certificate, roots *x509.CertPool, proxy func(*http.Request) (*url.URL, error)) *http.Client {
	t := transport.New()
	if proxy != nil {
		t.Proxy = proxy
	}
	t.TLSClientConfig = &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      roots,
		MinVersion:   tls.VersionTLS12,
	}
	return &http.Client{Transport: t}
}

// ParsePKCS12 parses a PKCS#12 (.p12, .pfx) file — the format BDK Java users
// have — holding the bot's certificate, its private key and optionally its
// CA chain. A file asking for more than 1 million key-derivation
// iterations in one place (4 million in all), or holding an RSA key above
// 16384 bits, is refused before it is decoded. Errors never contain the password or key material.
func ParsePKCS12(data []byte, password string) (tls.Certificate, error) {
	if len(data) == 0 {
		return tls.Certificate{}, errors.New("symauth: ParsePKCS12: the data is empty")
	}
	if err := pkcs12guard.Check(data, password); err != nil {
		return tls.Certificate{}, fmt.Errorf("symauth: ParsePKCS12: %w", err)
	}
	key, leaf, chain, err := pkcs12.DecodeChain(data, password)
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return tls.Certificate{}, fmt.Errorf("symauth: ParsePKCS12: wrong password: %w", err)
	case err != nil:
		return tls.Certificate{}, fmt.Errorf("symauth: ParsePKCS12: not a readable PKCS#12 file with one key and certificate: %w", err)
	}
	if err := validate.KeyMatchesCertificate(key, leaf); err != nil {
		return tls.Certificate{}, fmt.Errorf("symauth: ParsePKCS12: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	for _, ca := range chain {
		cert.Certificate = append(cert.Certificate, ca.Raw)
	}
	return cert, nil
}

// ParsePEM parses a certificate and its unencrypted private key from PEM — one
// file holding both, as BDK Python uses, or the two files' contents
// concatenated. A literal backslash-n is read as a newline. RSA keys above
// 16384 bits are refused. Errors never contain key material.
func ParsePEM(data []byte) (tls.Certificate, error) {
	text := []byte(strings.ReplaceAll(string(data), `\n`, "\n"))
	if err := checkPEMKeySize(text); err != nil {
		return tls.Certificate{}, fmt.Errorf("symauth: ParsePEM: %w", err)
	}
	cert, err := tls.X509KeyPair(text, text)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("symauth: ParsePEM: %w", err)
	}
	return cert, nil
}

// checkPEMKeySize checks the size of the key tls.X509KeyPair will parse: the
// first PEM block whose type ends in "PRIVATE KEY", in every DER form it
// tries.
func checkPEMKeySize(text []byte) error {
	for rest := text; ; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return nil
		}
		if block.Type == "PRIVATE KEY" || strings.HasSuffix(block.Type, " PRIVATE KEY") {
			return keysize.PrivateKey(block.Bytes)
		}
	}
}
