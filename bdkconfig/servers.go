package bdkconfig

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/symauth/symauth/internal/validate"
	"go.yaml.in/yaml/v3"
)

// serverSections names the sections that describe a server, in the order in
// which a request's host is matched to a server.
var serverSections = [...]string{"pod", "agent", "keyManager", "sessionAuth"}

// BDK's defaults of a server (BdkServerConfig, ApiClientBuilder).
const (
	defaultScheme         = "https"
	defaultPort           = 443 // whatever the scheme, as BDK
	defaultConnectTimeout = 15 * time.Second
	defaultReadTimeout    = 60 * time.Second
)

// server is a ServerConfig as read, with where it came from and its URL.
type server struct {
	name     string // the section; "" at the top level
	cfg      ServerConfig
	line     int      // the line of the section, or of the top-level host; 0 when unknown
	explicit bool     // the section sets its scheme, host, port or context (BDK's overridesParentConfig)
	balanced bool     // the agent is the first node of agent.loadBalancing
	url      string   // BDK's base URL; "" when there is no host or it makes no URL
	urlErr   error    // why the server cannot be used; nil when it can
	proxyURL *url.URL // the effective proxy, password included; nil: from the environment
	headers  http.Header
	hostAt   scalar // where the host was written (its own or the top level's)

	readTimeoutErr *readTimeoutError // the error of a request to it that waited longer than ReadTimeout; set by newRoutes
}

// servers reads the top-level server keys and the four server sections.
func (p *configParser) servers(top section, c *Config, ld *loaded) error {
	base, err := p.serverKeys(top, nil)
	if err != nil {
		return err
	}
	c.Scheme, c.Host, c.Port, c.Context = base.cfg.Scheme, base.cfg.Host, base.cfg.Port, base.cfg.Context
	c.Proxy, ld.top = base.cfg.Proxy, base
	for _, name := range serverSections {
		sec, err := top.sub(name)
		if err != nil {
			return err
		}
		srv, err := p.serverKeys(sec, base)
		if err != nil {
			return err
		}
		if name == "agent" {
			if srv, err = p.loadBalancedAgent(sec, srv); err != nil {
				return err
			}
		}
		srv.name, ld.servers[name] = name, srv
		if srv.urlErr == nil && srv.url == "" {
			srv.urlErr = p.missingHost(srv)
		}
	}
	c.Pod, c.Agent = ld.servers["pod"].cfg, ld.servers["agent"].cfg
	c.KeyManager, c.SessionAuth = ld.servers["keyManager"].cfg, ld.servers["sessionAuth"].cfg
	s := c.state
	s.podURL, s.agentURL = ld.servers["pod"].url, ld.servers["agent"].url
	s.keyManagerURL, s.sessionAuthURL = ld.servers["keyManager"].url, ld.servers["sessionAuth"].url
	return nil
}

// loadBalancedAgent returns, when the agent section has loadBalancing, its
// first node: BDK Java spreads agent calls over the nodes (or, in external
// mode, asks the first node which agent to use), and the first is where
// symauth checks the agent's version. A node has BDK's defaults (https, 443,
// no context), not the top level's, and the agent section's proxy and
// timeouts.
func (p *configParser) loadBalancedAgent(agent section, srv *server) (*server, error) {
	lb, err := agent.sub("loadBalancing")
	if err != nil || !lb.present() {
		return srv, err
	}
	mode, err := lb.str("mode")
	if err != nil {
		return nil, err
	}
	switch mode.text {
	case "", "random", "roundRobin", "external":
	default:
		return nil, p.errorf(mode.line, mode.key, "want random, roundRobin or external")
	}
	if _, err := lb.boolean("stickiness"); err != nil {
		return nil, err
	}
	if srv.explicit {
		// BDK Java: "agent.host and agent.loadBalancing cannot be both configured".
		srv.urlErr = p.errorf(lb.line, lb.path, "cannot be given with agent scheme, host, port or context (BDK refuses both)")
		return srv, nil
	}
	node, err := lb.firstItem("nodes")
	if err != nil {
		return nil, err
	}
	if !node.present() {
		srv.urlErr = p.errorf(lb.line, lb.key("nodes"), "missing: load balancing needs at least one node")
		return srv, nil
	}
	defaults := &server{
		cfg:      ServerConfig{Scheme: defaultScheme, Port: defaultPort, Proxy: srv.cfg.Proxy, ConnectionTimeout: srv.cfg.ConnectionTimeout, ReadTimeout: srv.cfg.ReadTimeout},
		proxyURL: srv.proxyURL,
		headers:  srv.headers,
		line:     node.line,
	}
	nodeSrv, err := p.serverKeys(node, defaults)
	if err != nil {
		return nil, err
	}
	nodeSrv.name, nodeSrv.explicit, nodeSrv.balanced = "agent", false, true
	if nodeSrv.url == "" && nodeSrv.urlErr == nil {
		nodeSrv.urlErr = p.errorf(node.line, node.key("host"), "missing")
	}
	return nodeSrv, nil
}

// ownServer reports whether the section names a server of its own: its own
// keys, or load balancing.
func (srv *server) ownServer() bool { return srv.explicit || srv.balanced }

// missingHost is the error of a server that has no host.
func (p *configParser) missingHost(srv *server) error {
	if p.legacyNames != nil {
		return p.errorf(srv.line, srv.name+".host", "missing")
	}
	return p.errorf(srv.line, srv.name+".host", "missing (give host at the top level or under %s)", srv.name)
}

// serverKeys reads scheme, host, port, context, proxy, timeouts and
// defaultHeaders from s, inheriting from parent (nil at the top level), and
// makes the URL of a section with a host. What makes a server unusable
// (plain http to a remote host, a host that makes no URL) is kept in urlErr
// and reported when the server is used, as BDK does.
func (p *configParser) serverKeys(s section, parent *server) (*server, error) {
	srv := &server{name: s.path, line: s.line}
	if parent != nil {
		srv.cfg, srv.proxyURL, srv.headers, srv.hostAt = parent.cfg, parent.proxyURL, parent.headers, parent.hostAt
		if srv.line == 0 {
			srv.line = parent.line
		}
	} else {
		srv.cfg = ServerConfig{Scheme: defaultScheme, Port: defaultPort, ConnectionTimeout: defaultConnectTimeout, ReadTimeout: defaultReadTimeout}
	}
	scheme, err := s.str("scheme")
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(scheme.text) {
	case "":
	case "https", "http":
		srv.cfg.Scheme = strings.ToLower(scheme.text)
	default:
		return nil, p.errorf(scheme.line, scheme.key, "want https or http")
	}
	host, err := s.str("host")
	if err != nil {
		return nil, err
	}
	if host.set() {
		srv.cfg.Host, srv.hostAt = host.text, host
		if parent == nil {
			srv.line = host.line
		}
	}
	port, portVal, err := s.integer("port", 1, 65535, "a TCP port")
	if err != nil {
		return nil, err
	}
	if portVal.set() {
		srv.cfg.Port = int(port)
	}
	context, err := s.str("context")
	if err != nil {
		return nil, err
	}
	if context.set() {
		if srv.cfg.Context, err = p.normalizeContext(context); err != nil {
			return nil, err
		}
	}
	srv.explicit = scheme.set() || host.set() || portVal.set() || context.set()
	if err := p.timeouts(s, &srv.cfg); err != nil {
		return nil, err
	}
	if err := p.poolSizes(s); err != nil {
		return nil, err
	}
	if h, err := p.defaultHeaders(s); err != nil {
		return nil, err
	} else if h != nil {
		srv.headers = h
	}
	px, pxURL, err := p.proxy(s)
	if err != nil {
		return nil, err
	}
	if px != nil {
		srv.cfg.Proxy, srv.proxyURL = px, pxURL
	}
	if parent == nil || srv.cfg.Host == "" {
		return srv, nil
	}
	if srv.urlErr = p.checkHost(srv.hostAt); srv.urlErr != nil {
		return srv, nil
	}
	srv.url = baseURL(srv.cfg)
	if _, err := validate.BaseURL("the URL "+srv.url, srv.url); err != nil {
		srv.urlErr = p.wrap(srv.line, srv.name, "", err)
	}
	return srv, nil
}

// timeouts reads connectionTimeout and readTimeout (milliseconds; 0: none).
func (p *configParser) timeouts(s section, cfg *ServerConfig) error {
	for _, t := range []struct {
		name string
		into *time.Duration
	}{{"connectionTimeout", &cfg.ConnectionTimeout}, {"readTimeout", &cfg.ReadTimeout}} {
		n, v, err := s.integer(t.name, 0, maxRetryMillis, "milliseconds, 0 for none")
		if err != nil {
			return err
		}
		if v.set() {
			*t.into = time.Duration(n) * time.Millisecond
		}
	}
	return nil
}

// poolSizes checks connectionPoolMax and connectionPoolPerRoute, which
// symauth reads but does not apply (see Config).
func (p *configParser) poolSizes(s section) error {
	for _, name := range []string{"connectionPoolMax", "connectionPoolPerRoute"} {
		if _, _, err := s.integer(name, 1, 1<<20, "a number of connections"); err != nil {
			return err
		}
	}
	return nil
}

// defaultHeaders reads the defaultHeaders mapping: header names and values
// added to every request to the server. nil when absent.
func (p *configParser) defaultHeaders(s section) (http.Header, error) {
	hs, err := s.sub("defaultHeaders")
	if err != nil || !hs.present() {
		return nil, err
	}
	h := http.Header{}
	lines := map[string]int{}
	for i := 0; i+1 < len(hs.node.Content); i += 2 {
		k := hs.node.Content[i]
		key := hs.key(k.Value)
		if k.Kind != yaml.ScalarNode || k.Value == "<<" || !validHeaderName(k.Value) {
			return nil, p.errorf(k.Line, hs.path, "a header name must be a single token (merge keys are not read here)")
		}
		name := http.CanonicalHeaderKey(k.Value)
		if first, dup := lines[name]; dup {
			return nil, p.errorf(k.Line, key, "given twice (lines %d and %d)", first, k.Line)
		}
		lines[name] = k.Line
		v := deref(hs.node.Content[i+1])
		if v == nil || (v.Kind != yaml.ScalarNode) {
			return nil, p.errorf(k.Line, key, "want a single value")
		}
		text, err := p.interpolate(key, k.Line, v.Value)
		if err != nil {
			return nil, err
		}
		if strings.ContainsAny(text, "\r\n\x00") {
			return nil, p.errorf(k.Line, key, "a header value cannot hold a line break")
		}
		switch name {
		case "Sessiontoken", "Keymanagertoken", "Authorization", "Host", "Content-Length":
			return nil, p.errorf(k.Line, key, "symauth sets this header itself")
		}
		h.Set(name, text)
	}
	return h, nil
}

func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, r := range name {
		if r > 0x7e || r <= ' ' || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// baseURL is BDK's base path of a server: scheme://host:port[context], the
// port always written.
func baseURL(cfg ServerConfig) string {
	host := strings.Trim(cfg.Host, "[]")
	return cfg.Scheme + "://" + net.JoinHostPort(host, strconv.Itoa(cfg.Port)) + cfg.Context
}

// checkHost rejects a host that is a URL or carries a port.
func (p *configParser) checkHost(v scalar) error {
	h := v.text
	switch {
	case strings.Contains(h, "://"):
		return p.errorf(v.line, v.key, "give the host name only, without a scheme (that goes under scheme)")
	case strings.ContainsAny(h, "/?#@ \t\r\n\\%${}"):
		return p.errorf(v.line, v.key, "not a host name")
	case strings.Contains(h, ":") && net.ParseIP(strings.Trim(h, "[]")) == nil:
		return p.errorf(v.line, v.key, "give the port under port, not in the host")
	}
	return nil
}

// normalizeContext makes a context "/path", as BDK does: a leading slash
// added, a trailing one removed ("/" alone is no context).
func (p *configParser) normalizeContext(v scalar) (string, error) {
	if strings.ContainsAny(v.text, "?#% \t\r\n\\") || strings.Contains(v.text, "://") {
		return "", p.errorf(v.line, v.key, "want a path such as /symphony")
	}
	ctx := strings.TrimSuffix(v.text, "/")
	if ctx != "" && !strings.HasPrefix(ctx, "/") {
		ctx = "/" + ctx
	}
	return ctx, nil
}

// proxy reads the proxy section of s: nil when it is absent or its host is
// empty (so that "host: ${PROXY_HOST:-}" can turn the proxy off).
func (p *configParser) proxy(s section) (*ProxyConfig, *url.URL, error) {
	ps, err := s.sub("proxy")
	if err != nil || !ps.present() {
		return nil, nil, err
	}
	host, err := ps.str("host")
	if err != nil || !host.set() {
		return nil, nil, err
	}
	if err := p.checkHost(host); err != nil {
		return nil, nil, err
	}
	port, portVal, err := ps.integer("port", 1, 65535, "a TCP port")
	if err != nil {
		return nil, nil, err
	}
	if !portVal.set() {
		return nil, nil, p.errorf(ps.line, portVal.key, "missing (the proxy's port)")
	}
	user, err := ps.str("username")
	if err != nil {
		return nil, nil, err
	}
	password, err := ps.str("password")
	if err != nil {
		return nil, nil, err
	}
	if password.set() && !user.set() {
		return nil, nil, p.errorf(ps.line, user.key, "missing (a password is given)")
	}
	u := &url.URL{Scheme: "http", Host: net.JoinHostPort(strings.Trim(host.text, "[]"), strconv.Itoa(int(port)))}
	switch {
	case password.set():
		u.User = url.UserPassword(user.text, password.text)
	case user.set():
		u.User = url.User(user.text)
	}
	return &ProxyConfig{Host: host.text, Port: int(port), Username: user.text}, u, nil
}

// route is what a request to one configured server gets: its proxy,
// timeouts and headers.
type route struct {
	addr     string   // "host:port", lower case
	prefixes []string // the paths BDK calls on this server: its context and the API's base path
	srv      *server
}

// apiPaths are the base paths BDK's clients call on each server
// (ApiClientFactory): they tell apart sections that share a host and port.
var apiPaths = map[string][]string{
	"pod":         {"/pod", "/login", "/webcontroller"},
	"agent":       {"/agent"},
	"keyManager":  {"/relay", "/keyauth"},
	"sessionAuth": {"/sessionauth"},
}

// routes is the table that maps a request to its server; requests to other
// hosts get the top level's proxy and timeouts (not its headers).
type routes struct {
	byAddr []route
	top    *server
}

func newRoutes(ld *loaded) *routes {
	r := &routes{top: ld.top}
	for _, name := range serverSections {
		srv := ld.servers[name]
		if srv.url == "" {
			continue
		}
		srv.readTimeoutErr = &readTimeoutError{server: name, timeout: srv.cfg.ReadTimeout}
		var prefixes []string
		for _, p := range apiPaths[name] {
			prefixes = append(prefixes, srv.cfg.Context+p)
		}
		r.byAddr = append(r.byAddr, route{addr: hostPort(srv.cfg.Host, strconv.Itoa(srv.cfg.Port)), prefixes: prefixes, srv: srv})
	}
	return r
}

// server returns the configured server of a request to u, and true; or the
// top level and false when u is on no configured server's host and port.
// Sections on one host and port are told apart by the path: the API each
// serves (/pod and /login, /agent, /relay and /keyauth, /sessionauth) under
// its context; the first section in the order pod, agent, keyManager,
// sessionAuth otherwise.
func (r *routes) server(u *url.URL) (*server, bool) {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	addr := hostPort(u.Hostname(), port)
	var first *server
	for _, rt := range r.byAddr {
		if rt.addr != addr {
			continue
		}
		if first == nil {
			first = rt.srv
		}
		for _, p := range rt.prefixes {
			if u.Path == p || strings.HasPrefix(u.Path, p+"/") {
				return rt.srv, true
			}
		}
	}
	if first != nil {
		return first, true
	}
	return r.top, false
}

// proxyFunc returns the Proxy function of every transport of the Config: a
// request to a configured server goes through that server's proxy (its own
// or the top level's), any other request through the top level's; where
// none is configured, through the environment's (HTTPS_PROXY, NO_PROXY).
// nil when the configuration has no proxy at all.
func (r *routes) proxyFunc() func(*http.Request) (*url.URL, error) {
	configured := r.top.proxyURL != nil
	for _, rt := range r.byAddr {
		configured = configured || rt.srv.proxyURL != nil
	}
	if !configured {
		return nil
	}
	return func(req *http.Request) (*url.URL, error) {
		if srv, _ := r.server(req.URL); srv.proxyURL != nil {
			return srv.proxyURL, nil
		}
		return http.ProxyFromEnvironment(req)
	}
}

// connectTimeout returns the connectionTimeout for a dial to addr: the
// server's when addr is a configured server or proxy, else the top level's.
func (r *routes) connectTimeout(addr string) time.Duration {
	addr = strings.ToLower(addr)
	for _, rt := range r.byAddr {
		if rt.addr == addr || (rt.srv.proxyURL != nil && strings.EqualFold(rt.srv.proxyURL.Host, addr)) {
			return rt.srv.cfg.ConnectionTimeout
		}
	}
	return r.top.cfg.ConnectionTimeout
}

// hostPort is "host:port" in lower case.
func hostPort(host, port string) string {
	return net.JoinHostPort(strings.ToLower(strings.Trim(host, "[]")), port)
}
