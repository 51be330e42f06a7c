package main

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
)

// This file holds the check command, its step runner and its first step, the
// flags. check_config.go has the first step with --config, check_files.go
// checks the key, certificate and CA files, check_net.go the hosts,
// check_login.go the logins and the API calls.

// runCheck implements "symauth check": it runs the steps, printing one line
// each on out, and exits 0 only when every step is ok.
func runCheck(ctx context.Context, args []string, out, errOut io.Writer) int {
	var lf loginFlags
	fs := newFlagSet("check", "(--config FILE | --pod URL --user NAME --key FILE | --cert FILE --sessionauth URL) [flags]",
		"Diagnoses a bot's setup step by step: the flags, the key or certificate file, the CA file,\n"+
			"each host (DNS, TCP, TLS), the logins, the session (with --pod) and the agent (with --agent).\n"+
			"With --config, the first step loads the BDK 2.x configuration file, which gives all of these\n"+
			"(its proxy and trust store included), and the later steps check what it configures.\n"+
			"Each step prints ok, FAIL or skip, and each failure says what to do. A step is skipped when\n"+
			"a step it needs failed. Exits 0 when every step is ok, 1 otherwise. Never prints a token\n"+
			"or key material. --timeout bounds the whole check.", errOut)
	lf.register(fs)
	if code, done := parseFlags(fs, args); done {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, lf.timeout)
	defer cancel()
	c := &checker{flags: &lf, out: out, done: make(map[string]record), counts: make(map[status]int), logins: &loginEvents{}}
	return c.run(ctx)
}

// status is how a step ended.
type status int

const (
	statusOK status = iota + 1
	statusFail
	statusSkip
)

// marker is the status as printed, padded to four characters, at the start
// of a step's line: plain ASCII, for any terminal and CI log.
func (s status) marker() string {
	switch s {
	case statusOK:
		return "ok"
	case statusFail:
		return "FAIL"
	default:
		return "skip"
	}
}

// stepNameWidth is the width of the step name column: the longest name,
// "session auth login".
const stepNameWidth = 18

// outcome is what a step found: its status, a one-line detail and, for a
// failure, what to do about it.
type outcome struct {
	status status
	detail string
	advice []string
}

// passed is the outcome of a step that found nothing wrong.
func passed(format string, args ...any) outcome {
	return outcome{status: statusOK, detail: fmt.Sprintf(format, args...)}
}

// failed is the outcome of a step that found a problem.
func failed(detail string, advice ...string) outcome {
	return outcome{status: statusFail, detail: detail, advice: advice}
}

// step is one check to run.
type step struct {
	id    string   // names the step in other steps' deps
	name  string   // shown in the name column
	label string   // names the step in skip reasons; "" means name
	about string   // what the step looks at, when its name does not say: starts its skip detail
	deps  []string // ids of the steps that must have passed
	check func(context.Context) outcome
}

// causeName names s in the skip reasons of the steps that need it.
func (s step) causeName() string {
	if s.label != "" {
		return s.label
	}
	return s.name
}

// record is how a step ended, for the steps that depend on it.
type record struct {
	status status
	cause  string // the failed step a skip goes back to; the step's own label when it failed
}

// checker runs the steps of one check and keeps what they found for the
// steps after them.
type checker struct {
	flags  *loginFlags
	cfg    *bdkconfig.Config // with --config: loaded by the config step
	out    io.Writer
	done   map[string]record // by step id
	counts map[status]int

	// Found by the flags or config step.
	hosts            []*hostTarget
	hostFor          map[string]*hostTarget // by role: rolePod, roleSessionAuth …
	podURL, agentURL string                 // "" when there is none

	// Found by the file steps.
	key   *rsa.PrivateKey // RSA login, from flags
	cert  tls.Certificate // certificate login, from flags
	roots *x509.CertPool  // the system roots plus --ca; the configuration's trust store (nil: the system roots)

	// Obtained by the login steps.
	sessionToken *symauth.Token // session only: for the session info step
	fullToken    *symauth.Token // session and key manager: for the agent step
	loginErr     error          // why the complete login failed
	logins       *loginEvents   // the last login's event: the Session's of the step running it
}

// Step ids of the steps that exist once; a host's is hostTarget.id.
const (
	stepFlags        = "flags"
	stepCredentials  = "credentials"
	stepCA           = "ca"
	stepSessionLogin = "session login"
	stepKMLogin      = "key manager login"
	stepSessionInfo  = "session info"
	stepAgent        = "agent"
)

// run runs every step, prints the summary and returns the exit status.
func (c *checker) run(ctx context.Context) int {
	first := step{id: stepFlags, name: "flags", check: c.checkFlags}
	if c.flags.configFile != "" {
		first = step{id: stepFlags, name: "config", check: c.checkConfig}
	}
	c.runStep(ctx, first)
	if c.done[stepFlags].status != statusOK {
		return c.summary() // without a valid login to check, there is nothing more to plan
	}
	if c.cfg == nil && c.flags.caFile == "" {
		// Without --ca, rootCAs only reads the system pool, which cannot
		// fail; with it, the CA file step sets the roots.
		c.roots, _ = c.flags.rootCAs()
	}
	for _, s := range c.plan() {
		c.runStep(ctx, s)
	}
	return c.summary()
}

// plan lists the steps after the flags, in order, with what each needs. It
// may only be called once the flags step passed.
func (c *checker) plan() []step {
	var trust []string // the CA file step, when there is one
	steps := []step{{id: stepCredentials, name: "key file", check: c.checkKeyFile}}
	if c.certLogin() {
		steps[0].name, steps[0].check = "certificate file", c.checkCertFile
	}
	switch {
	case c.cfg != nil:
		steps[0].check = c.checkConfigCredential
		if c.cfg.SSL.TrustStore != (bdkconfig.CredentialFile{}) {
			steps = append(steps, step{id: stepCA, name: "trust store", check: c.checkConfigTrustStore})
			trust = append(trust, stepCA)
		}
	case c.flags.caFile != "":
		steps = append(steps, step{id: stepCA, name: "CA file", check: c.checkCAFile})
		trust = append(trust, stepCA)
	}
	for _, h := range c.hosts {
		deps := trust
		if h.clientCert {
			deps = append([]string{stepCredentials}, trust...)
		}
		steps = append(steps, step{id: h.id(), name: "host", label: "host " + h.addr, about: h.where(), deps: deps,
			check: func(ctx context.Context) outcome { return c.checkHost(ctx, h) }})
	}
	sessionRole, sessionName := rolePod, "pod login"
	if c.certLogin() {
		sessionRole, sessionName = roleSessionAuth, "session auth login"
	}
	sessionNeeds := append([]string{stepCredentials, c.hostFor[sessionRole].id()}, trust...)
	// The session info step uses the session login's token. With --config,
	// the session login step runs the complete login, which needs the key
	// manager's host too, and the session info step the Config's client,
	// which needs that complete login.
	sessionInfoNeeds := stepSessionLogin
	if c.cfg != nil {
		sessionNeeds = append(sessionNeeds, c.hostFor[roleKeyManager].id())
		sessionInfoNeeds = stepKMLogin
	}
	steps = append(steps,
		step{id: stepSessionLogin, name: sessionName, check: c.checkSessionLogin, deps: sessionNeeds},
		step{id: stepKMLogin, name: "key manager login", check: c.checkKeyManagerLogin,
			deps: []string{stepSessionLogin, c.hostFor[roleKeyManager].id()}})
	if h := c.hostFor[rolePod]; h != nil {
		steps = append(steps, step{id: stepSessionInfo, name: "session info", check: c.checkSessionInfo,
			deps: []string{sessionInfoNeeds, h.id()}})
	}
	if h := c.hostFor[roleAgent]; h != nil {
		steps = append(steps, step{id: stepAgent, name: "agent", check: c.checkAgent,
			deps: []string{stepKMLogin, h.id()}})
	}
	return steps
}

// runStep runs s, unless a step it needs did not pass or the time is up,
// prints its outcome and records it.
func (c *checker) runStep(ctx context.Context, s step) {
	o, cause := c.blocked(ctx, s.deps)
	switch {
	case cause == "":
		if o = s.check(ctx); o.status == statusFail {
			cause = s.causeName()
		}
	case s.about != "":
		o.detail = s.about + ": " + o.detail
	}
	if c.cfg != nil {
		for i, a := range o.advice {
			o.advice[i] = configKeys.Replace(a)
		}
	}
	c.done[s.id] = record{status: o.status, cause: cause}
	c.counts[o.status]++
	fmt.Fprintf(c.out, "%-4s  %-*s  %s\n", o.status.marker(), stepNameWidth, s.name, o.detail)
	for _, a := range o.advice {
		fmt.Fprintf(c.out, "      -> %s\n", a)
	}
}

// blocked returns a skip outcome and its cause when a step in deps did not
// pass or ctx has ended; otherwise cause is "".
func (c *checker) blocked(ctx context.Context, deps []string) (o outcome, cause string) {
	for _, id := range deps {
		if r := c.done[id]; r.status != statusOK {
			return outcome{status: statusSkip, detail: "not run: " + r.cause + " failed"}, r.cause
		}
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		cause = fmt.Sprintf("--timeout %s", c.flags.timeout)
		return outcome{status: statusSkip, detail: "not run: gave up after " + cause}, cause
	case ctx.Err() != nil:
		return outcome{status: statusSkip, detail: "not run: interrupted"}, "the check"
	}
	return outcome{}, ""
}

// summary prints the closing line and returns the exit status.
func (c *checker) summary() int {
	ok, bad, skipped := c.counts[statusOK], c.counts[statusFail], c.counts[statusSkip]
	if bad == 0 && skipped == 0 {
		fmt.Fprintf(c.out, "\nAll %d steps ok.\n", ok)
		return exitOK
	}
	fmt.Fprintf(c.out, "\n%d failed, %d skipped, %d ok: fix the first failure above, then run symauth check again.\n", bad, skipped, ok)
	return exitFail
}

// Roles a URL plays in a login.
const (
	rolePod         = "pod"
	roleSessionAuth = "session auth"
	roleKeyManager  = "key manager"
	roleAgent       = "agent"
)

// endpoint is a URL the login uses: its role and the flag (or the
// configuration's section) that gives it.
type endpoint struct {
	role, flag, raw string
}

// loginURLs are the base URLs of a login, each with the flag or the
// configuration's section that gives it; an empty URL is not given.
type loginURLs struct {
	cert                                bool // a certificate login
	pod, keyManager, sessionAuth, agent endpoint
}

// flagURLs are the URLs the flags give.
func flagURLs(f *loginFlags) loginURLs {
	return loginURLs{cert: f.usesCert(),
		pod: endpoint{rolePod, "--pod", f.pod}, keyManager: endpoint{roleKeyManager, "--km", f.keyManager},
		sessionAuth: endpoint{roleSessionAuth, "--sessionauth", f.sessionAuth}, agent: endpoint{roleAgent, "--agent", f.agent}}
}

// endpoints lists the URLs the login of u uses.
func endpoints(u loginURLs) []endpoint {
	first := u.pod
	if u.cert {
		first = u.sessionAuth
	}
	eps := []endpoint{first}
	if u.keyManager.raw != "" {
		eps = append(eps, u.keyManager)
	} else { // the key manager is on the first URL
		eps = append(eps, endpoint{roleKeyManager, first.flag, first.raw})
	}
	if u.cert && u.pod.raw != "" {
		eps = append(eps, u.pod)
	}
	if u.agent.raw != "" {
		eps = append(eps, u.agent)
	}
	return eps
}

// addEndpoints checks the login's URLs, groups them by host for the host
// steps and keeps the pod and agent URLs for the API steps.
func (c *checker) addEndpoints(u loginURLs) error {
	c.hostFor = make(map[string]*hostTarget)
	for _, ep := range endpoints(u) {
		parsed, err := parseEndpoint(ep, u.cert)
		if err != nil {
			return err
		}
		c.addHost(ep, parsed)
	}
	c.podURL, c.agentURL = strings.TrimRight(u.pod.raw, "/"), strings.TrimRight(u.agent.raw, "/")
	return nil
}

// checkFlags checks that the flags describe one login and that its URLs are
// base URLs, and groups the URLs by host for the host steps.
func (c *checker) checkFlags(context.Context) outcome {
	f := c.flags
	if err := f.validate(); err != nil {
		return failed(err.Error(),
			`RSA login:         symauth check --pod https://acme.symphony.com --user my-bot --key bot-private.pem`,
			`certificate login: symauth check --sessionauth https://acme-api.symphony.com:8444 --cert bot.p12 --pod https://acme.symphony.com`,
			`run "symauth check -h" for every flag`)
	}
	if err := c.addEndpoints(flagURLs(f)); err != nil {
		return failed(err.Error(), "give a base URL: https://HOST[:PORT][/CONTEXT], e.g. https://acme.symphony.com")
	}
	if f.usesCert() {
		if f.user != "" {
			return passed("certificate login as %q", f.user)
		}
		return passed("certificate login (the certificate's CN is the username)")
	}
	return passed("RSA login as %q", f.user)
}

// apiBasePaths are the base paths of Symphony's APIs, which a base URL must
// not end with.
var apiBasePaths = []string{"/pod", "/login", "/relay", "/sessionauth", "/keyauth", "/agent"}

// parseEndpoint parses the URL of ep: https (plain http only to a loopback
// host, and never for a certificate login's session auth and key manager), a
// host, no API base path.
func parseEndpoint(ep endpoint, certLogin bool) (*url.URL, error) {
	u, err := url.Parse(ep.raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s %q is not a URL", ep.flag, ep.raw)
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("%s %q: the URL must start with https://", ep.flag, ep.raw)
	case u.Hostname() == "":
		return nil, fmt.Errorf("%s %q has no host", ep.flag, ep.raw)
	case u.Scheme == "http" && certLogin && ep.role != rolePod && ep.role != roleAgent:
		return nil, fmt.Errorf("%s %q: certificate login needs https", ep.flag, ep.raw)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return nil, fmt.Errorf("%s %q: plain http is only allowed to this machine; use https", ep.flag, ep.raw)
	}
	path := strings.TrimRight(u.Path, "/")
	for _, base := range apiBasePaths {
		if strings.HasSuffix(path, base) {
			return nil, fmt.Errorf("%s %q ends with the API path %s; give the base URL without it", ep.flag, ep.raw, base)
		}
	}
	return u, nil
}

// isLoopback reports whether host is "localhost" or a loopback IP address.
func isLoopback(host string) bool {
	ip, err := netip.ParseAddr(host)
	return strings.EqualFold(host, "localhost") || (err == nil && ip.IsLoopback())
}

// addHost records that u, the URL of ep, is on its host: a new host target
// for the first URL on a host:port, one more role for the next ones.
func (c *checker) addHost(ep endpoint, u *url.URL) {
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	// With --config the certificate stays inside the Config: the login steps test it.
	clientCert := c.cfg == nil && c.certLogin() && (ep.role == roleSessionAuth || ep.role == roleKeyManager)
	for _, h := range c.hosts {
		if h.addr == addr {
			h.roles = append(h.roles, ep.role)
			h.clientCert = h.clientCert || clientCert
			c.hostFor[ep.role] = h
			return
		}
	}
	h := &hostTarget{addr: addr, url: u, roles: []string{ep.role}, clientCert: clientCert,
		what: fmt.Sprintf("the %s URL (%s)", ep.role, ep.flag)}
	c.hosts = append(c.hosts, h)
	c.hostFor[ep.role] = h
}

// certLogin reports whether the login to check is a certificate login.
func (c *checker) certLogin() bool {
	if c.cfg != nil {
		return c.cfg.Bot.Certificate != (bdkconfig.CredentialFile{})
	}
	return c.flags.usesCert()
}

// username is the bot's username as far as the flags and the certificate
// tell: --user, else the certificate's CN; with --config, the configuration's.
func (c *checker) username() string {
	if c.cfg != nil {
		return c.cfg.Bot.Username
	}
	if c.flags.user != "" || c.cert.Leaf == nil {
		return c.flags.user
	}
	return c.cert.Leaf.Subject.CommonName
}
