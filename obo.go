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
	"strconv"
	"sync/atomic"
	"time"

	"github.com/symauth/symauth/internal/login"
	"github.com/symauth/symauth/internal/validate"
)

// Paths of the on-behalf-of endpoints. The RSA variant lives on the pod, the
// certificate variant (a deprecated API) on the session auth host.
const (
	oboAppLoginPath     = "/login/pubkey/app/authenticate"
	oboUserIDPath       = "/login/pubkey/app/user/%s/authenticate"
	oboUsernamePath     = "/login/pubkey/app/username/%s/authenticate"
	oboCertAppLoginPath = "/sessionauth/v1/app/authenticate"
	oboCertUserIDPath   = "/sessionauth/v1/app/user/%s/authenticate"
	oboCertUsernamePath = "/sessionauth/v1/app/username/%s/authenticate"
)

// OBOConfig configures an on-behalf-of (OBO) app: an app that acts for the
// users who installed it. Give PodURL, AppID and PrivateKey for the RSA
// variant, or SessionAuthURL and Certificate for the certificate variant.
type OBOConfig struct {
	// PodURL is the pod, e.g. "https://acme.symphony.com": where the RSA
	// variant logs in, and where the users' API calls go. The certificate
	// variant logs in at SessionAuthURL; with PodURL too, its users' tokens
	// go only to the pod and agent origins, as the RSA variant's do (see
	// Transport); without it, to any https origin.
	PodURL   string
	AgentURL string // the agent of the users' Agent API calls; "" means PodURL

	AppID      string        // the app's id: the JWT's sub; for the certificate variant, its CN (optional there)
	PrivateKey crypto.Signer // RSA variant: the app's RSA key
	HTTPClient *http.Client  // RSA variant: sends the login calls; nil: a default shared by all sources

	SessionAuthURL string                                // certificate variant, e.g. "https://acme-api.symphony.com:8444"
	Certificate    tls.Certificate                       // certificate variant: the app's certificate
	RootCAs        *x509.CertPool                        // certificate variant; nil: system roots
	Proxy          func(*http.Request) (*url.URL, error) // certificate variant; nil: from the environment

	Retry RetryPolicy // retries of each login call; zero: the default

	// Logger: as RSAConfig.Logger, for the app's and the users' logins.
	Logger *slog.Logger
}

// OBO logs an app in and obtains sessions for the users it acts for. The app
// session is cached in a Session shared by every user's TokenSource, and
// obtained again, once, when the pod refuses it. It is safe for concurrent use.
type OBO struct {
	appID    string
	workflow string   // "obo" or "obo-certificate", for LoginEvent
	app      *Session // the app session
	caller   loginCaller
	base     string   // where the user step is: the pod, or session auth
	idPath   string   // the user step's path format, by user id
	namePath string   // the user step's path format, by username
	origins  *origins // where the users' tokens may go; nil: not known

	lastLogin atomic.Pointer[appLogin] // the app's last login; nil: none yet
	now       func() time.Time         // nil: time.Now
}

// NewOBO validates cfg and returns the OBO app. It does not touch the network.
func NewOBO(cfg OBOConfig) (*OBO, error) {
	rsaVariant := cfg.PrivateKey != nil
	certVariant := len(cfg.Certificate.Certificate) > 0
	switch {
	case rsaVariant && certVariant:
		return nil, errors.New("symauth: OBOConfig has both PrivateKey and Certificate; give one")
	case !rsaVariant && !certVariant:
		return nil, errors.New("symauth: OBOConfig.PrivateKey is missing (or OBOConfig.Certificate for the certificate variant)")
	}
	if rsaVariant {
		return newRSAOBO(cfg)
	}
	return newCertOBO(cfg)
}

func newRSAOBO(cfg OBOConfig) (*OBO, error) {
	v := validate.Fields{Prefix: "symauth: OBOConfig."}
	pod := v.BaseURL("PodURL", cfg.PodURL)
	var agent string
	if cfg.AgentURL != "" {
		agent = v.BaseURL("AgentURL", cfg.AgentURL)
	}
	v.Username("AppID", cfg.AppID)
	v.RSASigner("PrivateKey", cfg.PrivateKey)
	v.Retry("Retry", login.Retry(cfg.Retry))
	if err := v.Err(); err != nil {
		return nil, err
	}
	o := &OBO{
		appID:    cfg.AppID,
		workflow: "obo",
		caller:   newLoginCaller(login.ClientOrDefault(cfg.HTTPClient), cfg.Retry, cfg.Logger),
		base:     pod,
		idPath:   oboUserIDPath,
		namePath: oboUsernamePath,
	}
	o.origins = newOrigins(pod, agent)
	jwt := &login.JWT{Subject: cfg.AppID, Signer: cfg.PrivateKey, Now: time.Now}
	o.app = NewSession(&oboApp{obo: o, call: login.Request{URL: pod + oboAppLoginPath, Endpoint: oboAppLoginPath}, newBody: jwt.NewBody})
	return o, nil
}

func newCertOBO(cfg OBOConfig) (*OBO, error) {
	v := validate.Fields{Prefix: "symauth: OBOConfig."}
	sa := v.TLSBaseURL("SessionAuthURL", cfg.SessionAuthURL)
	var pod, agent string
	if cfg.PodURL != "" {
		pod = v.BaseURL("PodURL", cfg.PodURL)
	}
	if cfg.AgentURL != "" {
		agent = v.BaseURL("AgentURL", cfg.AgentURL)
	}
	v.Retry("Retry", login.Retry(cfg.Retry))
	if err := v.Err(); err != nil {
		return nil, err
	}
	leaf, err := validate.ClientCertificate("symauth: OBOConfig.Certificate", cfg.Certificate, time.Now())
	if err != nil {
		return nil, err
	}
	appID := leaf.Subject.CommonName
	if cfg.AppID != "" && cfg.AppID != appID {
		return nil, fmt.Errorf("symauth: OBOConfig.AppID is %q but the certificate's CN is %q", cfg.AppID, appID)
	}
	o := &OBO{
		appID:    appID,
		workflow: "obo-certificate",
		caller:   newLoginCaller(mutualTLSClient(cfg.Certificate, cfg.RootCAs, cfg.Proxy), cfg.Retry, cfg.Logger),
		base:     sa,
		idPath:   oboCertUserIDPath,
		namePath: oboCertUsernamePath,
	}
	if pod != "" {
		o.origins = newOrigins(pod, agent)
	}
	o.app = NewSession(&oboApp{obo: o, call: login.Request{URL: sa + oboCertAppLoginPath, Endpoint: oboCertAppLoginPath}})
	return o, nil
}

// UserID returns the TokenSource of the user with this id: each Token call
// obtains a new user session (wrap it in a Session, as NewTransport does, to
// cache it). An OBO session has no key manager token. An id that is not
// positive is an error now, not at the first login.
func (o *OBO) UserID(id int64) (TokenSource, error) {
	if o.app == nil {
		return nil, errZeroOBO
	}
	if id <= 0 {
		return nil, fmt.Errorf("symauth: OBO user id %d: user ids are positive", id)
	}
	user := strconv.FormatInt(id, 10)
	return o.user(fmt.Sprintf(o.idPath, user), user), nil
}

// Username returns the TokenSource of the user with this username; see
// UserID. An empty username, or one with surrounding white space, is an error.
func (o *OBO) Username(name string) (TokenSource, error) {
	if o.app == nil {
		return nil, errZeroOBO
	}
	if err := validate.Username("symauth: OBO username", name); err != nil {
		return nil, err
	}
	return o.user(fmt.Sprintf(o.namePath, url.PathEscape(name)), name), nil
}

var errZeroOBO = errors.New("symauth: a zero OBO: make it with NewOBO")

// user returns the TokenSource of user (a username or an id) whose user
// step is at path.
func (o *OBO) user(path, user string) TokenSource {
	return &oboUser{obo: o, url: o.base + path, endpoint: path, user: user}
}

// AppSession is the Session caching the app's own session token, shared by
// every user's TokenSource.
func (o *OBO) AppSession() *Session { return o.app }

// String describes the OBO app without any token or key.
func (o *OBO) String() string { return fmt.Sprintf("symauth.OBO{AppID:%q}", o.appID) }

// GoString is String, for %#v.
func (o *OBO) GoString() string { return o.String() }

// oboApp is the app's own login, cached by OBO.app.
type oboApp struct {
	obo     *OBO
	call    login.Request                                               // the app login, without its body
	newBody func() (func(attempt int) ([]byte, error), *login.Deferred) // nil: certificate variant
}

func (a *oboApp) sourceLogger() *slog.Logger { return a.obo.caller.Logger() }

func (a *oboApp) Token(ctx context.Context) (*Token, error) {
	login.ReportOf(ctx).SetSource(a.obo.workflow, "", a.obo.appID)
	req := a.call
	if a.newBody != nil { // the call dials while the JWT is being signed
		req.Body, req.First = a.newBody()
	}
	resp, err := a.obo.caller.login(ctx, req)
	if err != nil {
		return nil, err
	}
	tok := &Token{SessionToken: resp.Value()}
	a.obo.lastLogin.Store(&appLogin{tok: tok, at: a.obo.clock()})
	return tok, nil
}

// oboUser obtains a user's session with the app's session.
type oboUser struct {
	obo           *OBO
	url, endpoint string
	user          string      // the username or id, for LoginEvent
	known         atomic.Bool // a user step succeeded: the pod knows this user
}

func (u *oboUser) symphonyOrigins() *origins { return u.obo.origins }

func (u *oboUser) sourceLogger() *slog.Logger { return u.obo.caller.Logger() }

// Token obtains a user session. The pod answers 401 to the user step both
// for a user it does not know and for an app session that ended. For a user
// this source has logged in before, or when the app's login is more than
// appFreshFor old, it is taken for the app session: that is obtained again —
// once, shared with every other user — and the user step retried once.
// Otherwise it is about the user, and costs no app login.
func (u *oboUser) Token(ctx context.Context) (*Token, error) {
	login.ReportOf(ctx).SetSource(u.obo.workflow, u.user, u.obo.appID)
	app, err := u.obo.app.Token(ctx)
	if err != nil {
		return nil, err
	}
	tok, err := u.login(ctx, app)
	if !isUnauthorized(err) || !u.known.Load() && u.obo.appAlive(app) {
		return tok, err // a user never seen, refused with a fresh app session: the pod refuses this user
	}
	u.obo.app.Invalidate(app)
	if app, err = u.obo.app.Token(ctx); err != nil {
		return nil, err
	}
	tok, err = u.login(ctx, app)
	if isUnauthorized(err) {
		u.known.Store(false) // refused with a fresh app session too: the pod refuses this user now
	}
	return tok, err
}

// appFreshFor is how long after the app's login a 401 to a user step is taken
// to be about the user (unknown, not allowed: the pod answers 401 to both),
// so that a burst of unknown users costs no app login. Past it, a 401 logs
// the app in again, once, shared by every user.
const appFreshFor = 30 * time.Second

// appAlive reports whether app, the app session a user step was refused
// with, is the one the app's last login obtained less than appFreshFor ago.
func (o *OBO) appAlive(app *Token) bool {
	l := o.lastLogin.Load()
	return l != nil && l.tok == app && o.clock().Sub(l.at) < appFreshFor
}

// appLogin is the app's last login: its session and when it was obtained.
type appLogin struct {
	tok *Token
	at  time.Time
}

func (o *OBO) clock() time.Time {
	if o.now != nil {
		return o.now()
	}
	return time.Now()
}

func (u *oboUser) login(ctx context.Context, app *Token) (*Token, error) {
	resp, err := u.obo.caller.login(ctx, login.Request{
		URL: u.url, Endpoint: u.endpoint,
		Header: http.Header{canonicalSessionToken: {app.SessionToken}},
	})
	if err != nil {
		return nil, err
	}
	u.known.Store(true)
	return &Token{SessionToken: resp.Value()}, nil
}
