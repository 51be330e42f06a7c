package bdkconfig

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/symauth/symauth"
)

// Option adds to a configuration file what only Go code can give. Load and
// Parse take them; the Session, clients and OBO app they build use them.
type Option func(*options)

// options is what the Options given add to a Config.
type options struct {
	logger       *slog.Logger
	onLogin      func(symauth.LoginEvent)
	loginTimeout time.Duration
	wrapAPI      func(http.RoundTripper) http.RoundTripper
	loginClient  *http.Client
	wrapLogin    func(http.RoundTripper) http.RoundTripper
	editSession  []func(*symauth.SessionOptions)
}

func newOptions(opts []Option) *options {
	o := &options{}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	return o
}

// WithLogger sends the load's warnings (deprecated keys, ignored keys) to l
// instead of slog.Default(), and makes l the Logger of the Session and of
// the logins (see symauth.SessionOptions.Logger). Never a token or key.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithOnLogin sets the Session's OnLogin hook (see
// symauth.SessionOptions.OnLogin): called after every login of the bot.
func WithOnLogin(f func(symauth.LoginEvent)) Option { return func(o *options) { o.onLogin = f } }

// WithLoginTimeout bounds one login of the bot, retries included (see
// symauth.SessionOptions.LoginTimeout); 0 means symauth.DefaultLoginTimeout.
func WithLoginTimeout(d time.Duration) Option { return func(o *options) { o.loginTimeout = d } }

// WithAPITransport wraps the transport of API calls: wrap gets the one the
// Config builds (an *http.Transport with the configured proxy, trust store
// and connectionTimeout) and returns the RoundTripper that symauth's
// Transport sends through, e.g. otelhttp.NewTransport(base), or a transport
// of its own (a custom dialer). The read timeouts and default headers of
// the file still apply, above it. As with symauth.NewTransport, a base that
// is not an *http.Transport gets no token over plain http.
func WithAPITransport(wrap func(base http.RoundTripper) http.RoundTripper) Option {
	return func(o *options) { o.wrapAPI = wrap }
}

// WithLoginClient sends the RSA login calls of the bot and of the OBO app
// through c instead of the client the Config builds (whose transport is
// apart from the API calls' and has the configured proxy, trust store and
// timeouts). Certificate logins always use a transport of their own that
// holds the certificate, with the configured proxy and trust store.
func WithLoginClient(c *http.Client) Option { return func(o *options) { o.loginClient = c } }

// WithLoginTransport wraps the transport of the RSA login calls of the bot
// and of the OBO app — the Config's own, or WithLoginClient's — e.g. with
// otelhttp.NewTransport, so that each login call gets a span under the
// login's (see symauth.SessionOptions.OnLoginStart). Certificate logins use
// a transport of their own that holds the certificate: it is not wrapped.
func WithLoginTransport(wrap func(base http.RoundTripper) http.RoundTripper) Option {
	return func(o *options) { o.wrapLogin = wrap }
}

// WithSessionOptions lets edit change the options of the bot's Session
// after WithLogger, WithOnLogin and WithLoginTimeout have set theirs: the
// hooks of an OpenTelemetry exporter (OnLoginStart, OnReplay, OnBackoff),
// TraceID. Each WithSessionOptions given runs, in order.
func WithSessionOptions(edit func(*symauth.SessionOptions)) Option {
	return func(o *options) {
		if edit != nil {
			o.editSession = append(o.editSession, edit)
		}
	}
}
