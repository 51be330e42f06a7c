package bdkconfig

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/symauth/symauth"
)

// build makes the transports, the bot's Session and the OBO app, or keeps
// why each cannot be made for when it is asked for. It does not touch the
// network.
func (p *configParser) build(c *Config, ld *loaded, o *options) {
	s := c.state
	s.roots = ld.roots
	r := newRoutes(ld)
	loginClient := o.loginClient
	if loginClient == nil {
		loginClient = &http.Client{Transport: &perServer{next: newHTTPTransport(r, ld.roots), routes: r}}
	}
	loginTransport := loginClient.Transport // closed with the API client's
	if o.wrapLogin != nil {
		wrapped := *loginClient
		if wrapped.Transport == nil {
			wrapped.Transport = http.DefaultTransport
		}
		wrapped.Transport = o.wrapLogin(wrapped.Transport)
		loginClient = &wrapped
	}
	var api http.RoundTripper = newHTTPTransport(r, ld.roots)
	if o.wrapAPI != nil {
		api = o.wrapAPI(api)
	}
	sessionOpts := symauth.SessionOptions{LoginTimeout: o.loginTimeout, Logger: o.logger, OnLogin: o.onLogin}
	for _, edit := range o.editSession {
		edit(&sessionOpts)
	}

	s.botErr = ld.bot.err
	var auth symauth.TokenSource
	switch {
	case s.botErr != nil:
	case ld.bot.key != nil:
		if s.botErr = usable(ld, "the RSA login", "pod", "keyManager", "agent"); s.botErr != nil {
			break
		}
		agentURL, skip := agentFor(ld)
		auth, s.botErr = symauth.NewRSA(symauth.RSAConfig{
			PodURL:                s.podURL,
			KeyManagerURL:         s.keyManagerURL,
			AgentURL:              agentURL,
			SkipAgentVersionCheck: skip,
			Username:              ld.bot.name.text,
			PrivateKey:            ld.bot.key,
			HTTPClient:            loginClient,
			Retry:                 c.Retry,
			CommonJWT:             c.CommonJWT,
			Logger:                o.logger,
		})
	case ld.bot.cert != nil:
		if s.botErr = usable(ld, "the certificate login", "pod", "sessionAuth", "keyManager", "agent"); s.botErr != nil {
			break
		}
		if s.botErr = p.needMutualTLS(ld, "the certificate login", "sessionAuth", "keyManager"); s.botErr != nil {
			break
		}
		agentURL, skip := agentFor(ld)
		auth, s.botErr = symauth.NewCert(symauth.CertConfig{
			SessionAuthURL:        s.sessionAuthURL,
			KeyManagerURL:         s.keyManagerURL,
			AgentURL:              agentURL,
			SkipAgentVersionCheck: skip,
			Certificate:           *ld.bot.cert,
			RootCAs:               ld.roots,
			Retry:                 c.Retry,
			Proxy:                 r.proxyFunc(),
			CommonJWT:             c.CommonJWT,
			PodURL:                s.podURL,
			Logger:                o.logger,
		})
	}
	if s.botErr != nil {
		s.botErr = p.wrapAs(ld.bot.line, "bot", s.botErr)
	} else {
		s.session = symauth.NewSessionWithOptions(auth, sessionOpts)
		s.transport = symauth.NewTransport(s.session, api)
		s.client = &perServer{next: s.transport, routes: r, also: loginTransport}
	}

	switch app := ld.app; {
	case app == nil:
		s.oboErr = p.errorf(0, "app", "missing: on-behalf-of needs %s and %s (or %s)", p.name("app.appId"), p.name("app.privateKey"), p.name("app.certificate"))
	case app.err != nil:
		s.oboErr = app.err
	case app.key != nil:
		if s.oboErr = usable(ld, "on-behalf-of", "pod"); s.oboErr == nil {
			s.obo, s.oboErr = symauth.NewOBO(symauth.OBOConfig{PodURL: s.podURL, AgentURL: s.agentURL, AppID: app.name.text,
				PrivateKey: app.key, HTTPClient: loginClient, Retry: c.Retry, Logger: o.logger})
		}
	case app.cert != nil:
		if s.oboErr = usable(ld, "the certificate on-behalf-of login", "sessionAuth"); s.oboErr == nil {
			s.oboErr = p.needMutualTLS(ld, "the certificate on-behalf-of login", "sessionAuth")
		}
		if s.oboErr == nil {
			s.obo, s.oboErr = symauth.NewOBO(symauth.OBOConfig{SessionAuthURL: s.sessionAuthURL, PodURL: s.podURL,
				Certificate: *app.cert, RootCAs: ld.roots, Proxy: r.proxyFunc(), Retry: c.Retry, Logger: o.logger})
		}
	}
	if s.oboErr != nil && ld.app != nil {
		s.oboErr = p.wrapAs(ld.app.line, "app", s.oboErr)
	}
}

// usable returns the error of the first of the servers named that cannot be
// used, saying what needs it. The agent counts only when its section sets
// a server of its own: otherwise it is the top level's, if usable, or none.
func usable(ld *loaded, what string, names ...string) error {
	for _, name := range names {
		srv := ld.servers[name]
		if name == "agent" && !srv.ownServer() {
			continue
		}
		err := srv.urlErr
		if ce, ok := err.(*configError); ok {
			needed := *ce
			needed.msg += " (" + what + " needs it)"
			return &needed
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// agentFor returns the agent URL to give a login, and whether simplified
// key delivery is to trust the session token's claim alone: as BDK Java
// does when the agent section sets none of scheme, host, port and context
// (overridesParentConfig: it only inherits the top level's, or balances
// load over nodes). An agent that cannot be used is none.
func agentFor(ld *loaded) (url string, skipVersionCheck bool) {
	agent := ld.servers["agent"]
	if agent.urlErr != nil {
		return "", true
	}
	return agent.url, !agent.explicit
}

// wrapAs returns err as a configError (at line, under key) unless it is one.
func (p *configParser) wrapAs(line int, key string, err error) error {
	if _, ok := err.(*configError); ok {
		return err
	}
	return p.wrap(line, key, "", err)
}

// needMutualTLS checks that the servers a certificate login calls are https.
func (p *configParser) needMutualTLS(ld *loaded, what string, names ...string) error {
	for _, name := range names {
		srv := ld.servers[name]
		if srv.url != "" && srv.cfg.Scheme != "https" {
			return p.errorf(srv.line, srv.name+".scheme", "must be https: %s needs TLS", what)
		}
	}
	return nil
}

// maxWarnings bounds the warning lines of one load.
const maxWarnings = 20

// logWarnings sends the load's warnings to the logger, at most maxWarnings
// of them and a count of the others.
func logWarnings(l *slog.Logger, warnings []string) {
	for i, w := range warnings {
		if i == maxWarnings {
			l.Warn(fmt.Sprintf("bdkconfig: %d more warnings not shown", len(warnings)-maxWarnings))
			return
		}
		l.Warn("bdkconfig: " + w)
	}
}
