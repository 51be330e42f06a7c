package symauth

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

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
	Certificate    tls.Certificate // CN = bot username; see LoadPKCS12 and LoadPEM
	RootCAs        *x509.CertPool  // nil: system roots
	SkipKeyManager bool            // never log in to the key manager
	Retry          RetryPolicy     // retries of each login call; zero: the default

	// Proxy chooses the proxy of the login calls; nil: from the environment
	// (HTTPS_PROXY, NO_PROXY), as http.DefaultTransport does.
	Proxy func(*http.Request) (*url.URL, error)

	// CommonJWT makes requests carry "Authorization: Bearer …" instead of
	// the sessionToken header (opt-in; the pod must support it). PodURL is
	// then required: the bearer token is renewed there.
	CommonJWT bool
	PodURL    string // e.g. "https://acme.symphony.com"; only used with CommonJWT

	// Logger: as RSAConfig.Logger.
	Logger *slog.Logger
}

// Cert logs a bot in with its client certificate. It is a TokenSource that
// logs in on every Token call (wrap it in a Session, as NewTransport does, to
// cache). It is safe for concurrent use.
//
// Its login calls use a private http.Transport (a clone of
// http.DefaultTransport, proxy from the environment) holding the certificate;
// no shared transport or tls.Config is modified.
type Cert struct {
	username string // the certificate's CN
	bot      botLogin
}

// NewCert validates cfg and returns the certificate login. It does not touch
// the network. Every problem in cfg is reported with the name of its field.
func NewCert(cfg CertConfig) (*Cert, error) {
	sa, err := parseTLSBaseURL("CertConfig.SessionAuthURL", cfg.SessionAuthURL)
	if err != nil {
		return nil, err
	}
	km := sa
	if cfg.KeyManagerURL != "" {
		if km, err = parseTLSBaseURL("CertConfig.KeyManagerURL", cfg.KeyManagerURL); err != nil {
			return nil, err
		}
	}
	var agent, pod string
	if cfg.AgentURL != "" {
		if agent, err = parseBaseURL("CertConfig.AgentURL", cfg.AgentURL); err != nil {
			return nil, err
		}
	}
	if cfg.CommonJWT || cfg.PodURL != "" {
		if pod, err = parseBaseURL("CertConfig.PodURL", cfg.PodURL); err != nil {
			if cfg.PodURL == "" {
				err = errors.New("symauth: CertConfig.PodURL is missing: CommonJWT renews its bearer tokens at the pod")
			}
			return nil, err
		}
	}
	leaf, err := validateClientCertificate("CertConfig.Certificate", cfg.Certificate, time.Now())
	if err != nil {
		return nil, err
	}
	if err := cfg.Retry.validate("CertConfig.Retry"); err != nil {
		return nil, err
	}
	transport := mutualTLSTransport(cfg.Certificate, cfg.RootCAs, cfg.Proxy)
	c := &Cert{username: leaf.Subject.CommonName}
	c.bot = botLogin{
		caller:   newLoginCaller(&http.Client{Transport: transport}, cfg.Retry, cfg.Logger),
		workflow: "certificate",
		session:  loginRequest{url: sa + certSessionLoginPath, endpoint: certSessionLoginPath},
	}
	if !cfg.SkipKeyManager {
		c.bot.keyManager = loginRequest{url: km + certKeyManagerLoginPath, endpoint: certKeyManagerLoginPath}
		c.bot.skd = newKeyDelivery(agent)
	}
	if cfg.CommonJWT {
		c.bot.commonJWT = newCommonJWT(pod)
	}
	return c, nil
}

// Token logs in: it POSTs, with no body, to the session auth endpoint and,
// unless SkipKeyManager or simplified key delivery applies, to the key
// manager, at the same time, over mutual TLS. A failure is an *AuthError.
func (c *Cert) Token(ctx context.Context) (*Token, error) { return c.bot.token(ctx) }

// Refresh renews a token near its expiry: with CommonJWT, its bearer token
// through the pod (a new login if the pod refuses the session); otherwise by a
// new login. A Session calls it; it is rarely needed directly.
func (c *Cert) Refresh(ctx context.Context, old *Token) (*Token, error) {
	return c.bot.refresh(ctx, old)
}

func (c *Cert) sourceLogger() *slog.Logger { return c.bot.caller.logger }

// Username is the bot's username: the certificate's subject CN.
func (c *Cert) Username() string { return c.username }

// String describes the login without key material.
func (c *Cert) String() string {
	return fmt.Sprintf("symauth.Cert{Username:%q SessionAuthLogin:%q}", c.username, c.bot.session.url)
}

// GoString is String, for %#v.
func (c *Cert) GoString() string { return c.String() }

// mutualTLSTransport is a private clone of http.DefaultTransport that presents
// cert, trusts roots (nil: the system's) and uses proxy (nil: from the
// environment). No shared transport or tls.Config is modified.
func mutualTLSTransport(cert tls.Certificate, roots *x509.CertPool, proxy func(*http.Request) (*url.URL, error)) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if proxy != nil {
		t.Proxy = proxy
	}
	t.TLSClientConfig = &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      roots,
		MinVersion:   tls.VersionTLS12,
	}
	return t
}

// parseTLSBaseURL is parseBaseURL that also requires https: mutual TLS needs TLS.
func parseTLSBaseURL(field, raw string) (string, error) {
	u, err := parseBaseURL(field, raw)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(u, "https://") {
		return "", fmt.Errorf("symauth: %s must be https: certificate login needs TLS", field)
	}
	return u, nil
}

// validateClientCertificate checks that cert holds a parsable, currently valid
// leaf with a CN and a private key, and returns the leaf.
func validateClientCertificate(field string, cert tls.Certificate, now time.Time) (*x509.Certificate, error) {
	if len(cert.Certificate) == 0 {
		return nil, fmt.Errorf("symauth: %s is empty (no certificate); see LoadPKCS12 and LoadPEM", field)
	}
	if cert.PrivateKey == nil {
		return nil, fmt.Errorf("symauth: %s has no private key", field)
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("symauth: %s: the certificate cannot be parsed: %w", field, err)
		}
	}
	switch {
	case leaf.Subject.CommonName == "":
		return nil, fmt.Errorf("symauth: %s has an empty subject CN; it must be the bot's username", field)
	case now.After(leaf.NotAfter):
		return nil, fmt.Errorf("symauth: %s (CN %q) expired on %s", field, leaf.Subject.CommonName, leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(leaf.NotBefore):
		return nil, fmt.Errorf("symauth: %s (CN %q) is not valid before %s", field, leaf.Subject.CommonName, leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if err := keyMatchesCertificate(cert.PrivateKey, leaf); err != nil {
		return nil, fmt.Errorf("symauth: %s: %w", field, err)
	}
	return leaf, nil
}

// keyMatchesCertificate checks that key is the private half of leaf's public key.
func keyMatchesCertificate(key any, leaf *x509.Certificate) error {
	priv, ok := key.(interface{ Public() crypto.PublicKey })
	if !ok {
		return errors.New("the private key is of an unsupported type")
	}
	pub, ok := priv.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(leaf.PublicKey) {
		return fmt.Errorf("the private key does not belong to the certificate (CN %q)", leaf.Subject.CommonName)
	}
	return nil
}

// LoadPKCS12 reads a PKCS#12 (.p12, .pfx) file — the format BDK Java users
// have — holding the bot's certificate, its private key and optionally its
// CA chain. Errors never contain the password or key material.
func LoadPKCS12(data []byte, password string) (tls.Certificate, error) {
	if len(data) == 0 {
		return tls.Certificate{}, errors.New("symauth: LoadPKCS12: the data is empty")
	}
	if err := checkPKCS12Iterations(data); err != nil {
		return tls.Certificate{}, fmt.Errorf("symauth: LoadPKCS12: %w", err)
	}
	key, leaf, chain, err := pkcs12.DecodeChain(data, password)
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword):
		return tls.Certificate{}, fmt.Errorf("symauth: LoadPKCS12: wrong password: %w", err)
	case err != nil:
		return tls.Certificate{}, fmt.Errorf("symauth: LoadPKCS12: not a readable PKCS#12 file with one key and certificate: %w", err)
	}
	if err := keyMatchesCertificate(key, leaf); err != nil {
		return tls.Certificate{}, fmt.Errorf("symauth: LoadPKCS12: %w", err)
	}
	cert := tls.Certificate{Certificate: [][]byte{leaf.Raw}, PrivateKey: key, Leaf: leaf}
	for _, ca := range chain {
		cert.Certificate = append(cert.Certificate, ca.Raw)
	}
	return cert, nil
}

// LoadPEM reads a certificate and its unencrypted private key from PEM — one
// file holding both, as BDK Python uses, or the two files' contents
// concatenated. A literal backslash-n is read as a newline. Errors never
// contain key material.
func LoadPEM(data []byte) (tls.Certificate, error) {
	text := []byte(strings.ReplaceAll(string(data), `\n`, "\n"))
	cert, err := tls.X509KeyPair(text, text)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("symauth: LoadPEM: %w", err)
	}
	return cert, nil
}
