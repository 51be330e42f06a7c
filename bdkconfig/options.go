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
