package symauth

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// origins are where the tokens of a source may go: the session token to the
// pod and the agent, the key manager token to the agent only (on Agent API
// paths). Each source of this package declares them; a user's source
// declares none, and only the scheme and redirect rules apply to it.
type origins struct {
	session  originSet // get sessionToken (or Authorization)
	agent    originSet // get keyManagerToken too, on /agent/ paths
	names    string    // the configured origins, for warnings
	podURL   string    // the pod's base URL, for the session check
	agentURL string    // the agent's base URL, for the session check
}

// originDeclarer is a TokenSource of this package that knows its origins.
type originDeclarer interface {
	symphonyOrigins() *origins
}

// originsOf returns the origins src declares; nil when it declares none.
func originsOf(src TokenSource) *origins {
	if d, ok := src.(originDeclarer); ok {
		return d.symphonyOrigins()
	}
	return nil
}

// newOrigins returns the origins of a bot whose Pod API is at pod and Agent
// API at agent ("" means the pod's: the cloud layout). The URLs are
// validated base URLs.
func newOrigins(pod, agent string) *origins {
	if agent == "" {
		agent = pod
	}
	o := &origins{session: originSet{originOf(pod)}, agent: originSet{originOf(agent)}, podURL: pod, agentURL: agent}
	if !o.session.has(o.agent[0].scheme, o.agent[0].host) {
		o.session = append(o.session, o.agent[0])
	}
	names := make([]string, len(o.session))
	for i, or := range o.session {
		names[i] = or.scheme + "://" + or.host
	}
	o.names = strings.Join(names, ", ")
	return o
}

// origin is a scheme and a host, the host both as written without its
// scheme's default port and with it, so that either form of a request URL
// matches with one comparison.
type origin struct {
	scheme, host, hostPort string // host and hostPort in lower case
}

// originOf returns the origin of a validated base URL.
func originOf(baseURL string) origin {
	u, err := url.Parse(baseURL)
	if err != nil {
		return origin{}
	}
	o := origin{scheme: u.Scheme, host: strings.ToLower(u.Host), hostPort: strings.ToLower(u.Host)}
	port := defaultPort(u.Scheme)
	if u.Port() == "" {
		o.hostPort = net.JoinHostPort(strings.ToLower(u.Hostname()), port)
	} else if u.Port() == port {
		o.host = strings.ToLower(hostWithoutPort(u))
	}
	return o
}

// hostWithoutPort is u's host as a URL writes it without a port: an IPv6
// address in brackets.
func hostWithoutPort(u *url.URL) string {
	if strings.Contains(u.Hostname(), ":") {
		return "[" + u.Hostname() + "]"
	}
	return u.Hostname()
}

func defaultPort(scheme string) string {
	if scheme == "http" {
		return "80"
	}
	return "443"
}

type originSet []origin

// has reports whether a URL with this scheme and host (URL.Host: with or
// without its port) is of one of the origins.
func (s originSet) has(scheme, host string) bool {
	for _, o := range s {
		if scheme == o.scheme && (strings.EqualFold(host, o.host) || strings.EqualFold(host, o.hostPort)) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether a and b have the same scheme, host and port.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return defaultPort(strings.ToLower(u.Scheme))
}

// maxWarnedOrigins bounds the memory of the origins warned about: past it,
// requests to new foreign origins still go without tokens, unlogged.
const maxWarnedOrigins = 256

// foreignOrigins logs the first request to each origin that is not
// Symphony's. It is safe for concurrent use.
type foreignOrigins struct {
	seen  sync.Map // origin string → struct{}
	count atomic.Int32
}

// warn logs, the first time, that a request to u went without tokens.
func (f *foreignOrigins) warn(logger *slog.Logger, ctx context.Context, u *url.URL, configured string) {
	if logger == nil || f.count.Load() >= maxWarnedOrigins {
		return
	}
	key := strings.ToLower(u.Scheme + "://" + u.Host)
	if _, loaded := f.seen.LoadOrStore(key, struct{}{}); loaded {
		return
	}
	f.count.Add(1)
	logger.LogAttrs(ctx, slog.LevelWarn, "symauth: request to an origin that is not Symphony's, sent without tokens",
		slog.String("origin", key), slog.String("configured", configured))
}
