// Package extapp is the backend of a Symphony extension app: the circle of
// trust that proves to the app's front end, running inside Symphony, and to
// its backend that each talks to the real other; the (app token, Symphony
// token) pairs it yields; and the verification of the user identity JWTs the
// front end sends. It is server-side code: no RoundTripper, no bot session.
package extapp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/login"
	"github.com/symauth/symauth/internal/redact"
	"github.com/symauth/symauth/internal/validate"
)

// Paths of the extension app (circle of trust) endpoints.
const (
	extensionAppLoginPath = "/login/v1/pubkey/app/authenticate/extensionApp"
	podCertPath           = "/pod/v1/podcert"
)

// Config configures the backend of an extension app: an app whose front end
// runs inside Symphony and must prove to its backend, and the backend to it,
// that each is talking to the real other (the circle of trust).
type Config struct {
	PodURL     string              // e.g. "https://acme.symphony.com"
	Store      TokenStore          // where Authenticate keeps the token pairs; nil: in memory
	AppID      string              // the app's id: the JWT's sub and the user JWTs' aud
	PrivateKey crypto.Signer       // the app's RSA key
	HTTPClient *http.Client        // sends the calls to the pod; nil: a default shared by all apps
	Retry      symauth.RetryPolicy // retries of each call; zero: the default
}

// App authenticates an extension app's backend, keeps the token
// pairs it obtained until they expire, and verifies the user identity JWTs
// its front end sends. It is safe for concurrent use.
type App struct {
	appID      string
	jwt        login.JWT
	caller     *login.Caller
	loginURL   string
	podCertURL string
	now        func() time.Time

	store TokenStore

	certMu    sync.Mutex
	podCert   *x509.Certificate // the last certificate fetched; nil: none yet
	fetching  *certFetch        // the fetch in flight; nil: none
	lastStale time.Time         // when a signature last failed to verify with podCert
}

// certFetch is one fetch of the pod certificate, shared by every caller.
type certFetch struct {
	done chan struct{} // closed when the fetch has ended
	cert *x509.Certificate
	err  error
}

// Bounds of the pod certificate's fetch: one fetch takes at most
// certFetchTimeout, whatever the callers' contexts; a signature that does
// not verify fetches the certificate again (it may have been rotated) at most
// once per certRefetchEvery.
const (
	certFetchTimeout = 30 * time.Second
	certRefetchEvery = time.Minute
)

// Tokens is the answer of an extension app authentication: the
// app token the backend made and the Symphony token the pod made. The front
// end sends them back, and ValidateTokens checks that they belong together.
// Its formatting methods never show the tokens.
type Tokens struct {
	AppID         string
	AppToken      string
	SymphonyToken string
	ExpireAt      time.Time
}

func (t Tokens) shown() redact.Struct {
	expireAt := redact.Mark("none")
	if !t.ExpireAt.IsZero() {
		expireAt = redact.Mark(t.ExpireAt.UTC().Format(time.RFC3339))
	}
	return redact.Struct{Type: "extapp.Tokens", Fields: []redact.Field{
		{Name: "AppID", Value: t.AppID},
		{Name: "AppToken", Value: redact.Secret(t.AppToken != "")},
		{Name: "SymphonyToken", Value: redact.Secret(t.SymphonyToken != "")},
		{Name: "ExpireAt", Value: expireAt},
	}}
}

// String describes the tokens without their values.
func (t Tokens) String() string { return t.shown().String() }

// GoString is String, for %#v.
func (t Tokens) GoString() string { return t.shown().String() }

// Format implements fmt.Formatter: no verb shows a token.
func (t Tokens) Format(f fmt.State, verb rune) { t.shown().Format(f, verb) }

// LogValue implements slog.LogValuer: no token.
func (t Tokens) LogValue() slog.Value { return t.shown().LogValue() }

// MarshalJSON writes the redacted form; code that needs the tokens (to send
// them to the front end) reads the fields.
func (t Tokens) MarshalJSON() ([]byte, error) { return t.shown().MarshalJSON() }

func (c Config) shown() redact.Struct {
	return redact.Struct{Type: "extapp.Config", Fields: []redact.Field{
		{Name: "PodURL", Value: c.PodURL},
		{Name: "AppID", Value: c.AppID},
		{Name: "PrivateKey", Value: redact.Secret(c.PrivateKey != nil)},
		{Name: "HTTPClient", Value: redact.Set(c.HTTPClient != nil)},
		{Name: "Retry", Value: c.Retry},
	}}
}

// String shows c without its key.
func (c Config) String() string { return c.shown().String() }

// GoString is String, for %#v.
func (c Config) GoString() string { return c.shown().String() }

// Format implements fmt.Formatter: no verb shows the key.
func (c Config) Format(f fmt.State, verb rune) { c.shown().Format(f, verb) }

// LogValue implements slog.LogValuer: the fields, without the key.
func (c Config) LogValue() slog.Value { return c.shown().LogValue() }

// MarshalJSON writes the fields, without the key.
func (c Config) MarshalJSON() ([]byte, error) { return c.shown().MarshalJSON() }

// User is the user a verified identity JWT names.
type User struct {
	ID             int64
	Username       string
	EmailAddress   string
	FirstName      string
	LastName       string
	DisplayName    string
	Title          string
	Company        string
	CompanyID      string // a number or a string, depending on the pod; "" when null or absent
	Location       string
	AvatarURL      string
	AvatarSmallURL string
}

// userClaim is the "user" claim of an identity JWT as pods write it: ids may
// be JSON numbers or strings.
type userClaim struct {
	ID             json.Number     `json:"id"`
	Username       string          `json:"username"`
	EmailAddress   string          `json:"emailAddress"`
	FirstName      string          `json:"firstName"`
	LastName       string          `json:"lastName"`
	DisplayName    string          `json:"displayName"`
	Title          string          `json:"title"`
	Company        string          `json:"company"`
	CompanyID      json.RawMessage `json:"companyId"`
	Location       string          `json:"location"`
	AvatarURL      string          `json:"avatarUrl"`
	AvatarSmallURL string          `json:"avatarSmallUrl"`
}

func (c *userClaim) user() (*User, error) {
	id, err := c.ID.Int64()
	if err != nil {
		return nil, errors.New("extapp: user identity JWT refused: its user id is not a number")
	}
	return &User{
		ID: id, Username: c.Username, EmailAddress: c.EmailAddress, FirstName: c.FirstName,
		LastName: c.LastName, DisplayName: c.DisplayName, Title: c.Title, Company: c.Company,
		CompanyID: jsonText(c.CompanyID), Location: c.Location,
		AvatarURL: c.AvatarURL, AvatarSmallURL: c.AvatarSmallURL,
	}, nil
}

// New validates cfg. It does not touch the network.
func New(cfg Config) (*App, error) {
	v := validate.Fields{Prefix: "extapp: Config."}
	pod := v.BaseURL("PodURL", cfg.PodURL)
	v.Username("AppID", cfg.AppID)
	v.RSASigner("PrivateKey", cfg.PrivateKey)
	v.Retry("Retry", login.Retry(cfg.Retry))
	if err := v.Err(); err != nil {
		return nil, err
	}
	a := &App{
		appID:      cfg.AppID,
		jwt:        login.JWT{Subject: cfg.AppID, Signer: cfg.PrivateKey, Now: time.Now},
		caller:     login.NewCaller(login.ClientOrDefault(cfg.HTTPClient), login.Retry(cfg.Retry), nil),
		loginURL:   pod + extensionAppLoginPath,
		podCertURL: pod + podCertPath,
	}
	if a.store = cfg.Store; a.store == nil {
		a.store = newMemoryStore(a.clock)
	}
	return a, nil
}

var errZeroApp = errors.New("extapp: a zero App: make it with New")

// clock is the App's clock; time.Now for a zero App.
func (a *App) clock() time.Time {
	if a.now == nil {
		return time.Now()
	}
	return a.now()
}

// call sends lr and decodes its answer into out; a failure is a
// *symauth.AuthError.
func (a *App) call(ctx context.Context, lr login.Request, out login.Answer) error {
	if a.caller == nil {
		return errZeroApp
	}
	if f := a.caller.Call(ctx, lr, out); f != nil {
		return (*symauth.AuthError)(f)
	}
	return nil
}

// extensionAppAnswer is the pod's answer to an extension app authentication.
type extensionAppAnswer struct {
	AppID         string `json:"appId"`
	AppToken      string `json:"appToken"`
	SymphonyToken string `json:"symphonyToken"`
	ExpireAt      int64  `json:"expireAt"`
}

func (a *extensionAppAnswer) Required() (string, string) { return a.SymphonyToken, "symphonyToken" }

// Authenticate authenticates the app with a fresh random app token and keeps
// the (app token, Symphony token) pair until it expires, for ValidateTokens.
func (a *App) Authenticate(ctx context.Context) (*Tokens, error) {
	appToken, err := randomToken()
	if err != nil {
		return nil, &symauth.AuthError{Endpoint: extensionAppLoginPath, Err: err}
	}
	body := func(int) ([]byte, error) { // a fresh JWT for every attempt
		signed, err := a.jwt.Sign()
		if err != nil {
			return nil, err
		}
		return json.Marshal(struct {
			AppToken  string `json:"appToken"`
			AuthToken string `json:"authToken"`
		}{appToken, signed})
	}
	var ans extensionAppAnswer
	if err := a.call(ctx, login.Request{URL: a.loginURL, Endpoint: extensionAppLoginPath, Body: body}, &ans); err != nil {
		return nil, err
	}
	if ans.AppToken != "" && ans.AppToken != appToken {
		return nil, &symauth.AuthError{Endpoint: extensionAppLoginPath, StatusCode: http.StatusOK, Message: "the pod answered another app token than the one sent"}
	}
	tokens := &Tokens{AppID: a.appID, AppToken: appToken, SymphonyToken: ans.SymphonyToken, ExpireAt: unixTime(ans.ExpireAt)}
	if err := a.store.Save(ctx, *tokens); err != nil {
		return nil, fmt.Errorf("extapp: keeping the token pair: %w", err)
	}
	return tokens, nil
}

// storeTimeout bounds ValidateTokens' call to the TokenStore.
const storeTimeout = 5 * time.Second

// ValidateTokens reports whether appToken and symphonyToken are a pair this
// app (or, with a shared TokenStore, another replica) obtained from
// Authenticate and that has not expired. The comparison takes constant
// time. A store that fails counts as no pair.
func (a *App) ValidateTokens(appToken, symphonyToken string) bool {
	if a.store == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	t, ok, err := a.store.Load(ctx, appToken)
	if err != nil || !ok || !t.ExpireAt.IsZero() && !a.clock().Before(t.ExpireAt) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(t.SymphonyToken), []byte(symphonyToken)) == 1
}

// PodCertificate returns the pod's certificate, whose key signs user identity
// JWTs. It is fetched once and cached; one fetch at a time runs, shared by
// every caller, each of whom stops waiting when its own ctx ends.
func (a *App) PodCertificate(ctx context.Context) (*x509.Certificate, error) {
	return a.podCertificate(ctx, nil)
}

// podCertificate returns the cached certificate, unless it is stale (the one
// a signature did not verify with), when it fetches it again.
func (a *App) podCertificate(ctx context.Context, stale *x509.Certificate) (*x509.Certificate, error) {
	a.certMu.Lock()
	if a.podCert != nil && a.podCert != stale {
		cert := a.podCert
		a.certMu.Unlock()
		return cert, nil
	}
	f := a.fetching
	if f == nil {
		f = &certFetch{done: make(chan struct{})}
		a.fetching = f
		go a.fetchPodCertificate(context.WithoutCancel(ctx), f)
	}
	a.certMu.Unlock()
	select {
	case <-f.done:
		return f.cert, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// fetchPodCertificate runs the fetch of f, and caches what it got.
func (a *App) fetchPodCertificate(ctx context.Context, f *certFetch) {
	defer close(f.done)
	ctx, cancel := context.WithTimeout(ctx, certFetchTimeout)
	defer cancel()
	f.cert, f.err = a.fetchCertificate(ctx)
	a.certMu.Lock()
	defer a.certMu.Unlock()
	if f.err == nil {
		a.podCert = f.cert
	}
	a.fetching = nil
}

// fetchCertificate gets the pod certificate: PEM, with an RSA key.
func (a *App) fetchCertificate(ctx context.Context) (*x509.Certificate, error) {
	var ans podCertAnswer
	if err := a.call(ctx, login.Request{Method: http.MethodGet, URL: a.podCertURL, Endpoint: podCertPath}, &ans); err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(ans.Certificate))
	if block == nil {
		return nil, &symauth.AuthError{Endpoint: podCertPath, StatusCode: http.StatusOK, Message: "the certificate is not PEM"}
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, &symauth.AuthError{Endpoint: podCertPath, StatusCode: http.StatusOK, Message: "the certificate cannot be parsed", Err: err}
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		return nil, &symauth.AuthError{Endpoint: podCertPath, StatusCode: http.StatusOK, Message: "the certificate's key is not RSA"}
	}
	return cert, nil
}

// staleAllowed reports whether a signature that did not verify with cert may
// fetch the certificate again now: once per certRefetchEvery at most, so
// that forged JWTs cannot turn into a stream of fetches.
func (a *App) staleAllowed() bool {
	a.certMu.Lock()
	defer a.certMu.Unlock()
	now := a.clock()
	if !a.lastStale.IsZero() && now.Sub(a.lastStale) < certRefetchEvery {
		return false
	}
	a.lastStale = now
	return true
}

type podCertAnswer struct {
	Certificate string `json:"certificate"`
}

func (a *podCertAnswer) Required() (string, string) { return a.Certificate, "certificate" }

// userIdentityClaims are the claims of a user identity JWT. Real pods write
// sub as a JSON number (PROTOCOL.md): it hides the string Subject of the
// registered claims, and is not checked.
type userIdentityClaims struct {
	jwt.RegisteredClaims
	Sub  json.RawMessage `json:"sub"`
	User *userClaim      `json:"user"`
}

// jsonText is a JSON string's text, a number's digits, "" for null or nothing.
func jsonText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// VerifyUserJWT verifies a user identity JWT that the app's front end got from
// Symphony: RS512, signed with the pod certificate's key, aud = the app id,
// not expired; and returns the user it names. The JWT never appears in an
// error.
func (a *App) VerifyUserJWT(ctx context.Context, token string) (*User, error) {
	cert, err := a.PodCertificate(ctx)
	if err != nil {
		return nil, err
	}
	claims, err := a.parseUserJWT(token, cert)
	if errors.Is(err, jwt.ErrTokenSignatureInvalid) && a.staleAllowed() {
		// The pod's certificate may have been rotated: fetch it again, once.
		if fresh, ferr := a.podCertificate(ctx, cert); ferr == nil && fresh != cert {
			claims, err = a.parseUserJWT(token, fresh)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("extapp: user identity JWT refused: %w", jwtReason(err))
	}
	if claims.User == nil {
		return nil, errors.New("extapp: user identity JWT refused: it has no user claim")
	}
	return claims.User.user()
}

// parseUserJWT verifies token with cert's key and returns its claims.
func (a *App) parseUserJWT(token string, cert *x509.Certificate) (*userIdentityClaims, error) {
	var claims userIdentityClaims
	_, err := jwt.ParseWithClaims(token, &claims, func(*jwt.Token) (any, error) { return cert.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS512"}),
		jwt.WithAudience(a.appID),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(a.clock),
	)
	return &claims, err
}

// jwtReason returns the golang-jwt sentinel error behind err, whose text
// never holds the token.
func jwtReason(err error) error {
	for _, reason := range []error{
		jwt.ErrTokenMalformed, jwt.ErrTokenSignatureInvalid, jwt.ErrTokenExpired, jwt.ErrTokenInvalidAudience,
		jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenNotValidYet, jwt.ErrTokenUnverifiable, jwt.ErrTokenInvalidClaims,
	} {
		if errors.Is(err, reason) {
			return reason
		}
	}
	return jwt.ErrTokenUnverifiable
}

// String describes the app without any token or key.
func (a *App) String() string { return fmt.Sprintf("extapp.App{AppID:%q}", a.appID) }

// GoString is String, for %#v.
func (a *App) GoString() string { return a.String() }

// randomToken returns 32 random bytes in hex.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// unixTime reads a Unix timestamp in milliseconds, or in seconds when it is
// too small to be milliseconds of this century; zero for 0.
func unixTime(v int64) time.Time {
	switch {
	case v <= 0:
		return time.Time{}
	case v < 1e11: // seconds: before 5138 AD; milliseconds: before 1973
		return time.Unix(v, 0)
	default:
		return time.UnixMilli(v)
	}
}
