package bdkconfig

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/transport"
	"github.com/symauth/symauth/internal/validate"
)

// loaded is what parse reads, key material included, before it builds the
// logins. It is dropped once they are built.
type loaded struct {
	servers  map[string]*server
	proxyURL *url.URL // the top level's proxy, password included; nil when none
	roots    *x509.CertPool

	botLine int // the line of the bot section, for errors
	botKey  *rsa.PrivateKey
	botCert *tls.Certificate

	appLine int
	appKey  *rsa.PrivateKey
	appCert *tls.Certificate
}

// trust reads ssl.trustStore.
func (p *configParser) trust(top section, c *Config, ld *loaded) error {
	ssl, err := top.sub("ssl")
	if err != nil {
		return err
	}
	ts, cred, ok, err := ssl.credential("trustStore")
	if err != nil || !ok {
		return err
	}
	password, err := ts.str("password")
	if err != nil {
		return err
	}
	if ld.roots, err = p.trustStore(cred, password); err != nil {
		return err
	}
	c.SSL.TrustStore = cred.src
	return nil
}

// maxRetryMillis bounds the retry intervals: one day.
const maxRetryMillis = int64(24 * time.Hour / time.Millisecond)

// retry reads the retry section into c.Retry.
func (p *configParser) retry(top section, c *Config) error {
	r, err := top.sub("retry")
	if err != nil || !r.present() {
		return err
	}
	n, v, err := r.integer("maxAttempts", -1, math.MaxInt32, "a number of attempts, or -1 for no limit")
	switch {
	case err != nil:
		return err
	case n == 0 && v.set():
		return p.errorf(v.line, v.key, "want at least 1 attempt, or -1 for no limit")
	case n == -1:
		c.Retry.MaxAttempts = math.MaxInt32 // no limit but the Session's login timeout
	case v.set():
		c.Retry.MaxAttempts = int(n)
	}
	if n, v, err = r.integer("initialIntervalMillis", 0, maxRetryMillis, "milliseconds"); err != nil {
		return err
	}
	if v.set() {
		c.Retry.InitialInterval = time.Duration(n) * time.Millisecond
	}
	if n, v, err = r.integer("maxIntervalMillis", 0, maxRetryMillis, "milliseconds"); err != nil {
		return err
	}
	if v.set() {
		c.Retry.MaxInterval = time.Duration(n) * time.Millisecond
	}
	mult, err := r.str("multiplier")
	if err != nil || !mult.set() {
		return err
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(mult.text), 64)
	if err != nil || f < 1 || f > 100 {
		return p.errorf(mult.line, mult.key, "must be a number between 1 and 100")
	}
	c.Retry.Multiplier = f
	return nil
}

// deprecatedAuthKeys are BDK's older forms of privateKey and certificate.
var deprecatedAuthKeys = [...]string{"privateKeyPath", "privateKeyContent", "certificatePath", "certificateContent"}

// deprecatedHint tells, when s uses an older form of privateKey or
// certificate, which form to write instead.
func deprecatedHint(s section) string {
	for _, name := range deprecatedAuthKeys {
		if k, _, _ := s.lookup(name); k != nil {
			return "; " + s.key(name) + " is an old form symauth does not read: write privateKey: {path: …} or certificate: {path: …, password: …}"
		}
	}
	return ""
}

// identity is the login material of the bot or app section: an RSA key, or a
// certificate whose CN is the name it logs in as.
type identity struct {
	name            scalar // username or appId, as written
	key             *rsa.PrivateKey
	cert            *tls.Certificate
	keySrc, certSrc CredentialFile
	hasKey, hasCert bool
}

// identity reads the name, privateKey and certificate of section s. nameKey
// is "username" or "appId"; nameText describes it in errors.
func (p *configParser) identity(s section, nameKey, nameText string) (identity, error) {
	var id identity
	var err error
	if id.name, err = s.str(nameKey); err != nil {
		return id, err
	}
	_, keyCred, hasKey, err := s.credential("privateKey")
	if err != nil {
		return id, err
	}
	certSec, certCred, hasCert, err := s.credential("certificate")
	if err != nil {
		return id, err
	}
	id.hasKey, id.hasCert = hasKey, hasCert
	switch {
	case hasKey && hasCert:
		return id, p.errorf(s.line, s.path, "configuring both %s and %s is an error: give one", s.key("privateKey"), s.key("certificate"))
	case hasKey:
		if !id.name.set() {
			return id, p.errorf(id.name.line, id.name.key, "missing (the RSA login needs %s)", nameText)
		}
		if err := validate.Username(nameText, id.name.text); err != nil {
			return id, p.wrap(id.name.line, id.name.key, "", err)
		}
		if id.key, err = p.privateKey(keyCred); err != nil {
			return id, err
		}
		id.keySrc = keyCred.src
	case hasCert:
		password, err := certSec.str("password")
		if err != nil {
			return id, err
		}
		cert, err := p.certificate(certCred, password)
		if err != nil {
			return id, err
		}
		cn := cert.Leaf.Subject.CommonName
		if id.name.set() && !strings.EqualFold(id.name.text, cn) {
			return id, p.errorf(id.name.line, id.name.key, "is %q but the certificate's CN, the name it logs in as, is %q", id.name.text, cn)
		}
		id.name.text, id.cert, id.certSrc = cn, &cert, certCred.src
	}
	return id, nil
}

// bot reads the bot section.
func (p *configParser) bot(top section, c *Config, ld *loaded) error {
	b, err := top.sub("bot")
	if err != nil {
		return err
	}
	ld.botLine = b.line
	id, err := p.identity(b, "username", "the bot's username")
	if err != nil {
		return err
	}
	c.Bot = BotConfig{Username: id.name.text, PrivateKey: id.keySrc, Certificate: id.certSrc}
	ld.botKey, ld.botCert = id.key, id.cert
	if !id.hasKey && !id.hasCert && id.name.set() {
		return p.errorf(b.line, "bot.privateKey", "missing: give bot.privateKey (RSA) or bot.certificate%s", deprecatedHint(b))
	}
	return nil
}

// app reads the app section. An absent or incomplete section is no error
// here: OBO reports it.
func (p *configParser) app(top section, c *Config, ld *loaded) error {
	a, err := top.sub("app")
	if err != nil {
		return err
	}
	if !a.present() {
		c.state.oboErr = p.errorf(0, "app", "missing: on-behalf-of needs an app section with appId and privateKey (or certificate)")
		return nil
	}
	ld.appLine = a.line
	id, err := p.identity(a, "appId", "the app's id")
	if err != nil {
		return err
	}
	c.App = &AppConfig{AppID: id.name.text, PrivateKey: id.keySrc, Certificate: id.certSrc}
	ld.appKey, ld.appCert = id.key, id.cert
	if !id.hasKey && !id.hasCert {
		c.state.oboErr = p.errorf(a.line, "app.privateKey", "missing: on-behalf-of needs app.privateKey (or app.certificate)%s", deprecatedHint(a))
	}
	return nil
}

// build makes the transports, the bot's Session and the OBO app. It does not
// touch the network.
func (p *configParser) build(c *Config, ld *loaded) error {
	s := c.state
	s.roots = ld.roots
	proxy := proxyFunc(ld)
	base := transport.New()
	if proxy != nil {
		base.Proxy = proxy
	}
	base.TLSClientConfig = &tls.Config{RootCAs: ld.roots, MinVersion: tls.VersionTLS12}
	loginClient := &http.Client{Transport: base}

	switch {
	case ld.botKey != nil:
		auth, err := symauth.NewRSA(symauth.RSAConfig{
			PodURL:                s.podURL,
			KeyManagerURL:         s.keyManagerURL,
			AgentURL:              s.agentURL,
			SkipAgentVersionCheck: !ld.servers["agent"].explicit,
			Username:              c.Bot.Username,
			PrivateKey:            ld.botKey,
			HTTPClient:            loginClient,
			Retry:                 c.Retry,
			CommonJWT:             c.CommonJWT,
		})
		if err != nil {
			return p.wrap(ld.botLine, "bot", "", err)
		}
		s.session = symauth.NewSession(auth)
	case ld.botCert != nil:
		if err := p.needMutualTLS(ld, "the certificate login"); err != nil {
			return err
		}
		auth, err := symauth.NewCert(symauth.CertConfig{
			SessionAuthURL:        s.sessionAuthURL,
			KeyManagerURL:         s.keyManagerURL,
			AgentURL:              s.agentURL,
			SkipAgentVersionCheck: !ld.servers["agent"].explicit,
			Certificate:           *ld.botCert,
			RootCAs:               ld.roots,
			Retry:                 c.Retry,
			Proxy:                 proxy,
			CommonJWT:             c.CommonJWT,
			PodURL:                s.podURL,
		})
		if err != nil {
			return p.wrap(ld.botLine, "bot", "", err)
		}
		s.session = symauth.NewSession(auth)
	default:
		s.botErr = p.errorf(ld.botLine, "bot", "not configured: give bot.username and bot.privateKey, or bot.certificate")
	}
	if s.session != nil {
		s.transport = symauth.NewTransport(s.session, base)
	}

	var err error
	switch {
	case ld.appKey != nil:
		s.obo, err = symauth.NewOBO(symauth.OBOConfig{PodURL: s.podURL, AppID: c.App.AppID, PrivateKey: ld.appKey, HTTPClient: loginClient, Retry: c.Retry})
	case ld.appCert != nil:
		if err := p.needMutualTLS(ld, "the certificate on-behalf-of login"); err != nil {
			return err
		}
		s.obo, err = symauth.NewOBO(symauth.OBOConfig{SessionAuthURL: s.sessionAuthURL, Certificate: *ld.appCert, RootCAs: ld.roots, Proxy: proxy, Retry: c.Retry})
	}
	if err != nil {
		return p.wrap(ld.appLine, "app", "", err)
	}
	if s.obo != nil {
		s.oboErr = nil
	}
	if s.session == nil && s.obo == nil {
		return s.botErr
	}
	return nil
}

// needMutualTLS checks that a certificate login has an https session auth
// server, and an https key manager if one is configured.
func (p *configParser) needMutualTLS(ld *loaded, what string) error {
	sa := ld.servers["sessionAuth"]
	if sa.url == "" {
		return p.missingHost(sa, ": "+what+" needs it")
	}
	for _, srv := range []*server{sa, ld.servers["keyManager"]} {
		if srv.url != "" && srv.cfg.Scheme != "https" {
			return p.errorf(srv.line, srv.name+".scheme", "must be https: %s needs TLS", what)
		}
	}
	return nil
}
