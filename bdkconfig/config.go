// Package bdkconfig reads the configuration files Symphony bot teams already
// have for the official SDKs (BDK 2.x YAML or JSON) and builds symauth
// sessions and http.Clients from them:
//
//	cfg, err := bdkconfig.Load("config.yaml")
//	if err != nil { … }
//	client, err := cfg.HTTPClient()
//	resp, err := client.Get(cfg.PodURL() + "/pod/v2/sessioninfo")
//
// It is the only package of symauth that reads YAML; a bot configured in Go
// code needs only the root package.
package bdkconfig

import (
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"path/filepath"

	"github.com/symauth/symauth"
	"go.yaml.in/yaml/v3"
)

// Config is a BDK 2.x configuration file. Load reads one; its methods give
// the base URLs to hand to API clients and an http.Client that carries the
// bot's tokens:
//
//	cfg, err := bdkconfig.Load("config.yaml")
//	if err != nil { … }
//	client, err := cfg.HTTPClient()
//	resp, err := client.Get(cfg.PodURL() + "/pod/v2/sessioninfo")
//
// # File format
//
// The top level has scheme (default https), host, port (default 443 for
// https, 80 for http) and context (a path prefix, default none); the
// sections pod, agent, keyManager and sessionAuth inherit these four and may
// override any of them. A base URL is scheme://host[:port][/context], the
// port left out when it is the scheme's default. Every section may also have
// a proxy of its own; otherwise it inherits the top level's. With
// agent.loadBalancing, the agent is its first node (BDK's defaults there:
// https, port 443, no context).
//
//	host: acme.symphony.com
//	agent:       { host: agent.acme.com }
//	keyManager:  { host: acme-api.symphony.com, port: 8444 }
//	sessionAuth: { host: acme-api.symphony.com, port: 8444 }
//	bot:
//	  username: my-bot
//	  privateKey: { path: /secrets/bot-private.pem }     # or content: the PEM text
//	  # certificate: { path: /secrets/bot.p12, password: changeit }
//	app: { appId: my-app, privateKey: { path: /secrets/app-private.pem } }
//	ssl: { trustStore: { path: /secrets/truststore.pem, password: … } }
//	proxy: { host: proxy.acme.com, port: 3128, username: …, password: … }
//	retry: { maxAttempts: 10, initialIntervalMillis: 500, multiplier: 2, maxIntervalMillis: 300000 }
//	commonJwt: { enabled: false }
//
// The bot logs in with its RSA key (bot.privateKey: PEM, PKCS#1 or PKCS#8;
// inline content may also be base64 of the PEM) or with its certificate
// (bot.certificate: a PKCS#12 file as BDK Java uses, with password, or a PEM
// file holding the certificate and its unencrypted key as BDK Python uses;
// the content decides, and inline PKCS#12 content is base64). Giving both is
// an error. bot.username is required for the RSA login; for a certificate it
// may be left out, and is then the certificate's CN (when given, it must be
// the CN). The app section configures on-behalf-of (see Config.OBO). The
// trust store (a PEM bundle, or a PKCS#12 trust store as keytool writes; JKS
// must be converted first) replaces the system's root certificates: it must
// hold every CA to trust. A server with no proxy configured (neither its own
// nor the top level's) uses the environment's (HTTPS_PROXY, NO_PROXY), as
// usual in Go.
//
// Every value symauth reads may use ${VAR} and ${VAR:-default}, replaced by
// environment variables as BDK Java does: the default applies when VAR is
// not set, and may itself use ${…}; $${ is a literal ${; user.home and
// user.dir, when not in the environment, are the home and working
// directories, like the Java system properties. Unlike BDK Java, an unset
// variable without a default is an error, naming the variable and the key.
// An empty value is the same as an absent one. YAML anchors, aliases and
// merge keys (<<) work. Relative file paths are relative to the
// configuration file's directory (Load) or to the working directory
// (Parse). Keys symauth does not use (datafeed, datahose, timeouts,
// connection pools, headers …) are ignored.
//
// # Secrets
//
// A Config's fields hold no key material and no password: printing a Config
// with any verb shows none, and neither do the errors of Load and
// Parse, which name the file, the line and the key instead.
//
// # Sharing
//
// Everything is read, checked and built when the file is loaded, without
// touching the network; changing the fields afterwards changes nothing.
// Session, HTTPClient and OBO share one login: a Config is meant to be
// loaded once per bot. A Config is safe for concurrent use.
type Config struct {
	File string // the file Load read; "" for Parse

	Scheme  string // the top level's scheme: "https" unless given
	Host    string // the top level's host; "" when every section has its own
	Port    int    // the top level's port: given, or the default of Scheme
	Context string // the top level's path prefix, e.g. "/symphony"; "" when none

	// The servers, each with what it inherits from the top level filled in.
	// Host is "" when a section has no host (and the top level none either).
	Pod         ServerConfig
	Agent       ServerConfig
	KeyManager  ServerConfig
	SessionAuth ServerConfig

	Bot   BotConfig
	App   *AppConfig   // nil without an app section
	SSL   SSLConfig    // the trust store
	Proxy *ProxyConfig // the top level's proxy; nil when none is given

	// Retry is the retry policy of the login calls, from the retry section:
	// maxAttempts (-1: no limit but the Session's login timeout),
	// initialIntervalMillis, multiplier and maxIntervalMillis; symauth's
	// defaults for those not given or 0.
	Retry symauth.RetryPolicy

	CommonJWT bool // commonJwt.enabled: send "Authorization: Bearer …" instead of sessionToken

	state *configState // built at load; behind a pointer so that no verb prints it
}

// ServerConfig is one server of a Config, inherited values filled in.
type ServerConfig struct {
	Scheme  string       // "https" or "http" (loopback hosts only)
	Host    string       // "" when not configured
	Port    int          // the port in use, default included
	Context string       // a path prefix such as "/symphony", or ""
	Proxy   *ProxyConfig // the proxy for this server; nil: from the environment
}

// BotConfig is the bot section of a Config.
type BotConfig struct {
	Username    string         // the bot's username; for a certificate, its CN when not given
	PrivateKey  CredentialFile // RSA login; zero when not configured
	Certificate CredentialFile // certificate login; zero when not configured
}

// AppConfig is the app section of a Config: an on-behalf-of or extension app.
type AppConfig struct {
	AppID       string         // app.appId; for a certificate, its CN when not given
	PrivateKey  CredentialFile // zero when not configured
	Certificate CredentialFile // zero when not configured
}

// SSLConfig is the ssl section of a Config.
type SSLConfig struct {
	TrustStore CredentialFile // zero when none: the system's root certificates
}

// ProxyConfig is an HTTP proxy of a Config. Its password, if any, is not
// shown: it is kept where no verb prints it.
type ProxyConfig struct {
	Host     string
	Port     int
	Username string // "" when the proxy needs no authentication
}

// CredentialFile tells where a key, certificate or trust store of a Config
// was read from. The content itself is not kept in a Config's fields.
type CredentialFile struct {
	Path   string // the file read (a relative path resolved as the Config says); "" when inline
	Inline bool   // the configuration held the content itself
}

// configState is what a Config built at load. It holds key material and
// passwords: a *configState must never be printed.
type configState struct {
	podURL, agentURL, keyManagerURL, sessionAuthURL string
	roots                                           *x509.CertPool // the trust store; nil: the system roots

	session   *symauth.Session   // the bot's cached login; nil when no bot is configured
	botErr    error              // why session is nil
	transport *symauth.Transport // NewTransport(session, base)
	obo       *symauth.OBO       // nil when no app is configured
	oboErr    error              // why obo is nil
}

// Load reads the BDK 2.x configuration file at path (YAML, or JSON) and
// builds its logins; see Config. Relative file paths in it are relative to
// path's directory. Errors name the file, the line where known and the key.
// It does not touch the network.
func Load(path string, opts ...Option) (*Config, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, &configError{file: path, msg: "cannot read the configuration: " + err.Error(), err: err}
	}
	p := &configParser{file: path, dir: filepath.Dir(path), getenv: os.LookupEnv}
	c, err := p.parse(data)
	if err != nil {
		return nil, err
	}
	c.File = path
	return c, nil
}

// Parse is Load for a configuration already in memory. Relative file paths
// in it are relative to the working directory. Errors name the line where
// known and the key.
func Parse(data []byte, opts ...Option) (*Config, error) {
	p := &configParser{getenv: os.LookupEnv}
	return p.parse(data)
}

// PodURL is the pod's base URL, e.g. "https://acme.symphony.com": no
// trailing slash, the default port left out, the context kept. Pod API
// paths ("/pod/v2/sessioninfo") go after it.
func (c *Config) PodURL() string { return c.urls().podURL }

// AgentURL is the agent's base URL, or "" when the configuration has no
// agent host.
func (c *Config) AgentURL() string { return c.urls().agentURL }

// KeyManagerURL is the key manager's base URL, or "" when the configuration
// has no key manager host: RSA logins then use the pod, certificate logins
// the session auth server.
func (c *Config) KeyManagerURL() string { return c.urls().keyManagerURL }

// SessionAuthURL is the session auth server's base URL (certificate logins),
// or "" when the configuration has no session auth host.
func (c *Config) SessionAuthURL() string { return c.urls().sessionAuthURL }

// RootCAs returns a copy of the configured trust store (ssl.trustStore), or
// nil when there is none and the system roots apply.
func (c *Config) RootCAs() *x509.CertPool {
	if roots := c.urls().roots; roots != nil {
		return roots.Clone()
	}
	return nil
}

func (c *Config) urls() *configState {
	if c == nil || c.state == nil {
		return &configState{}
	}
	return c.state
}

var errConfigNotLoaded = errors.New("bdkconfig: the Config was not made by Load or Parse")

// Session returns the bot's login (RSA or certificate, as configured)
// wrapped in a *symauth.Session that the Config keeps: every call returns
// the same Session, and HTTPClient uses it too, so that the bot logs in once
// for all of them. It does not touch the network. It fails when the
// configuration has no bot (an app-only configuration).
func (c *Config) Session(opts ...Option) (*symauth.Session, error) {
	s := c.urls()
	switch {
	case c == nil || c.state == nil:
		return nil, errConfigNotLoaded
	case s.session == nil:
		return nil, s.botErr
	}
	return s.session, nil
}

// HTTPClient returns a new http.Client for Pod and Agent API calls: its
// Transport is symauth.NewTransport over the Config's shared Session and a transport
// that honours the configured proxy and trust store. The clients returned by
// all calls share that Transport and its connections. It does not touch the
// network.
func (c *Config) HTTPClient(opts ...Option) (*http.Client, error) {
	if _, err := c.Session(opts...); err != nil {
		return nil, err
	}
	return &http.Client{Transport: c.state.transport}, nil
}

// OBO returns the on-behalf-of app of the app section: app.appId and
// app.privateKey, or app.certificate (then session auth is used). Every
// call returns the same *OBO, so that the app's own session is shared. It
// fails, naming "app", when the section is absent or incomplete.
func (c *Config) OBO(opts ...Option) (*symauth.OBO, error) {
	s := c.urls()
	switch {
	case c == nil || c.state == nil:
		return nil, errConfigNotLoaded
	case s.obo == nil:
		return nil, s.oboErr
	}
	return s.obo, nil
}

func (p *configParser) parse(data []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		// The YAML library's syntax errors hold a line and a fixed
		// description, never a value of the document.
		return nil, &configError{file: p.file, msg: "not valid YAML: " + err.Error(), err: err}
	}
	root := deref(&doc)
	switch {
	case root == nil || root.Kind == 0 || isNull(root):
		return nil, p.errorf(0, "", "the configuration is empty")
	case root.Kind != yaml.MappingNode:
		return nil, p.errorf(root.Line, "", "want a mapping of keys at the top level, not %s", kindName(root))
	}
	top := section{p: p, node: root}
	c := &Config{state: &configState{}}
	ld := &loaded{servers: map[string]*server{}}
	if err := p.servers(top, c, ld); err != nil {
		return nil, err
	}
	if err := p.trust(top, c, ld); err != nil {
		return nil, err
	}
	if err := p.retry(top, c); err != nil {
		return nil, err
	}
	commonJWT, err := top.sub("commonJwt")
	if err != nil {
		return nil, err
	}
	if c.CommonJWT, err = commonJWT.boolean("enabled"); err != nil {
		return nil, err
	}
	if err := p.bot(top, c, ld); err != nil {
		return nil, err
	}
	if err := p.app(top, c, ld); err != nil {
		return nil, err
	}
	if err := p.build(c, ld); err != nil {
		return nil, err
	}
	return c, nil
}
