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
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/fileread"
	"go.yaml.in/yaml/v3"
)

// Config is a Symphony bot's configuration file: BDK 2.x YAML or JSON, or
// the flat JSON of the SDK 1.x (the Java SDK 1.x and the Node client). Load
// reads one; its methods give the base URLs to hand to API clients and an
// http.Client that carries the bot's tokens:
//
//	cfg, err := bdkconfig.Load("config.yaml", bdkconfig.WithLogger(logger))
//	if err != nil { … }
//	client, err := cfg.HTTPClient()
//	resp, err := client.Get(cfg.PodURL() + "/pod/v2/sessioninfo")
//
// # File format
//
// The keys and their meaning are BDK's. The top level has scheme (default
// https), host, port (default 443, whatever the scheme) and context (a path
// prefix, given a leading slash and stripped of a trailing one); the
// sections pod, agent, keyManager and sessionAuth inherit these from the
// top level and may override any of them, as may a section's proxy,
// connectionTimeout, readTimeout and defaultHeaders. A base URL is BDK's:
// scheme://host:port[context], the port always written. With
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
//	ssl: { trustStore: { path: /secrets/truststore.jks, password: changeit } }
//	proxy: { host: proxy.acme.com, port: 3128, username: …, password: … }
//	retry: { maxAttempts: 10, initialIntervalMillis: 500, multiplier: 2, maxIntervalMillis: 300000 }
//	connectionTimeout: 15000   # milliseconds; BDK's default
//	readTimeout: 60000         # milliseconds; BDK's default
//	commonJwt: { enabled: false }
//
// The bot logs in with its RSA key (bot.privateKey: PEM, PKCS#1 or PKCS#8;
// inline content may also be base64 of the PEM, as BDK Java has it) or with
// its certificate (bot.certificate: a PKCS#12 file or Java key store as BDK
// Java uses, with password, or a PEM file holding the certificate and its
// unencrypted key as BDK Python uses; the content decides, and inline binary
// content is base64). BDK's deprecated flat keys (bot.privateKeyPath,
// privateKeyContent, certificatePath, certificateContent,
// certificatePassword, the same under app, ssl.trustStorePath and
// trustStorePassword) are read too, with a warning. bot.username is required
// for the RSA login; for a certificate it may be left out, and is then the
// certificate's CN (when given, it must be the CN). The app section
// configures on-behalf-of (see Config.OBO).
//
// The trust store has the meaning of the SDK whose format it is: a PEM
// bundle (BDK Python's) is the only roots trusted; a Java key store (JKS,
// BDK Java's default) or PKCS#12 trust store is trusted in addition to the
// system's roots, as BDK Java adds the JVM's. A server with no proxy
// configured (neither its own nor the top level's) uses the environment's
// (HTTPS_PROXY, NO_PROXY), as usual in Go.
//
// The retry section has BDK's defaults (10 attempts, 500 ms, multiplier 2,
// at most 5 minutes); a negative maxAttempts is no limit but the login
// timeout, and a multiplier below 1 is 2, with a warning. connectionTimeout
// bounds each connection's dial; readTimeout each wait for data (the
// response's headers, then each read of its body), as BDK's do, for the API
// calls and the RSA login calls; 0 is no limit.
//
// Every value may use ${VAR} and ${VAR:-default}, replaced by environment
// variables as BDK Java does: the default applies when VAR is not set, and
// may itself use ${…}; $${ is a literal ${; user.home and user.dir, when
// not in the environment, are the home and working directories, like the
// Java system properties. Unlike BDK Java, an unset variable without a
// default is an error, naming the variable and the key. An empty value is
// the same as an absent one. YAML anchors, aliases and merge keys (<<)
// work. Relative file paths are relative to the configuration file's
// directory (Load) or to the working directory (Parse).
//
// A key BDK does not know, inside a section it knows, is an error ("unknown
// key pth; did you mean path?"); at the top level, it is ignored with a
// warning, unless it looks like a misspelt key. The sections BDK reads for
// its event loops and extensions (datafeed, datahose, extensions) and the
// connection pool sizes are not used by symauth.
//
// # SDK 1.x files
//
// A file with botUsername, podHost, keyAuthHost, sessionAuthHost or
// agentHost at its top level is the flat JSON of the SDK 1.x; it is read
// with the meaning the SDK 1.x gave it (see the README for the keys).
// Errors name its flat keys.
//
// # When things are checked
//
// As in BDK, what only the bot's login needs is checked when the login is
// asked for: a file with no bot, with no pod host, with both a key and a
// certificate, or with a plain-http server the bot does not use, loads, and
// Session, HTTPClient or OBO report what is missing, naming the key and
// the file:line. What the configured logins will read (key, certificate
// and trust store files) is read at load, so that a bad path fails at
// start-up, not at the first request; so is every value's form.
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
	// maxAttempts (negative: no limit but the Session's login timeout),
	// initialIntervalMillis, multiplier and maxIntervalMillis; BDK's
	// defaults for those not given.
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

	ConnectionTimeout time.Duration // connectionTimeout; 0: none
	ReadTimeout       time.Duration // readTimeout; 0: none
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

	session   *symauth.Session   // the bot's cached login; nil when it cannot log in
	botErr    error              // why session is nil
	transport *symauth.Transport // NewTransport(session, the API transport)
	client    http.RoundTripper  // transport with the servers' read timeouts and default headers
	obo       *symauth.OBO       // nil when on-behalf-of cannot log in
	oboErr    error              // why obo is nil
}

// Load reads the configuration file at path (YAML or JSON; BDK 2.x or
// SDK 1.x) and builds its logins; see Config. Relative file paths in it are
// relative to path's directory. Errors name the file, the line where known
// and the key. Warnings (deprecated and ignored keys) go to the logger of
// WithLogger, or slog.Default(). It does not touch the network.
func Load(path string, opts ...Option) (*Config, error) {
	data, err := fileread.Read(path, maxConfigFileBytes)
	if err != nil {
		return nil, &configError{file: path, msg: "cannot read the configuration: " + err.Error(), err: err}
	}
	p := &configParser{file: path, dir: filepath.Dir(path), getenv: os.LookupEnv}
	c, err := p.parse(data, newOptions(opts))
	if err != nil {
		return nil, err
	}
	c.File = path
	return c, nil
}

// Parse is Load for a configuration already in memory, of at most 4 MiB.
// Relative file paths in it are relative to the working directory. Errors
// name the line where known and the key.
func Parse(data []byte, opts ...Option) (*Config, error) {
	if len(data) > maxConfigFileBytes {
		return nil, &configError{msg: fmt.Sprintf("the configuration is larger than %d MiB", maxConfigFileBytes>>20)}
	}
	p := &configParser{getenv: os.LookupEnv}
	return p.parse(data, newOptions(opts))
}

// PodURL is the pod's base URL as BDK builds it, e.g.
// "https://acme.symphony.com:443": no trailing slash, the port written, the
// context kept; "" when the configuration has no pod host. Pod API paths
// ("/pod/v2/sessioninfo") go after it.
func (c *Config) PodURL() string { return c.urls().podURL }

// AgentURL is the agent's base URL, or "" when the configuration has no
// agent host.
func (c *Config) AgentURL() string { return c.urls().agentURL }

// KeyManagerURL is the key manager's base URL, or "" when the configuration
// has no key manager host (neither its own nor the top level's).
func (c *Config) KeyManagerURL() string { return c.urls().keyManagerURL }

// SessionAuthURL is the session auth server's base URL (certificate logins),
// or "" when the configuration has no session auth host.
func (c *Config) SessionAuthURL() string { return c.urls().sessionAuthURL }

// RootCAs returns a copy of the roots the Config trusts: the trust store
// (with the system's roots for a Java key store or PKCS#12 store; see
// Config), or nil when there is none and the system roots apply.
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
// for all of them. It does not touch the network. It fails, naming the key
// and the file:line, when the configuration cannot log the bot in: no bot,
// both a key and a certificate, no username, no pod host, or a server the
// login needs that cannot be used.
func (c *Config) Session() (*symauth.Session, error) {
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
// Transport carries the Config's shared Session's tokens (a
// symauth.Transport) over a transport that honours the configured proxy,
// trust store, timeouts and default headers, apart from the login calls'
// (see WithAPITransport). The clients returned by all calls share that
// Transport and its connections. It does not touch the network. It fails
// as Session does.
func (c *Config) HTTPClient() (*http.Client, error) {
	if _, err := c.Session(); err != nil {
		return nil, err
	}
	return &http.Client{Transport: c.state.client}, nil
}

// OBO returns the on-behalf-of app of the app section: app.appId and
// app.privateKey, or app.certificate (then session auth is used). Every
// call returns the same *OBO, so that the app's own session is shared. It
// fails, naming the key, when the section is absent or cannot log in.
func (c *Config) OBO() (*symauth.OBO, error) {
	s := c.urls()
	switch {
	case c == nil || c.state == nil:
		return nil, errConfigNotLoaded
	case s.obo == nil:
		return nil, s.oboErr
	}
	return s.obo, nil
}

func (p *configParser) parse(data []byte, o *options) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := yamlError(err, data)
		return nil, &configError{file: p.file, line: line, msg: "not valid YAML or JSON: " + msg}
	}
	root := deref(&doc)
	switch {
	case root == nil || root.Kind == 0 || isNull(root):
		return nil, p.errorf(0, "", "the configuration is empty")
	case root.Kind != yaml.MappingNode:
		return nil, p.errorf(root.Line, "", "want a mapping of keys at the top level, not %s", kindName(root))
	}
	if isLegacy(root) {
		var err error
		if root, err = p.legacyDoc(root); err != nil {
			return nil, err
		}
	}
	warnings, err := p.checkKeys(root)
	if err != nil {
		return nil, err
	}
	p.warnings = append(warnings, p.warnings...)
	top := section{p: p, node: root}
	for _, name := range unusedSections {
		if k, _, _ := top.lookup(name); k != nil {
			p.unused = append(p.unused, name)
		}
	}
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
	p.build(c, ld, o)
	logger := o.logger
	if logger == nil {
		logger = slog.Default()
	}
	logWarnings(logger, p.warnings)
	if len(p.unused) > 0 {
		logger.Info("bdkconfig: not used by symauth, which reads authentication and connection settings only", "keys", strings.Join(p.unused, ", "), "file", p.file)
	}
	return c, nil
}
