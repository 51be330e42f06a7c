package main

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/internal/fileread"
	"github.com/symauth/symauth/internal/transport"
)

// passwordEnv is read when --password is not given, so that a password need
// not appear in the process list.
const passwordEnv = "SYMAUTH_CERT_PASSWORD"

// maxCredentialBytes bounds the files the flags name (keys, certificates,
// CA bundles), as bdkconfig bounds those of a configuration: far above any
// real one.
const maxCredentialBytes = 4 << 20

// loginFlags are the flags shared by the commands that log a bot in: token,
// whoami and check.
type loginFlags struct {
	configFile                          string // --config: a BDK configuration instead of the other login flags
	pod, keyManager, agent, sessionAuth string
	user, keyFile                       string
	certFile, password                  string
	caFile                              string
	timeout                             time.Duration

	onLogin func(symauth.LoginEvent) // also told of every login, if set (by the command, not a flag)

	fs *flag.FlagSet // where they are registered, to tell which were given
}

// configReplaces are the flags that --config replaces: the file gives what
// they would.
var configReplaces = []string{"pod", "km", "agent", "sessionauth", "user", "key", "cert", "password", "ca"}

func (f *loginFlags) register(fs *flag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.configFile, "config", "", "log in as the BDK 2.x configuration `FILE` (YAML) says, e.g. the emulator's config.yaml, "+
		"instead of --"+strings.Join(configReplaces, ", --"))
	fs.StringVar(&f.pod, "pod", "", "pod base `URL`, e.g. https://acme.symphony.com")
	fs.StringVar(&f.keyManager, "km", "", "key manager base `URL` (default: --pod for RSA, --sessionauth for a certificate)")
	fs.StringVar(&f.agent, "agent", "", "agent base `URL` (optional)")
	fs.StringVar(&f.user, "user", "", "the bot's `username` (RSA login)")
	fs.StringVar(&f.keyFile, "key", "", "the bot's RSA private key: a PEM `FILE`, PKCS#1 or PKCS#8 (RSA login)")
	fs.StringVar(&f.certFile, "cert", "", "the bot's certificate: a PKCS#12 `FILE` (.p12), or PEM holding certificate and key (certificate login)")
	fs.StringVar(&f.password, "password", "", "password of the --cert PKCS#12 file (default: $"+passwordEnv+")")
	fs.StringVar(&f.sessionAuth, "sessionauth", "", "session auth base `URL` for certificate login, e.g. https://acme-api.symphony.com:8444")
	fs.StringVar(&f.caFile, "ca", "", "also trust the CA certificates in this PEM `FILE`, e.g. the emulator's ca.pem")
	fs.DurationVar(&f.timeout, "timeout", 30*time.Second, "give up after this long")
}

// given reports whether the flag name was on the command line.
func (f *loginFlags) given(name string) bool {
	found := false
	f.fs.Visit(func(fl *flag.Flag) { found = found || fl.Name == name })
	return found
}

// usesCert reports whether the flags ask for a certificate login.
func (f *loginFlags) usesCert() bool { return f.certFile != "" }

// validate checks that the flags describe one login, naming what is missing,
// or, with --config, that no flag it replaces is given too.
func (f *loginFlags) validate() error {
	if f.configFile != "" {
		for _, name := range configReplaces {
			if f.given(name) {
				return fmt.Errorf("--config FILE replaces --%s: give one or the other", name)
			}
		}
		return nil
	}
	switch {
	case f.keyFile != "" && f.certFile != "":
		return errors.New("give --key (RSA login) or --cert (certificate login), not both")
	case f.keyFile == "" && f.certFile == "":
		return errors.New("give --key FILE (RSA login) or --cert FILE (certificate login)")
	case f.usesCert() && f.sessionAuth == "":
		return errors.New("--cert needs --sessionauth URL")
	case !f.usesCert() && f.pod == "":
		return errors.New("--key needs --pod URL")
	case !f.usesCert() && f.user == "":
		return errors.New("--key needs --user NAME")
	}
	return nil
}

// certPassword is --password, or $SYMAUTH_CERT_PASSWORD.
func (f *loginFlags) certPassword() string {
	if f.password != "" {
		return f.password
	}
	return os.Getenv(passwordEnv)
}

// rootCAs is the system pool plus the certificates of --ca.
func (f *loginFlags) rootCAs() (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if f.caFile == "" {
		return pool, nil
	}
	data, err := fileread.Read(f.caFile, maxCredentialBytes)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w", err)
	}
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("--ca: %s holds no PEM certificate", f.caFile)
	}
	return pool, nil
}

// httpTransport returns a transport trusting rootCAs, for login and API calls.
func httpTransport(roots *x509.CertPool) *http.Transport {
	t := transport.New()
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	return t
}

// readKey reads and parses the --key file.
func readKey(file string) (*rsa.PrivateKey, error) {
	data, err := fileread.Read(file, maxCredentialBytes)
	if err != nil {
		return nil, err
	}
	key, err := symauth.ParsePrivateKey(data)
	if err != nil && isPKCS12(data) {
		return nil, fmt.Errorf("%s is a PKCS#12 file (a certificate and its key), not a PEM private key: %s", file, pkcs12KeyAdvice(file))
	}
	return key, err
}

// pkcs12KeyAdvice is what to do about file, a PKCS#12 file given as --key.
func pkcs12KeyAdvice(file string) string {
	return "for certificate login, give it as --cert " + file + " with --sessionauth URL (and its password with --password or $" +
		passwordEnv + "); RSA login needs the bot's RSA private key, in PEM, as --key"
}

// isPKCS12 reports whether data is a PKCS#12 file: a DER PFX, the SEQUENCE
// of version 3, a ContentInfo and, optionally, a MacData.
func isPKCS12(data []byte) bool {
	var pfx struct {
		Version  int
		AuthSafe struct {
			ContentType asn1.ObjectIdentifier
			Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
		}
		MacData asn1.RawValue `asn1:"optional"`
	}
	_, err := asn1.Unmarshal(data, &pfx)
	return err == nil && pfx.Version == 3
}

// readCert reads the --cert file: PKCS#12, or PEM when it looks like PEM.
func readCert(file, password string) (tls.Certificate, error) {
	data, err := fileread.Read(file, maxCredentialBytes)
	if err != nil {
		return tls.Certificate{}, err
	}
	if strings.Contains(string(data), "-----BEGIN ") {
		return symauth.ParsePEM(data)
	}
	return symauth.ParsePKCS12(data, password)
}

// login is what a login command needs: the token source and where to call.
type login struct {
	source   symauth.TokenSource // a Session, which reports its logins to events
	client   *http.Client        // carries the tokens; trusts --ca or the configuration's trust store
	username string              // "" when only the certificate knows it
	podURL   string              // "" when not given (certificate login without --pod)
	agentURL string              // "" when not given
	config   string              // the --config file; "" for the login flags
	events   *loginEvents
}

// loginEvents keeps the last LoginEvent of a command's Session.
type loginEvents struct {
	mu   sync.Mutex
	last *symauth.LoginEvent
	also func(symauth.LoginEvent) // nil, or told of every login too
}

// record is the Session's OnLogin.
func (e *loginEvents) record(ev symauth.LoginEvent) {
	e.mu.Lock()
	e.last = &ev
	e.mu.Unlock()
	if e.also != nil {
		e.also(ev)
	}
}

// failed returns the last login, if there was one and it failed.
func (e *loginEvents) failed() (symauth.LoginEvent, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.last == nil || e.last.Err == nil {
		return symauth.LoginEvent{}, false
	}
	return *e.last, true
}

// fail prints err, why command cmd failed once it had built l, and returns
// exitFail. When l's login failed, it says how many HTTP attempts the login
// made and where; in any case, that "symauth check" tells which step fails.
func (l *login) fail(errOut io.Writer, cmd string, err error) int {
	fmt.Fprintf(errOut, "symauth %s: %s\n", cmd, err)
	if ev, ok := l.events.failed(); ok && ev.Attempts > 0 {
		retries := "not retried"
		if ev.Attempts > len(ev.Endpoints) {
			retries = "retries included"
		}
		fmt.Fprintf(errOut, "symauth %s: the login failed after %s at %s (%s)\n",
			cmd, plural(ev.Attempts, "attempt"), strings.Join(ev.Endpoints, " and "), retries)
	}
	check := `"symauth check" with the same login flags`
	if l.config != "" {
		check = `"symauth check --config ` + l.config + `"`
	}
	fmt.Fprintf(errOut, "symauth %s: run %s: it tells which step fails and what to do\n", cmd, check)
	return exitFail
}

// newLogin builds the login the flags, or the --config file, describe. It
// reads files but does not touch the network.
func (f *loginFlags) newLogin() (*login, error) {
	if err := f.validate(); err != nil {
		return nil, err
	}
	events := &loginEvents{also: f.onLogin}
	if f.configFile != "" {
		return loadLogin(f.configFile, events, f.timeout)
	}
	roots, err := f.rootCAs()
	if err != nil {
		return nil, err
	}
	transport := httpTransport(roots) // for the RSA login and the API calls
	l := &login{podURL: strings.TrimRight(f.pod, "/"), agentURL: strings.TrimRight(f.agent, "/"), events: events}
	var auth symauth.TokenSource
	if f.usesCert() {
		cert, err := readCert(f.certFile, f.certPassword())
		if err != nil {
			return nil, fmt.Errorf("--cert: %w", err)
		}
		certAuth, err := symauth.NewCert(symauth.CertConfig{
			SessionAuthURL: f.sessionAuth, KeyManagerURL: f.keyManager, AgentURL: f.agent,
			Certificate: cert, RootCAs: roots,
		})
		if err != nil {
			return nil, flagError(err)
		}
		auth, l.username = certAuth, certAuth.Username()
	} else {
		key, err := readKey(f.keyFile)
		if err != nil {
			return nil, fmt.Errorf("--key: %w", err)
		}
		rsaAuth, err := symauth.NewRSA(symauth.RSAConfig{
			PodURL: f.pod, KeyManagerURL: f.keyManager, AgentURL: f.agent,
			Username: f.user, PrivateKey: key,
			HTTPClient: &http.Client{Transport: transport},
		})
		if err != nil {
			return nil, flagError(err)
		}
		auth, l.username = rsaAuth, f.user
	}
	l.source = symauth.NewSessionWithOptions(auth, symauth.SessionOptions{LoginTimeout: f.timeout, OnLogin: events.record})
	l.client = &http.Client{Transport: symauth.NewTransport(l.source, transport)}
	return l, nil
}

// loadLogin builds the login of the BDK configuration file, whose Session
// reports its logins to events and gives each up after timeout:
// bdkconfig.Load's errors name the file, the line and the key, and are
// returned as they are.
func loadLogin(file string, events *loginEvents, timeout time.Duration) (*login, error) {
	cfg, err := bdkconfig.Load(file, bdkconfig.WithOnLogin(events.record), bdkconfig.WithLoginTimeout(timeout))
	if err != nil {
		return nil, err
	}
	source, err := cfg.Session() // fails for a configuration without a bot
	if err != nil {
		return nil, err
	}
	client, err := cfg.HTTPClient() // the same login, through the configured proxy and trust store
	if err != nil {
		return nil, err
	}
	return &login{source: source, client: client, username: cfg.Bot.Username, podURL: cfg.PodURL(), agentURL: cfg.AgentURL(),
		config: file, events: events}, nil
}

// flagError renames the configuration fields in err, an error of NewRSA or
// NewCert, to the flags that set them.
func flagError(err error) error {
	return errors.New(flagNames.Replace(err.Error()))
}
