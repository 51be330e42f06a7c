package symauth

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// LoginCause says why a Session logged in.
type LoginCause int

const (
	CauseFirst    LoginCause = iota // no token yet: the first request
	CauseRejected                   // the server answered 401 to the cached token
	CauseExpiry                     // the token was about to expire (Common JWT)
	CauseManual                     // Session.Refresh was called
)

// String is the cause's name: "first", "rejected", "expiry" or "manual".
func (c LoginCause) String() string {
	switch c {
	case CauseFirst:
		return "first"
	case CauseRejected:
		return "rejected"
	case CauseExpiry:
		return "expiry"
	case CauseManual:
		return "manual"
	}
	return "unknown"
}

// LoginEvent describes one login of a Session, successful or not, for
// metrics (SessionOptions.OnLogin) and logs. It never holds a token.
type LoginEvent struct {
	Cause     LoginCause
	Workflow  string        // "rsa", "certificate", "obo", "obo-certificate"; "" for other sources
	Endpoints []string      // the login paths called, e.g. "/login/pubkey/authenticate"
	Attempts  int           // HTTP attempts, retries included, over all endpoints
	Duration  time.Duration // from the start of the login to its end
	Err       error         // nil when the login succeeded; else usually wraps *AuthError
}

// loginReport collects, during one login, what the login calls did. A Session
// puts one in the login's context; the calls of this package fill it.
type loginReport struct {
	mu        sync.Mutex
	workflow  string
	endpoints []string
	attempts  int
}

type loginReportKey struct{}

func withLoginReport(ctx context.Context, r *loginReport) context.Context {
	return context.WithValue(ctx, loginReportKey{}, r)
}

// reportOf returns the login report in ctx; nil when there is none. The
// methods of a nil *loginReport do nothing.
func reportOf(ctx context.Context) *loginReport {
	r, _ := ctx.Value(loginReportKey{}).(*loginReport)
	return r
}

func (r *loginReport) setWorkflow(w string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.workflow == "" {
		r.workflow = w
	}
}

// attempt records one HTTP attempt at endpoint.
func (r *loginReport) attempt(endpoint string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	for _, e := range r.endpoints {
		if e == endpoint {
			return
		}
	}
	r.endpoints = append(r.endpoints, endpoint)
}

func (r *loginReport) event(cause LoginCause, d time.Duration, err error) LoginEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return LoginEvent{Cause: cause, Workflow: r.workflow, Endpoints: append([]string(nil), r.endpoints...), Attempts: r.attempts, Duration: d, Err: err}
}

// logLogin writes one line for a login: Info when it succeeded, Warn when it
// failed. Nothing when logger is nil.
func logLogin(logger *slog.Logger, ev LoginEvent) {
	if logger == nil {
		return
	}
	attrs := []slog.Attr{
		slog.String("cause", ev.Cause.String()),
		slog.String("workflow", ev.Workflow),
		slog.Any("endpoints", ev.Endpoints),
		slog.Int("attempts", ev.Attempts),
		slog.Duration("duration", ev.Duration),
	}
	if ev.Err != nil {
		logger.LogAttrs(context.Background(), slog.LevelWarn, "symauth: login failed", append(attrs, slog.String("error", ev.Err.Error()))...)
		return
	}
	logger.LogAttrs(context.Background(), slog.LevelInfo, "symauth: login", attrs...)
}

// loggerSource is implemented by the TokenSources of this package that were
// given a Logger, so that a Session made for them logs there too.
type loggerSource interface {
	sourceLogger() *slog.Logger
}
