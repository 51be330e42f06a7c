package symauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/symauth/symauth/internal/login"
	"golang.org/x/sync/singleflight"
)

// Header names under which Symphony expects the session tokens.
const (
	HeaderSessionToken    = "sessionToken"
	HeaderKeyManagerToken = "keyManagerToken"
)

// Token is the set of credentials one login yields. A Token is immutable once
// a TokenSource has returned it: callers must not modify it, and a *Token may be
// shared by any number of goroutines.
//
// Its formatting methods (String, GoString, Format, LogValue, MarshalJSON)
// never show the token values, so a Token may be logged or printed with %v
// safely. Read the fields to use the values.
type Token struct {
	SessionToken       string
	KeyManagerToken    string    // "" when none was obtained (OBO, SKD, SkipKeyManager)
	AuthorizationToken string    // "Bearer …" when the pod returned one, else ""
	Expiry             time.Time // zero: unknown, valid until the server answers 401

	// CommonJWT makes the Transport send AuthorizationToken in an
	// Authorization header instead of the sessionToken header (the opt-in
	// Common JWT mode of RSAConfig and CertConfig). Expiry is then the
	// bearer token's, and the Session renews it shortly before.
	CommonJWT bool
}

// TokenSource yields tokens. Implementations in this package (*RSA, *Cert) log
// in on every call; *Session caches what another source yields.
type TokenSource interface {
	// Token returns a token or an error. The context bounds the call.
	Token(ctx context.Context) (*Token, error)
}

// expiryLeeway is how long before Expiry a token counts as expired, so that a
// request sent with it does not arrive after its end (BDK Java uses 5 s too).
const expiryLeeway = 5 * time.Second

// usable reports whether t can be sent: it exists and has no expiry, or one
// more than expiryLeeway away. The clock is only read for a token with an expiry.
func usable(t *Token, now func() time.Time) bool {
	return t != nil && (t.Expiry.IsZero() || !now().Add(expiryLeeway).After(t.Expiry))
}

// String describes the token without its values.
func (t Token) String() string {
	return "symauth.Token{SessionToken:" + login.RedactedOrNone(t.SessionToken) +
		" KeyManagerToken:" + login.RedactedOrNone(t.KeyManagerToken) +
		" AuthorizationToken:" + login.RedactedOrNone(t.AuthorizationToken) +
		" Expiry:" + expiryText(t.Expiry) + commonJWTText(t.CommonJWT) + "}"
}

// GoString describes the token without its values, for %#v.
func (t Token) GoString() string {
	return "symauth.Token{SessionToken:" + quotedRedactedOrEmpty(t.SessionToken) +
		", KeyManagerToken:" + quotedRedactedOrEmpty(t.KeyManagerToken) +
		", AuthorizationToken:" + quotedRedactedOrEmpty(t.AuthorizationToken) +
		", Expiry:" + fmt.Sprintf("%#v", t.Expiry) + ", CommonJWT:" + strconv.FormatBool(t.CommonJWT) + "}"
}

// Format implements fmt.Formatter so that no verb or flag (%v, %+v, %#v, %s,
// %q, %x …) prints a token value.
func (t Token) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, t.GoString())
	case verb == 'q':
		_, _ = fmt.Fprintf(f, "%q", t.String())
	default:
		_, _ = io.WriteString(f, t.String())
	}
}

// LogValue implements slog.LogValuer: which tokens are present, never their values.
func (t Token) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("sessionToken", login.RedactedOrNone(t.SessionToken)),
		slog.String("keyManagerToken", login.RedactedOrNone(t.KeyManagerToken)),
		slog.String("authorizationToken", login.RedactedOrNone(t.AuthorizationToken)),
	}
	if !t.Expiry.IsZero() {
		attrs = append(attrs, slog.Time("expiry", t.Expiry))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes the redacted form, so that a Token embedded in a
// structure that some logger serializes as JSON does not leak. Code that needs
// the values reads the fields.
func (t Token) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"sessionToken":%q,"keyManagerToken":%q,"authorizationToken":%q}`,
		login.RedactedOrNone(t.SessionToken), login.RedactedOrNone(t.KeyManagerToken), login.RedactedOrNone(t.AuthorizationToken)), nil
}

func quotedRedactedOrEmpty(v string) string {
	if v == "" {
		return `""`
	}
	return `"` + login.Redacted + `"`
}

func commonJWTText(on bool) string {
	if on {
		return " CommonJWT:true"
	}
	return ""
}

func expiryText(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}

// DefaultLoginTimeout bounds one login of a Session, retries included, when
// SessionOptions.LoginTimeout is zero.
const DefaultLoginTimeout = time.Minute

// Failure backoff of a Session: after n consecutive failed logins, no new login
// starts for min(firstFailureDelay·2^(n-1), maxFailureDelay).
const (
	firstFailureDelay = time.Second
	maxFailureDelay   = 30 * time.Second
)

// SessionOptions tunes a Session. The zero value is the default.
type SessionOptions struct {
	// LoginTimeout bounds one login, retries included; 0 means DefaultLoginTimeout.
	LoginTimeout time.Duration

	// Logger, if set, gets one line per login (Info) and per failed login
	// (Warn), with its cause, workflow, endpoints, attempts and duration, and
	// a Debug line per request replayed after a 401. Never a token. nil: the
	// Logger of the source's config (RSAConfig.Logger …), or no logs.
	Logger *slog.Logger

	// OnLogin, if set, is called after every login, successful or not, on
	// the goroutine that ran it: feed it to Prometheus, OpenTelemetry or
	// expvar. It must not block for long: callers wait for the login.
	OnLogin func(LoginEvent)
}

// Session caches the token of another TokenSource and is itself a TokenSource.
// It is safe for concurrent use by any number of goroutines.
//
// What is cached: the last token the source returned, until Invalidate is
// called with it or its Expiry (when it has one) is less than 5 s away. A
// cached token is read without a lock. A token near its Expiry is renewed
// by the source's cheaper renewal when it is an RSA or Cert with Common JWT,
// otherwise by a new login.
//
// When the network is touched: only when there is no usable cached token. Then
// one login runs at a time, whatever the number of callers: they all share its
// result. The login runs detached from the callers' contexts (it keeps their
// values, not their cancellation) under its own LoginTimeout, so a caller that
// gives up stops waiting without failing the others.
//
// After a failed login, logins pause for a growing delay (1 s, doubling to 30 s,
// reset by a success); meanwhile Token fails at once with the last error
// instead of hammering the pod.
type Session struct {
	src          TokenSource
	loginTimeout time.Duration
	now          func() time.Time
	logger       *slog.Logger
	onLogin      func(LoginEvent)

	current atomic.Pointer[Token]        // the cached token; nil: none
	failure atomic.Pointer[loginFailure] // the last failed login since the last success; nil: none
	logins  singleflight.Group           // one login at a time, shared by all waiting callers

	loggedIn  atomic.Bool  // a login has succeeded once
	nextCause atomic.Int32 // the LoginCause of the next login when no token is cached
}

// renewer is a TokenSource of this package that can renew a token near its
// Expiry more cheaply than a new login (RSA and Cert, for Common JWT). The
// method is unexported on purpose: a user's type that happens to have a
// method of some name never changes how a Session renews its tokens.
type renewer interface {
	renew(ctx context.Context, old *Token) (*Token, error)
}

// loginFailure records consecutive failed logins and when the next may start.
type loginFailure struct {
	err   error
	count int
	until time.Time
}

// NewSession returns a Session caching the tokens of src, with default options.
// It does not touch the network.
func NewSession(src TokenSource) *Session {
	return NewSessionWithOptions(src, SessionOptions{})
}

// NewSessionWithOptions is NewSession with options.
func NewSessionWithOptions(src TokenSource, opts SessionOptions) *Session {
	timeout := opts.LoginTimeout
	if timeout <= 0 {
		timeout = DefaultLoginTimeout
	}
	logger := opts.Logger
	if ls, ok := src.(loggerSource); ok && logger == nil {
		logger = ls.sourceLogger()
	}
	return &Session{src: src, loginTimeout: timeout, now: time.Now, logger: logger, onLogin: opts.OnLogin}
}

// Token returns the cached token, or logs in when there is none. Waiting for a
// login ends when ctx ends; the login itself goes on for the other callers and
// the cache. During the failure backoff it returns, at once, an error wrapping
// the last login error.
func (s *Session) Token(ctx context.Context) (*Token, error) {
	if t := s.current.Load(); usable(t, s.now) {
		return t, nil
	}
	if err := s.backoffError(); err != nil {
		return nil, err
	}
	ch := s.logins.DoChan("login", func() (any, error) { return s.login(ctx) })
	select {
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Token), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Invalidate forgets the cached token if it is rejected (the same *Token, or
// one with the same session token), so that the next Token call logs in. If a
// newer token has already replaced rejected, Invalidate does nothing: a late
// 401 for an old token never causes a second login. A nil rejected does
// nothing. Invalidate does not touch the network.
func (s *Session) Invalidate(rejected *Token) {
	if rejected == nil {
		return
	}
	cur := s.current.Load()
	if cur == nil || (cur != rejected && cur.SessionToken != rejected.SessionToken) {
		return
	}
	if s.current.CompareAndSwap(cur, nil) {
		s.nextCause.Store(int32(CauseRejected))
	}
}

// Refresh forces a login, even if a token is cached, and returns the new
// token; concurrent callers share it with any login in flight. Use it when
// something outside HTTP tells that the session ended (a datafeed or
// websocket refused it). It respects the failure backoff.
func (s *Session) Refresh(ctx context.Context) (*Token, error) {
	if cur := s.current.Load(); cur != nil && s.current.CompareAndSwap(cur, nil) {
		s.nextCause.Store(int32(CauseManual))
	}
	return s.Token(ctx)
}

// login runs inside the singleflight group, so at most one runs at a time.
func (s *Session) login(callerCtx context.Context) (*Token, error) {
	// A login that ended just before this one started may have left a token.
	if t := s.current.Load(); usable(t, s.now) {
		return t, nil
	}
	if s.src == nil {
		return nil, errors.New("symauth: the Session has no TokenSource")
	}
	if err := s.backoffError(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(callerCtx), s.loginTimeout)
	defer cancel()
	report := &login.Report{}
	ctx = login.WithReport(ctx, report)
	start := time.Now()

	var t *Token
	var err error
	cause := s.cause()
	if r, ok := s.src.(renewer); ok && cause == CauseExpiry {
		t, err = r.renew(ctx, s.current.Load()) // expired, not rejected: renew it
	} else {
		t, err = s.src.Token(ctx)
	}
	if err == nil && t == nil {
		err = errors.New("symauth: token source returned no token and no error")
	}
	s.report(loginEvent(report, cause, time.Since(start), err))
	if err != nil {
		s.recordFailure(err)
		return nil, err
	}
	s.failure.Store(nil)
	s.loggedIn.Store(true)
	s.current.Store(t)
	return t, nil
}

// cause says why the login about to run is needed.
func (s *Session) cause() LoginCause {
	switch {
	case s.current.Load() != nil:
		return CauseExpiry
	case s.loggedIn.Load():
		return LoginCause(s.nextCause.Load())
	}
	return CauseFirst
}

// report logs a login and hands it to OnLogin.
func (s *Session) report(ev LoginEvent) {
	logLogin(s.logger, ev)
	if s.onLogin != nil {
		s.onLogin(ev)
	}
}

// logReplay logs, at Debug, a request about to be replayed after a 401.
func (s *Session) logReplay(req *http.Request) {
	if s.logger != nil {
		s.logger.LogAttrs(req.Context(), slog.LevelDebug, "symauth: 401; replaying the request with a new token",
			slog.String("method", req.Method), slog.String("host", req.URL.Host), slog.String("path", req.URL.Path))
	}
}

func (s *Session) recordFailure(err error) {
	count := 1
	if prev := s.failure.Load(); prev != nil {
		count = prev.count + 1
	}
	delay := maxFailureDelay
	if count <= 6 { // 1 s << 5 = 32 s already exceeds the cap
		delay = min(firstFailureDelay<<(count-1), maxFailureDelay)
	}
	s.failure.Store(&loginFailure{err: err, count: count, until: s.now().Add(delay)})
}

// backoffError returns, during the failure backoff, an error wrapping the last
// login error; otherwise nil.
func (s *Session) backoffError() error {
	f := s.failure.Load()
	if f == nil {
		return nil
	}
	wait := f.until.Sub(s.now())
	if wait <= 0 {
		return nil
	}
	return fmt.Errorf("symauth: not logging in for another %s after %d failed login(s): %w",
		wait.Round(time.Millisecond), f.count, f.err)
}

// String describes the session without any token.
func (s *Session) String() string {
	state := "no token"
	if t := s.current.Load(); t != nil {
		state = "token cached"
	}
	return "symauth.Session{" + state + "}"
}

// GoString is String, for %#v.
func (s *Session) GoString() string { return s.String() }
