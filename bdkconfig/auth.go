package bdkconfig

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/validate"
)

// loaded is what parse reads, key material included, before it builds the
// logins. It is dropped once they are built.
type loaded struct {
	top     *server
	servers map[string]*server
	roots   *x509.CertPool

	bot identity
	app *identity // nil without an app section
}

// trust reads ssl.trustStore (or the deprecated ssl.trustStorePath).
func (p *configParser) trust(top section, c *Config, ld *loaded) error {
	ssl, err := top.sub("ssl")
	if err != nil {
		return err
	}
	spec, err := ssl.credentialSpec("trustStore", flatKeys{path: "trustStorePath", password: "trustStorePassword"})
	if err != nil || !spec.given {
		return err
	}
	cred, err := p.read(spec)
	if err != nil {
		return err
	}
	if ld.roots, err = p.trustStore(cred, spec.password); err != nil {
		return err
	}
	c.SSL.TrustStore = cred.src
	return nil
}

// maxRetryMillis bounds the retry intervals and timeouts: one day.
const maxRetryMillis = int64(24 * time.Hour / time.Millisecond)

// maxMultiplier is the largest retry multiplier symauth applies.
const maxMultiplier = 100

// BDK's retry defaults (BdkRetryConfig).
var bdkRetry = symauth.RetryPolicy{
	MaxAttempts:     10,
	InitialInterval: 500 * time.Millisecond,
	Multiplier:      2,
	MaxInterval:     5 * time.Minute,
}

// retry reads the retry section into c.Retry, with BDK's defaults and
// ranges: a negative maxAttempts is no limit, a multiplier below 1 is 2.
func (p *configParser) retry(top section, c *Config) error {
	c.Retry = bdkRetry
	r, err := top.sub("retry")
	if err != nil || !r.present() {
		return err
	}
	n, v, err := r.integer("maxAttempts", math.MinInt32, math.MaxInt32, "a number of attempts, or -1 for no limit")
	switch {
	case err != nil:
		return err
	case n == 0 && v.set():
		return p.errorf(v.line, v.key, "want at least 1 attempt, or -1 for no limit")
	case n < 0:
		c.Retry.MaxAttempts = math.MaxInt32 // no limit but the Session's login timeout
	case v.set():
		c.Retry.MaxAttempts = int(n)
	}
	if n, v, err = r.integer("initialIntervalMillis", 1, maxRetryMillis, "milliseconds"); err != nil {
		return err
	} else if v.set() {
		c.Retry.InitialInterval = time.Duration(n) * time.Millisecond
	}
	if n, v, err = r.integer("maxIntervalMillis", 1, maxRetryMillis, "milliseconds"); err != nil {
		return err
	} else if v.set() {
		c.Retry.MaxInterval = time.Duration(n) * time.Millisecond
	}
	mult, err := r.str("multiplier")
	if err != nil || !mult.set() {
		return err
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(mult.text), 64)
	switch {
	case err != nil || math.IsNaN(f):
		return p.errorf(mult.line, mult.key, "want a number")
	case f < 1:
		p.warnf(mult.line, "%s is below 1: 2 is used, as BDK does", mult.key)
	case f > maxMultiplier:
		p.warnf(mult.line, "%s is above %d: %d is used (the waits reach maxIntervalMillis at once anyway)", mult.key, maxMultiplier, maxMultiplier)
		c.Retry.Multiplier = maxMultiplier
	default:
		c.Retry.Multiplier = f
	}
	return nil
}

// identity is the login material of the bot or app section: an RSA key, or a
// certificate whose CN is the name it logs in as. err says why the section
// cannot log in; it is reported when the login is asked for.
type identity struct {
	line            int    // the section's line
	name            scalar // username or appId, as written (the CN for a certificate without one)
	key             *rsa.PrivateKey
	cert            *tls.Certificate
	keySrc, certSrc CredentialFile
	err             error
}

// identity reads the name, privateKey and certificate of section s, in
// either of BDK's forms. nameKey is "username" or "appId"; nameText
// describes it in errors. The credential that the login will use is read
// now, so that a bad file fails the load; what only stops the login
// (nothing or both configured, no name) is kept in id.err.
func (p *configParser) identity(s section, nameKey, nameText string) (identity, error) {
	id := identity{line: s.line}
	var err error
	if id.name, err = s.str(nameKey); err != nil {
		return id, err
	}
	keySpec, err := s.credentialSpec("privateKey", flatKeys{path: "privateKeyPath", content: "privateKeyContent"})
	if err != nil {
		return id, err
	}
	certSpec, err := s.credentialSpec("certificate", flatKeys{path: "certificatePath", content: "certificateContent", password: "certificatePassword"})
	if err != nil {
		return id, err
	}
	switch {
	case keySpec.given && certSpec.given:
		id.keySrc, id.certSrc = keySpec.src, certSpec.src
		id.err = p.errorf(s.line, s.path, "both %s and %s are configured: give one (BDK refuses both too)", p.name(keySpec.value.key), p.name(certSpec.value.key))
	case keySpec.given:
		id.keySrc = keySpec.src
		if !id.name.set() {
			id.err = p.errorf(id.name.line, id.name.key, "missing (the RSA login needs %s)", nameText)
		} else if err := validate.Username(nameText, id.name.text); err != nil {
			id.err = p.wrap(id.name.line, id.name.key, "", err)
		}
		if keySpec.conflict != nil {
			id.err = keySpec.conflict
		}
		if id.err != nil {
			return id, nil
		}
		cred, err := p.read(keySpec)
		if err != nil {
			return id, err
		}
		if id.key, err = p.privateKey(cred); err != nil {
			return id, err
		}
	case certSpec.given:
		id.certSrc = certSpec.src
		if certSpec.conflict != nil {
			id.err = certSpec.conflict
			return id, nil
		}
		cred, err := p.read(certSpec)
		if err != nil {
			return id, err
		}
		cert, err := p.certificate(cred, certSpec.password)
		if err != nil {
			return id, err
		}
		cn := cert.Leaf.Subject.CommonName
		if id.name.set() && !strings.EqualFold(id.name.text, cn) {
			return id, p.errorf(id.name.line, id.name.key, "is %q but the certificate's CN, the name it logs in as, is %q", id.name.text, cn)
		}
		id.name.text, id.cert = cn, &cert
	default:
		id.err = p.errorf(s.line, s.key("privateKey"), "missing: give %s and %s (RSA), or %s", p.name(s.key(nameKey)), p.name(s.key("privateKey")), p.name(s.key("certificate")))
	}
	return id, nil
}

// bot reads the bot section.
func (p *configParser) bot(top section, c *Config, ld *loaded) error {
	b, err := top.sub("bot")
	if err != nil {
		return err
	}
	if !b.present() {
		ld.bot.err = p.errorf(0, "bot", "not configured: give %s and %s, or %s", p.name("bot.username"), p.name("bot.privateKey"), p.name("bot.certificate"))
		return nil
	}
	if ld.bot, err = p.identity(b, "username", "the bot's username"); err != nil {
		return err
	}
	c.Bot = BotConfig{Username: ld.bot.name.text, PrivateKey: ld.bot.keySrc, Certificate: ld.bot.certSrc}
	return nil
}

// app reads the app section.
func (p *configParser) app(top section, c *Config, ld *loaded) error {
	a, err := top.sub("app")
	if err != nil || !a.present() {
		return err
	}
	id, err := p.identity(a, "appId", "the app's id")
	if err != nil {
		return err
	}
	if id.err == nil && id.key != nil && !id.name.set() {
		id.err = p.errorf(id.name.line, id.name.key, "missing")
	}
	ld.app = &id
	c.App = &AppConfig{AppID: id.name.text, PrivateKey: id.keySrc, Certificate: id.certSrc}
	return nil
}
