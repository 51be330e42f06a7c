package bdkconfig

import (
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/symauth/symauth/internal/validate"
)

// serverSections names the sections that describe a server, in the order in
// which a request's host is matched to a proxy.
var serverSections = [...]string{"pod", "agent", "keyManager", "sessionAuth"}

// server is a ServerConfig as read, with where it came from and its URL.
type server struct {
	name      string // the section; "" at the top level
	cfg       ServerConfig
	line      int      // the line of the section, or of the top-level host; 0 when unknown
	portGiven bool     // the port was written (not defaulted)
	explicit  bool     // the section sets its scheme, host, port or context (or load balancing)
	url       string   // the base URL; "" when there is no host
	proxyURL  *url.URL // the effective proxy, password included; nil: from the environment
}

// servers reads the top-level server keys and the four server sections.
func (p *configParser) servers(top section, c *Config, ld *loaded) error {
	base, err := p.serverKeys(top, nil)
	if err != nil {
		return err
	}
	c.Scheme, c.Host, c.Port, c.Context = base.cfg.Scheme, base.cfg.Host, base.cfg.Port, base.cfg.Context
	c.Proxy, ld.proxyURL = base.cfg.Proxy, base.proxyURL
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
	}
	c.Pod, c.Agent = ld.servers["pod"].cfg, ld.servers["agent"].cfg
	c.KeyManager, c.SessionAuth = ld.servers["keyManager"].cfg, ld.servers["sessionAuth"].cfg
	s := c.state
	s.podURL, s.agentURL = ld.servers["pod"].url, ld.servers["agent"].url
	s.keyManagerURL, s.sessionAuthURL = ld.servers["keyManager"].url, ld.servers["sessionAuth"].url
	if s.podURL == "" {
		return p.missingHost(ld.servers["pod"], "")
	}
	return nil
}

// loadBalancedAgent returns, when the agent section has loadBalancing, its
// first node: BDK Java spreads agent calls over the nodes (or, in external
// mode, asks the first node which agent to use), and the first is where
// symauth checks the agent's version. A node has BDK's defaults (https, 443,
// no context), not the top level's, and the agent section's proxy.
func (p *configParser) loadBalancedAgent(agent section, srv *server) (*server, error) {
	lb, err := agent.sub("loadBalancing")
	if err != nil || !lb.present() {
		return srv, err
	}
	node, err := lb.firstItem("nodes")
	if err != nil || !node.present() {
		return srv, err
	}
	defaults := &server{
		cfg:      ServerConfig{Scheme: "https", Port: 443, Proxy: srv.cfg.Proxy},
		proxyURL: srv.proxyURL,
		line:     node.line,
	}
	nodeSrv, err := p.serverKeys(node, defaults)
	if nodeSrv != nil {
		nodeSrv.explicit = true
	}
	if err == nil && nodeSrv.url == "" {
		err = p.errorf(node.line, node.key("host"), "missing")
	}
	return nodeSrv, err
}

// missingHost is the error of a server that is needed but has no host.
func (p *configParser) missingHost(srv *server, why string) error {
	return p.errorf(srv.line, srv.name+".host", "missing%s (give host at the top level or under %s)", why, srv.name)
}

// serverKeys reads scheme, host, port, context and proxy from s, inheriting
// from parent (nil at the top level), and makes the URL of a section with a
// host.
func (p *configParser) serverKeys(s section, parent *server) (*server, error) {
	srv := &server{name: s.path, line: s.line}
	if parent != nil {
		srv.cfg, srv.proxyURL = parent.cfg, parent.proxyURL
		if srv.line == 0 {
			srv.line = parent.line
		}
	}
	scheme, err := s.str("scheme")
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(scheme.text) {
	case "":
		if parent == nil {
			srv.cfg.Scheme = "https"
		}
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
		if err := p.checkHost(host); err != nil {
			return nil, err
		}
		srv.cfg.Host = host.text
		if parent == nil {
			srv.line = host.line
		}
	}
	port, portVal, err := s.integer("port", 1, 65535, "a TCP port")
	if err != nil {
		return nil, err
	}
	switch {
	case portVal.set():
		srv.cfg.Port, srv.portGiven = int(port), true
	case parent == nil || !parent.portGiven:
		srv.cfg.Port = defaultPort(srv.cfg.Scheme)
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
	srv.url = baseURL(srv.cfg)
	if _, err := validate.BaseURL("the URL "+srv.url, srv.url); err != nil {
		return nil, p.wrap(srv.line, srv.name, "", err)
	}
	return srv, nil
}

func defaultPort(scheme string) int {
	if scheme == "http" {
		return 80
	}
	return 443
}

// baseURL is scheme://host[:port][context], the port left out when it is
// the scheme's default.
func baseURL(cfg ServerConfig) string {
	host := cfg.Host
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]" // an IPv6 address
	}
	if cfg.Port != defaultPort(cfg.Scheme) {
		host = net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(cfg.Port))
	}
	return cfg.Scheme + "://" + host + cfg.Context
}

// checkHost rejects a host that is a URL or carries a port.
func (p *configParser) checkHost(v scalar) error {
	h := v.text
	switch {
	case strings.Contains(h, "://"):
		return p.errorf(v.line, v.key, "give the host name only, without a scheme (that goes under scheme)")
	case strings.ContainsAny(h, "/?#@ \t\r\n\\%"):
		return p.errorf(v.line, v.key, "not a host name")
	case strings.Contains(h, ":") && net.ParseIP(strings.Trim(h, "[]")) == nil:
		return p.errorf(v.line, v.key, "give the port under port, not in the host")
	}
	return nil
}

// normalizeContext makes a context "/path", as BDK Java does: a leading
// slash added, trailing ones removed ("/" alone is no context).
func (p *configParser) normalizeContext(v scalar) (string, error) {
	if strings.ContainsAny(v.text, "?#% \t\r\n\\") || strings.Contains(v.text, "://") {
		return "", p.errorf(v.line, v.key, "want a path such as /symphony")
	}
	ctx := strings.TrimRight(v.text, "/")
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

// proxyFunc returns the Proxy function of every transport of the Config: a
// request to a configured server goes through that server's proxy (its own
// or the top level's), any other request through the top level's; where
// none is configured, through the environment's (HTTPS_PROXY, NO_PROXY).
// nil when the configuration has no proxy at all.
func proxyFunc(ld *loaded) func(*http.Request) (*url.URL, error) {
	type route struct {
		addr  string
		proxy *url.URL
	}
	var routes []route
	configured := ld.proxyURL != nil
	for _, name := range serverSections {
		srv := ld.servers[name]
		if srv.url == "" {
			continue
		}
		configured = configured || srv.proxyURL != nil
		routes = append(routes, route{hostPort(srv.cfg.Scheme, srv.cfg.Host, strconv.Itoa(srv.cfg.Port)), srv.proxyURL})
	}
	if !configured {
		return nil
	}
	fallback := ld.proxyURL
	return func(req *http.Request) (*url.URL, error) {
		addr := hostPort(req.URL.Scheme, req.URL.Hostname(), req.URL.Port())
		for _, r := range routes {
			if r.addr == addr {
				if r.proxy != nil {
					return r.proxy, nil
				}
				return http.ProxyFromEnvironment(req)
			}
		}
		if fallback != nil {
			return fallback, nil
		}
		return http.ProxyFromEnvironment(req)
	}
}

// hostPort is "host:port" in lower case, the scheme's default port when port
// is "".
func hostPort(scheme, host, port string) string {
	if port == "" {
		port = strconv.Itoa(defaultPort(strings.ToLower(scheme)))
	}
	return net.JoinHostPort(strings.ToLower(strings.Trim(host, "[]")), port)
}
