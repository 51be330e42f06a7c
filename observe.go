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
// metrics (SessionOptions.OnLogin), traces and logs. It never holds a token.
type LoginEvent struct {
	Cause     LoginCause
	Workflow  string        // "rsa", "certificate", "obo", "obo-certificate"; "" for other sources
	Endpoints []string      // the login paths called, e.g. "/login/pubkey/authenticate"
	Attempts  int           // HTTP attempts, retries included, over all endpoints
	Duration  time.Duration // from the start of the login to its end
	Err       error         // nil when the login succeeded; else usually wraps *AuthError

	// Context is the login's: the values of the context of the request that
	// triggered it (its trace span), and what OnLoginStart added, without
	// the login's deadline (it may have passed). Never nil.
	Context context.Context
	TraceID string      // the X-Trace-Id of the login's calls (SessionOptions.TraceID); "" when off
	User    string      // who logged in: the bot's username, or the on-behalf-of user's username or id
	AppID   string      // the on-behalf-of app; "" for a bot
	Calls   []LoginCall // the HTTP calls of the login, in the order they started
	SKD     bool        // simplified key delivery applied: no key manager login
	Renewal bool        // a Common JWT bearer token renewal (/login/idm/tokens), not a new login
}

// LoginCall is one HTTP call of a login, retries included: to a login
// endpoint, the agent's version check or a bearer token renewal.
type LoginCall struct {
	Endpoint   string        // the path called, e.g. "/relay/pubkey/authenticate"
	StatusCode int           // of the last attempt; 0 when no HTTP response came back
	Attempts   int           // HTTP attempts, retries included
	Duration   time.Duration // from the first attempt to the answer read, retry waits included
}

// loginEvent makes the LoginEvent of a login from its context and trace id
// and what its calls reported.
func loginEvent(ctx context.Context, traceID string, r *login.Report, cause LoginCause, d time.Duration, err error) LoginEvent {
	sum := r.Summary()
	calls := make([]LoginCall, len(sum.Calls))
	for i, c := range sum.Calls {
		calls[i] = LoginCall(c)
	}
	return LoginEvent{Cause: cause, Workflow: sum.Workflow, Endpoints: sum.Endpoints, Attempts: sum.Attempts, Duration: d, Err: err,
		Context: ctx, TraceID: traceID, User: sum.User, AppID: sum.App, Calls: calls, SKD: sum.SKD, Renewal: sum.Renewal}
}

// logLogin writes one line for a login, in its context: Info when it
// succeeded, Warn when it failed. Nothing when logger is nil.
func logLogin(logger *slog.Logger, ev LoginEvent) {
	if logger == nil {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	if ev.TraceID != "" {
		attrs = append(attrs, slog.String("trace_id", ev.TraceID))
	}
	attrs = append(attrs,
		slog.String("cause", ev.Cause.String()),
		slog.String("workflow", ev.Workflow),
		slog.Any("endpoints", ev.Endpoints),
		slog.Int("attempts", ev.Attempts),
		slog.Float64("duration_ms", login.Millis(ev.Duration)),
	)
	if ev.User != "" {
		attrs = append(attrs, slog.String("user", ev.User))
	}
	if ev.AppID != "" {
		attrs = append(attrs, slog.String("app", ev.AppID))
	}
	if ev.Err != nil {
		logger.LogAttrs(ev.Context, slog.LevelWarn, "symauth: login failed", append(attrs, slog.String("error", ev.Err.Error()))...)
		return
	}
	logger.LogAttrs(ev.Context, slog.LevelInfo, "symauth: login", attrs...)
}

// loggerSource is implemented by the TokenSources of this package that were
// given a Logger, so that a Session made for them logs there too.
type loggerSource interface {
	sourceLogger() *slog.Logger
}
