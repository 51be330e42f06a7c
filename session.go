package symauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/symauth/symauth/internal/login"
)

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
	// (Warn), with its cause, workflow, endpoints, attempts and duration, a
	// Debug line per request replayed after a 401, and a Warn line for the
	// first request to each origin that is not Symphony's. Never a token.
	// nil: the Logger of the source's config (RSAConfig.Logger …), or no logs.
	Logger *slog.Logger

	// OnLogin, if set, is called after every login, successful or not, on
	// the goroutine that ran it: feed it to Prometheus, OpenTelemetry or
	// expvar. It must not block for long: callers wait for the login. A
	// panic in it fails the login, as an error for the waiting callers. A
	// login that a panic elsewhere (the source, OnLoginStart, the Logger)
	// ended is reported too, with that error.
	OnLogin func(LoginEvent)

	// OnLoginStart, if set, is called when a login starts, on the goroutine
	// that runs it, with the login's cause and context: the values of the
	// context of the request that triggered it, without its cancellation,
	// under the login's LoginTimeout, which bounds the hook too. The
	// context it returns (nil: ctx) is the login's from then on, still
	// under the LoginTimeout: its values reach the login calls (a trace
	// span, under which an instrumented login client's spans nest) and
	// LoginEvent.Context. A panic in it fails the login, as in OnLogin; an
	// ended context returned fails the login with an error naming it, and
	// no failure backoff, as the pod was not called. Whatever the login's
	// end, OnLogin is called for it once.
	//
	// OnLoginStart and OnLogin must not call the Session synchronously
	// (Token, or a request through its Transport): that call waits for
	// the very login the hook is part of, until the LoginTimeout fails it.
	OnLoginStart func(ctx context.Context, cause LoginCause) context.Context

	// OnReplay, if set, is called for each request that a Transport replays
	// after a 401, on the request's goroutine, before the replay waits for
	// the new token; req is the caller's request, not to be modified. A
	// panic in it is the request's error.
	OnReplay func(req *http.Request)

	// OnBackoff, if set, is called for each Token, Reject or Refresh call —
	// each request of a Transport — refused at once during the failure
	// backoff, on its goroutine, with its context and the error it gets. A
	// panic in it is the call's error instead.
	OnBackoff func(ctx context.Context, err error)

	// TraceID makes each request that a Transport sends with the Session's
	// tokens carry the X-Trace-Id header that Symphony support asks for, as
	// BDK does: the id of the request's own X-Trace-Id header (under a key
	// in any letter case; sent once, canonically), else of its
	// context (WithTraceID), else a new one of 6 letters and digits. A login
	// carries the id of the request that triggered it (a new one for a
	// Token call without any) on its calls, in its log lines and in
	// LoginEvent.TraceID, and so does the session check a Transport may
	// send after a refused replay. An id that is not 1 to 128 visible ASCII
	// characters fails the request, as does a request with more than one
	// X-Trace-Id value. Off, nothing is added, nothing read.
	TraceID bool
}

// Session caches the token of another TokenSource and is itself a TokenSource.
// It is safe for concurrent use by any number of goroutines.
//
// What is cached: the last token the source returned, until Invalidate is
// called with it or its Expiry (when it has one) is less than 5 s away. A
// cached token is read without a lock. A token near its Expiry is renewed
// by the source's cheaper renewal when it is an RSA or Cert with Common JWT,
// otherwise by a new login; a token that arrives already that near its
// Expiry is sent as it is, never renewed again.
//
// When the network is touched: only when there is no usable cached token. Then
// one login runs at a time, whatever the number of callers: they all share its
// result. The login runs detached from the callers' contexts (it keeps their
// values, not their cancellation nor their httptrace hooks) under its own
// LoginTimeout, so a caller that gives up stops waiting without failing the
// others. A panic or runtime.Goexit in the source, OnLoginStart or OnLogin
// ends the login with an error for every waiting caller.
//
// A Session over a source that caches too (another Session, or a user's
// decorator around one) reaches it: the login that follows a rejection
// passes the rejected token down in its context, and a Session there drops it
// too. A source that hands the rejected token back fails the login.
//
// After a failed login, logins pause for a growing delay (1 s, doubling to 30 s,
// reset by a success); meanwhile Token fails at once with the last error
// instead of hammering the pod.
type Session struct {
	src          TokenSource
	loginTimeout time.Duration    // 0: DefaultLoginTimeout
	now          func() time.Time // nil: time.Now
	logger       *slog.Logger
	onLogin      func(LoginEvent)
	hooks        *sessionHooks // OnLoginStart, OnReplay, OnBackoff, TraceID; never nil

	current atomic.Pointer[Token]        // the cached token; nil: none
	asIs    atomic.Pointer[Token]        // a token sent as is although near its Expiry (fresh from a login)
	dropped atomic.Pointer[Token]        // the last token invalidated or refreshed away
	failure atomic.Pointer[loginFailure] // the last failed login since the last success; nil: none

	mu       sync.Mutex
	inflight *flight // the login running, shared by all waiting callers; nil: none

	loggedIn  atomic.Bool  // a login has succeeded once
	nextCause atomic.Int32 // the LoginCause of the next login when no token is cached
}

// flight is one login and its result, for every caller waiting for it.
type flight struct {
	done chan struct{} // closed when the login has ended
	tok  *Token
	err  error
}

// renewal returns how src renews a token near its Expiry more cheaply than a
// new login, when it can: an *RSA or a *Cert (for Common JWT), and nothing
// else — not a user's type that has a method of the same name, nor one that
// embeds an *RSA and overrides its Token, which then gets a Token call like
// any source.
func renewal(src TokenSource) func(ctx context.Context, old *Token) (*Token, error) {
	switch src := src.(type) {
	case *RSA:
		return src.renew
	case *Cert:
		return src.renew
	}
	return nil
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
	logger := opts.Logger
	if ls, ok := src.(loggerSource); ok && logger == nil {
		logger = ls.sourceLogger()
	}
	return &Session{src: src, loginTimeout: opts.LoginTimeout, logger: logger, onLogin: opts.OnLogin, hooks: hooksOf(opts)}
}

// Token returns the cached token, or logs in when there is none. Waiting for a
// login ends when ctx ends; the login itself goes on for the other callers and
// the cache. A ctx that has already ended gets its error at once, and starts
// no login. During the failure backoff it returns, at once, an error wrapping
// the last login error.
func (s *Session) Token(ctx context.Context) (*Token, error) {
	if rejected := rejectedIn(ctx); rejected != nil {
		s.Invalidate(rejected) // an outer cache's login, after a 401
	}
	return s.token(ctx)
}

// token is Token for a caller that is not another cache: the Transport.
func (s *Session) token(ctx context.Context) (*Token, error) {
	if t := s.current.Load(); s.usable(t) {
		return t, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.hook().traceID {
		if err := checkTraceID(traceIDFrom(ctx)); err != nil {
			return nil, err
		}
	}
	if err := s.backoffError(); err != nil {
		return nil, s.refused(ctx, err)
	}
	f := s.join(ctx)
	select {
	case <-f.done:
		if s.isRefusal(f.err) { // the backoff began just before this login
			return nil, s.refused(ctx, f.err)
		}
		return f.tok, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// startLogin starts a login for ctx, unless a usable token is cached, one
// is running, ctx has ended or the failure backoff is on; it does not wait
// for it. A Token call that follows joins it.
func (s *Session) startLogin(ctx context.Context) {
	if t := s.current.Load(); s.usable(t) || ctx.Err() != nil || s.backoffError() != nil {
		return
	}
	s.join(ctx)
}

// join returns the login in flight, or starts one for ctx.
func (s *Session) join(ctx context.Context) *flight {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight == nil {
		s.inflight = &flight{done: make(chan struct{})}
		go s.run(s.inflight, ctx)
	}
	return s.inflight
}

// run runs the login of f on a goroutine of its own, so that a panic or a
// runtime.Goexit in the source or a hook ends that goroutine only: f then
// carries the error. A login so ended is reported too (logged, OnLogin),
// unless it was being reported.
func (s *Session) run(f *flight, callerCtx context.Context) {
	defer func() {
		s.mu.Lock()
		s.inflight = nil
		s.mu.Unlock()
		close(f.done)
	}()
	var l loginRun
	returned := false
	defer func() {
		if returned {
			return
		}
		f.tok, f.err = nil, s.pluginFailure(recover())
		if l.started && !l.reported {
			// The login failed already: a panic of OnLogin here changes nothing.
			_ = guard("OnLogin", func() { _ = s.ended(&l, f.err) })
		}
	}()
	f.tok, f.err = s.login(callerCtx, &l)
	returned = true
}

// loginRun is what a login reports when it ends, kept by run so that a
// login that a panic or runtime.Goexit ends is reported too, once.
type loginRun struct {
	started  bool            // the login started: it is reported when it ends
	reported bool            // it has been reported (or is being: OnLogin's own panic is not reported again)
	ctx      context.Context // the event's: the login's values (OnLoginStart's once it returned), without its deadline
	traceID  string
	report   *login.Report
	cause    LoginCause
	start    time.Time
}

// ended reports the login of l, once, with err, and returns err, or the
// error of a panic of the Logger, which fails the login.
func (s *Session) ended(l *loginRun, err error) error {
	l.reported = true
	return s.report(loginEvent(l.ctx, l.traceID, l.report, l.cause, time.Since(l.start), err))
}

// pluginFailure is the error of a login that a panic (value) or a
// runtime.Goexit (value nil) in code plugged into the Session ended. It is
// logged with its stack and starts the failure backoff.
func (s *Session) pluginFailure(value any) error {
	err := &panicError{value: value}
	s.recordFailure(err)
	s.logPanic(err)
	return err
}

// logPanic logs err with its stack; a panic of the logger, which may be what
// panicked in the first place, is dropped.
func (s *Session) logPanic(err error) {
	if s.logger == nil {
		return
	}
	defer func() { _ = recover() }()
	s.logger.LogAttrs(context.Background(), slog.LevelError, "symauth: login failed", slog.String("error", err.Error()),
		slog.String("stack", string(debug.Stack())))
}

// panicError is the error of a login ended by a panic or a runtime.Goexit.
type panicError struct{ value any } // nil: runtime.Goexit

func (e *panicError) Error() string {
	if e.value == nil {
		return "symauth: the login ended in runtime.Goexit (t.Fatal or t.FailNow in a TokenSource or OnLogin?)"
	}
	return fmt.Sprintf("symauth: the login panicked: %v", e.value)
}

// Unwrap returns the panic's value when it is an error.
func (e *panicError) Unwrap() error {
	err, _ := e.value.(error)
	return err
}

// Invalidate forgets the cached token if it is rejected: the same *Token, or
// one that sends the same credential (the bearer token in Common JWT mode, the
// session token otherwise), so that the next Token call logs in. If a newer
// token has already replaced rejected, Invalidate does nothing: a late 401
// for an old token never causes a second login. A nil rejected does nothing.
// Invalidate does not touch the network.
func (s *Session) Invalidate(rejected *Token) {
	if rejected == nil {
		return
	}
	if cur := s.current.Load(); cur != nil && sameCredential(cur, rejected) && s.current.CompareAndSwap(cur, nil) {
		s.dropped.Store(cur)
		s.nextCause.Store(int32(CauseRejected))
	}
}

// Reject is how code outside HTTP that saw the server refuse a token (a
// datafeed loop, a websocket) gets the token to use instead: it invalidates
// rejected, unless a newer token already replaced it, and returns Token. Any
// number of observers of one session end cause one login.
func (s *Session) Reject(ctx context.Context, rejected *Token) (*Token, error) {
	s.Invalidate(rejected)
	return s.token(ctx)
}

// Refresh forces a login, even if a token is cached, and returns the new
// token; concurrent callers share it with any login in flight. It respects
// the failure backoff. To react to a session end seen outside HTTP, use
// Reject instead: two observers of one session end calling Refresh cause two
// logins.
func (s *Session) Refresh(ctx context.Context) (*Token, error) {
	if cur := s.current.Load(); cur != nil && s.current.CompareAndSwap(cur, nil) {
		s.dropped.Store(cur)
		s.nextCause.Store(int32(CauseManual))
	}
	return s.token(ctx)
}

// sameCredential reports whether a and b send the same credential.
func sameCredential(a, b *Token) bool {
	switch {
	case a == b:
		return true
	case a.CommonJWT || b.CommonJWT:
		return a.CommonJWT == b.CommonJWT && a.AuthorizationToken == b.AuthorizationToken
	}
	return a.SessionToken == b.SessionToken
}

// login runs on the goroutine of a flight, so at most one runs at a time;
// l records it for run. Every login that starts is reported when it ends.
// The LoginTimeout bounds it from its start, OnLoginStart included.
func (s *Session) login(callerCtx context.Context, l *loginRun) (*Token, error) {
	// A login that ended just before this one started may have left a token.
	if t := s.current.Load(); s.usable(t) {
		return t, nil
	}
	if s.src == nil {
		return nil, errors.New("symauth: the Session has no TokenSource")
	}
	if err := s.backoffError(); err != nil {
		return nil, err
	}
	cause := s.cause()
	ctx, cancel := context.WithTimeout(detached(callerCtx), s.timeout())
	defer cancel()
	*l = loginRun{started: true, cause: cause, report: &login.Report{}, start: time.Now()}
	ctx, l.traceID = s.withTraceID(ctx)
	l.ctx = context.WithoutCancel(ctx)
	started, err := s.loginStarted(ctx, cause)
	if err != nil {
		return nil, s.ended(l, err) // no call was made: no failure backoff
	}
	if started != ctx { // a context of OnLoginStart's: the LoginTimeout still bounds the login
		deadline, _ := ctx.Deadline()
		ctx, cancel = context.WithDeadline(started, deadline)
		defer cancel()
		l.ctx = context.WithoutCancel(started)
	}
	ctx = login.WithReport(ctx, l.report)
	dropped := s.dropped.Load()
	if dropped != nil && cause != CauseExpiry {
		ctx = withRejected(ctx, dropped) // for a cache inside the source
	}

	var t *Token
	switch renew := renewal(s.src); {
	case renew != nil && cause == CauseExpiry:
		t, err = renew(ctx, s.current.Load()) // expired, not rejected: renew it
	case renew != nil && cause == CauseRejected && dropped != nil && dropped.CommonJWT:
		// As BDK Java: a rejected bearer is renewed first; the renewal logs
		// in again if the pod refuses the session.
		t, err = renew(ctx, dropped)
	default:
		t, err = s.src.Token(ctx)
	}
	if err == nil {
		err = checkAnswer(t, dropped, cause, l.report)
	}
	if err = s.ended(l, err); err != nil {
		s.recordFailure(err)
		return nil, err
	}
	s.failure.Store(nil)
	s.loggedIn.Store(true)
	if !s.fresh(t) {
		s.asIs.Store(t) // already near its Expiry: send it as is, never renew it in a loop
	}
	s.current.Store(t)
	return t, nil
}

// checkAnswer checks the token a source answered: there is one, it is not the
// token the server just rejected (a source may answer the same token to a
// Refresh), and headers can carry it.
func checkAnswer(t, dropped *Token, cause LoginCause, report *login.Report) error {
	switch {
	case t == nil:
		return errors.New("symauth: token source returned no token and no error")
	case dropped != nil && cause == CauseRejected && sameCredential(t, dropped):
		return errors.New("symauth: the token source answered the token the server had just rejected: " +
			"a cache inside it did not hear of the rejection (pass the context on to a Session, or give the Session the uncached source)")
	}
	for _, v := range [...]string{t.SessionToken, t.KeyManagerToken, t.AuthorizationToken} {
		if !sendable(v) {
			endpoints := report.Summary().Endpoints
			endpoint := ""
			if len(endpoints) > 0 {
				endpoint = endpoints[0]
			}
			return &AuthError{Endpoint: endpoint, StatusCode: http.StatusOK,
				Message: fmt.Sprintf("the answer holds a token that no HTTP header can carry (a control character, or more than %d KiB)", maxTokenBytes>>10)}
		}
	}
	return nil
}

// maxTokenBytes bounds a token's length: real ones are a few KiB at most, and
// servers refuse headers much longer than this.
const maxTokenBytes = 16 << 10

// sendable reports whether an HTTP header value can carry v: no control
// character but tab, and at most maxTokenBytes.
func sendable(v string) bool {
	if len(v) > maxTokenBytes {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
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

// usable reports whether t can be sent: it exists and has no expiry, one more
// than expiryLeeway away, or came fresh from a login already near it. The
// clock is only read for a token with an expiry.
func (s *Session) usable(t *Token) bool {
	return t != nil && (s.fresh(t) || t == s.asIs.Load())
}

// fresh reports whether t has no expiry or one more than expiryLeeway away.
func (s *Session) fresh(t *Token) bool {
	return t.Expiry.IsZero() || !s.clock().Add(expiryLeeway).After(t.Expiry)
}

func (s *Session) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

func (s *Session) timeout() time.Duration {
	if s.loginTimeout > 0 {
		return s.loginTimeout
	}
	return DefaultLoginTimeout
}

// report logs a login and hands it to OnLogin, and returns ev.Err, or the
// error of a panic of the Logger: the login then fails with it, and OnLogin
// still runs and sees it. A panic of OnLogin is its caller's.
func (s *Session) report(ev LoginEvent) error {
	if err := s.logLogin(ev); err != nil && ev.Err == nil {
		ev.Err = err
	}
	if s.onLogin != nil {
		s.onLogin(ev)
	}
	return ev.Err
}

// logLogin logs a login; its error is that of a panic of the Logger.
func (s *Session) logLogin(ev LoginEvent) (err error) {
	if s.logger == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v}
		}
	}()
	logLogin(s.logger, ev)
	return nil
}

// logReplay logs, at Debug, a request about to be replayed after a 401, and
// calls OnReplay; its error is that of a panic in OnReplay.
func (s *Session) logReplay(req *http.Request) error {
	if s.logger != nil {
		s.logger.LogAttrs(req.Context(), slog.LevelDebug, "symauth: 401; replaying the request with a new token",
			slog.String("method", req.Method), slog.String("host", req.URL.Host), slog.String("path", req.URL.Path))
	}
	return s.replayed(req)
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
	s.failure.Store(&loginFailure{err: err, count: count, until: s.clock().Add(delay)})
}

// backoffError returns, during the failure backoff, an error wrapping the last
// login error; otherwise nil.
func (s *Session) backoffError() error {
	f := s.failure.Load()
	if f == nil {
		return nil
	}
	wait := f.until.Sub(s.clock())
	if wait <= 0 {
		return nil
	}
	return &backoffRefusal{session: s, err: fmt.Errorf("symauth: not logging in for another %s after %d failed login(s): %w",
		wait.Round(time.Millisecond), f.count, f.err)}
}

// symphonyOrigins are the origins of the source's tokens (see Transport).
func (s *Session) symphonyOrigins() *origins { return originsOf(s.src) }

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
