package symauth

import (
	"context"
	"log/slog"
	"time"

	"github.com/symauth/symauth/internal/login"
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

// loginEvent makes the LoginEvent of a login from what its calls reported.
func loginEvent(r *login.Report, cause LoginCause, d time.Duration, err error) LoginEvent {
	workflow, endpoints, attempts := r.Summary()
	return LoginEvent{Cause: cause, Workflow: workflow, Endpoints: endpoints, Attempts: attempts, Duration: d, Err: err}
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
