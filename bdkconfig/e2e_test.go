package bdkconfig_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/symauthtest"
)

// e2eBound is how long a test waits for what should happen much sooner, so
// that a broken timeout fails the test instead of hanging it.
const e2eBound = 10 * time.Second

// A BDK file with deprecated keys and a JKS trust store (BDK Java's
// default) logs in and calls the pod.
func TestE2EDeprecatedKeysAndJKSTrustStore(t *testing.T) {
	srv := newPod(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{
		"keys/bot.pem":   pemKey(t, botKey()),
		"truststore.jks": formsJKS(t, "changeit", caOf(t, srv)),
	})
	text := strings.Replace(serverKeys(srv), "ssl:\n  trustStore:\n    path: ca.pem\n",
		"ssl:\n  trustStorePath: truststore.jks\n  trustStorePassword: changeit\n", 1)
	text += "bot:\n  username: test-bot\n  privateKeyPath: keys/bot.pem\n"
	path := writeConfig(t, dir, text)
	logger, logs := newFormsLogger()
	cfg, err := bdkconfig.Load(path, bdkconfig.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range [][2]string{
		{"ssl.trustStorePath", "ssl.trustStore.path"},
		{"ssl.trustStorePassword", "ssl.trustStore.password"},
		{"bot.privateKeyPath", "bot.privateKey.path"},
	} {
		if found := logs.find(slog.LevelWarn, path+":", d[0]+" is deprecated", "write "+d[1]); len(found) != 1 {
			t.Errorf("no warning that %s is deprecated; the logs:\n%s", d[0], logs.text())
		}
	}
	if cfg.SSL.TrustStore.Path != filepath.Join(dir, "truststore.jks") || cfg.Bot.PrivateKey.Path != filepath.Join(dir, "keys", "bot.pem") {
		t.Errorf("SSL = %+v, Bot = %+v", cfg.SSL, cfg.Bot)
	}
	client := configClient(t, cfg)
	formsSessionInfo(t, client, cfg.PodURL(), botName)
	if pod, km := loginCalls(srv); pod != 1 || km != 1 {
		t.Errorf("logins: pod %d, key manager %d", pod, km)
	}
	if found := logs.find(slog.LevelInfo, "symauth: login"); len(found) != 1 {
		t.Errorf("%d login lines, want 1; the logs:\n%s", len(found), logs.text())
	}
	assertNoSecrets(t, append(printed(cfg), logs.text()), "changeit")
}

// WithLogger, WithOnLogin and WithLoginTimeout reach the Session.
func TestE2ELoggerOnLoginAndLoginTimeout(t *testing.T) {
	t.Run("a line and an event per login", func(t *testing.T) {
		srv := newPod(t)
		dir := t.TempDir()
		writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
		logger, logs := newFormsLogger()
		events := make(chan symauth.LoginEvent, 16)
		cfg, err := bdkconfig.Load(writeConfig(t, dir, serverKeys(srv)+rsaBotSection),
			bdkconfig.WithLogger(logger),
			bdkconfig.WithOnLogin(func(ev symauth.LoginEvent) { events <- ev }),
			bdkconfig.WithLoginTimeout(30*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		client := configClient(t, cfg)

		// OnLogin runs before the callers waiting for the login get its
		// token: after each request, its event is there.
		next := func(want symauth.LoginCause) {
			t.Helper()
			select {
			case ev := <-events:
				if ev.Cause != want || ev.Err != nil || ev.Workflow != "rsa" || !slices.Contains(ev.Endpoints, symauthtest.PathLogin) {
					t.Errorf("login event %+v; want cause %v, workflow rsa, no error", ev, want)
				}
			default:
				t.Fatalf("no login event (cause %v)", want)
			}
		}
		formsSessionInfo(t, client, cfg.PodURL(), botName)
		next(symauth.CauseFirst)
		formsSessionInfo(t, client, cfg.PodURL(), botName) // the cached token: no login
		if n := srv.RevokeSessions(); n != 1 {
			t.Fatalf("RevokeSessions: %d sessions", n)
		}
		formsSessionInfo(t, client, cfg.PodURL(), botName) // 401, a login, the call again
		next(symauth.CauseRejected)
		select {
		case ev := <-events:
			t.Errorf("a third login event: %+v", ev)
		default:
		}
		lines := logs.find(slog.LevelInfo, "symauth: login")
		if len(lines) != 2 || lines[0].Attrs["cause"] != "first" || lines[1].Attrs["cause"] != "rejected" {
			t.Errorf("login lines %v; want two, causes first and rejected; the logs:\n%s", lines, logs.text())
		}
		if pod, _ := loginCalls(srv); pod != 2 {
			t.Errorf("%d pod logins, want 2", pod)
		}
	})

	t.Run("the login timeout", func(t *testing.T) {
		srv := newPod(t)
		dir := t.TempDir()
		writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
		hold := make(chan struct{})
		t.Cleanup(func() { close(hold) })
		srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Hold: hold}) // the pod never answers a login
		logger, logs := newFormsLogger()
		events := make(chan symauth.LoginEvent, 16)
		cfg, err := bdkconfig.Load(writeConfig(t, dir, serverKeys(srv)+rsaBotSection),
			bdkconfig.WithLogger(logger),
			bdkconfig.WithOnLogin(func(ev symauth.LoginEvent) { events <- ev }),
			bdkconfig.WithLoginTimeout(300*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		sess, err := cfg.Session()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), e2eBound)
		defer cancel()
		tok, err := sess.Token(ctx)
		switch {
		case err == nil:
			t.Fatalf("Token: %v, no error from a pod that never answers", tok)
		case ctx.Err() != nil:
			t.Fatalf("Token: %v after %v: the login timeout of 300ms was not applied", err, e2eBound)
		}
		select {
		case ev := <-events:
			if ev.Err == nil || ev.Cause != symauth.CauseFirst {
				t.Errorf("login event %+v; want a failed first login", ev)
			}
		default:
			t.Fatal("no login event for the failed login")
		}
		if found := logs.find(slog.LevelWarn, "symauth: login failed"); len(found) != 1 {
			t.Errorf("%d failed-login lines, want 1; the logs:\n%s", len(found), logs.text())
		}
	})
}

// e2eRecorder is a RoundTripper that records the paths of its requests.
type e2eRecorder struct {
	base  http.RoundTripper
	mu    sync.Mutex
	paths []string
}

func (r *e2eRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.paths = append(r.paths, req.URL.Path)
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

func (r *e2eRecorder) CloseIdleConnections() {
	if c, ok := r.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

func (r *e2eRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.paths)
}

func e2eIsLogin(path string) bool {
	return strings.HasPrefix(path, "/login/") || strings.HasPrefix(path, "/relay/") ||
		strings.HasPrefix(path, "/sessionauth/") || strings.HasPrefix(path, "/keyauth/")
}

// WithAPITransport's wrapper carries the API calls and no login;
// WithLoginClient's client carries the RSA logins (the bot's and the OBO
// app's) and no API call.
func TestE2EAPITransportAndLoginClient(t *testing.T) {
	srv := newPod(t)
	if err := srv.RegisterApp("e2e-app", botKey().Public()); err != nil {
		t.Fatal(err)
	}
	if err := srv.InstallApp("e2e-app", botName); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
	var api *e2eRecorder
	var baseType string
	login := &e2eRecorder{base: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CertPool()}}}
	t.Cleanup(login.CloseIdleConnections)
	cfg, err := bdkconfig.Load(writeConfig(t, dir, serverKeys(srv)+rsaBotSection+"app:\n  appId: e2e-app\n  privateKey:\n    path: keys/bot.pem\n"),
		bdkconfig.WithAPITransport(func(base http.RoundTripper) http.RoundTripper {
			baseType = fmt.Sprintf("%T", base)
			api = &e2eRecorder{base: base}
			return api
		}),
		bdkconfig.WithLoginClient(&http.Client{Transport: login}))
	if err != nil {
		t.Fatal(err)
	}
	if api == nil {
		t.Fatal("the WithAPITransport function was not called at load")
	}
	if baseType != "*http.Transport" {
		t.Errorf("WithAPITransport got a %s, want the *http.Transport the Config builds", baseType)
	}
	client := configClient(t, cfg)
	formsSessionInfo(t, client, cfg.PodURL(), botName)
	if status, body := get(t, client, cfg.AgentURL()+symauthtest.PathDatafeeds); status != http.StatusOK {
		t.Fatalf("datafeeds: %d %s", status, body)
	}
	obo, err := cfg.OBO()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oboUsername(t, obo, botName).Token(context.Background()); err != nil {
		t.Fatal(err)
	}

	apiSeen, loginSeen := api.seen(), login.seen()
	if want := []string{symauthtest.PathSessionInfo, symauthtest.PathDatafeeds}; !slices.Equal(apiSeen, want) {
		t.Errorf("the API transport carried %v, want %v", apiSeen, want)
	}
	for _, want := range []string{symauthtest.PathLogin, symauthtest.PathRelay, symauthtest.PathAppLogin, symauthtest.PathOBOUsername(botName)} {
		if !slices.Contains(loginSeen, want) {
			t.Errorf("the login client carried %v, without %s", loginSeen, want)
		}
	}
	for _, p := range loginSeen {
		if !e2eIsLogin(p) {
			t.Errorf("the login client carried the API call %s", p)
		}
	}
	for _, p := range apiSeen {
		if e2eIsLogin(p) {
			t.Errorf("the API transport carried the login call %s", p)
		}
	}
	if pod, km := loginCalls(srv); pod != 1 || km != 1 {
		t.Errorf("logins: pod %d, key manager %d", pod, km)
	}
}

// e2eAgent is a fake agent over plain HTTP on loopback, for what
// symauthtest cannot do: stall in the middle of a body, and count the TCP
// connections it accepts.
type e2eAgent struct {
	*httptest.Server
	newConns   atomic.Int32 // connections accepted
	requests   atomic.Int32
	rejectNext atomic.Bool   // answer 401 to the next datafeeds call
	release    chan struct{} // closed at the end of the test: stalled handlers return
	more       chan struct{} // closed by the test: the slow-consumer handler writes the rest of its body
}

const (
	e2eStallHeaders = "/agent/test/stall-headers" // accepts the request, never answers
	e2eStallBody    = "/agent/test/stall-body"    // answers headers and part of the body, then stalls
	e2eSlowConsumer = "/agent/test/slow-consumer" // answers part of the body, the rest when more is closed
	e2eFirstPart    = "first part;"
	e2eSecondPart   = "second part"
)

func newE2EAgent(t *testing.T) *e2eAgent {
	t.Helper()
	a := &e2eAgent{release: make(chan struct{}), more: make(chan struct{})}
	a.Server = httptest.NewUnstartedServer(http.HandlerFunc(a.serve))
	a.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			a.newConns.Add(1)
		}
	}
	a.Start()
	t.Cleanup(a.Close)
	t.Cleanup(func() { close(a.release) }) // before Close, which waits for the handlers
	return a
}

func (a *e2eAgent) serve(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	if r.Header.Get(symauth.HeaderSessionToken) == "" || r.Header.Get(symauth.HeaderKeyManagerToken) == "" {
		http.Error(w, `{"code":401,"message":"no token"}`, http.StatusUnauthorized)
		return
	}
	stall := func() {
		select {
		case <-a.release:
		case <-r.Context().Done():
		}
	}
	switch r.URL.Path {
	case symauthtest.PathDatafeeds:
		if a.rejectNext.CompareAndSwap(true, false) {
			http.Error(w, `{"code":401,"message":"session ended"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "[]")
	case e2eStallHeaders:
		stall()
	case e2eStallBody:
		_, _ = io.WriteString(w, e2eFirstPart)
		w.(http.Flusher).Flush()
		stall()
	case e2eSlowConsumer:
		_, _ = io.WriteString(w, e2eFirstPart)
		w.(http.Flusher).Flush()
		select {
		case <-a.more:
			_, _ = io.WriteString(w, e2eSecondPart)
		case <-a.release:
		case <-r.Context().Done():
		}
	default:
		http.NotFound(w, r)
	}
}

// agentSection is the agent section of a BDK file for a.
func (a *e2eAgent) agentSection(extra string) string {
	u, _ := url.Parse(a.URL)
	return fmt.Sprintf("agent:\n  scheme: http\n  host: %s\n  port: %s\n%s", u.Hostname(), u.Port(), extra)
}

// e2eGet sends a GET through client, bounded by e2eBound; bounded reports
// whether that bound ended it.
func e2eGet(t *testing.T, client *http.Client, u string) (resp *http.Response, err error, bounded bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eBound)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = client.Do(req)
	return resp, err, ctx.Err() != nil
}

// wantReadTimeout fails t unless err is the readTimeout error.
func wantReadTimeout(t *testing.T, what string, err error, bounded bool) {
	t.Helper()
	switch {
	case err == nil:
		t.Fatalf("%s: no error, want the readTimeout one", what)
	case bounded:
		t.Fatalf("%s: %v after %v: readTimeout (200ms) did not end it", what, err, e2eBound)
	case !strings.Contains(err.Error(), "readTimeout"):
		t.Fatalf("%s: %v, want an error that names readTimeout", what, err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("%s: %v is not a net.Error with Timeout() true", what, err)
	}
}

// readTimeout bounds each wait for data: the response's headers, and each
// Read of the body; a caller that does not read is not timed.
func TestE2EReadTimeout(t *testing.T) {
	setup := func(t *testing.T) (*bdkconfig.Config, *http.Client, *e2eAgent) {
		t.Helper()
		srv := newPod(t)
		agent := newE2EAgent(t)
		dir := t.TempDir()
		writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
		cfg := loadConfig(t, writeConfig(t, dir, serverKeys(srv)+rsaBotSection+agent.agentSection("  readTimeout: 200\n")))
		if cfg.Agent.ReadTimeout != 200*time.Millisecond {
			t.Fatalf("Agent.ReadTimeout = %v", cfg.Agent.ReadTimeout)
		}
		// Log in first: the requests below wait for the agent only.
		sess, err := cfg.Session()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sess.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
		return cfg, configClient(t, cfg), agent
	}

	t.Run("no headers", func(t *testing.T) {
		cfg, client, agent := setup(t)
		resp, err, bounded := e2eGet(t, client, cfg.AgentURL()+e2eStallHeaders)
		if err == nil {
			resp.Body.Close()
		}
		wantReadTimeout(t, "GET of an agent that sends no headers", err, bounded)
		if !strings.Contains(err.Error(), "no data from agent") {
			t.Errorf("error %q does not name the agent", err)
		}
		if n := agent.requests.Load(); n != 1 {
			t.Errorf("the agent got %d requests, want 1", n)
		}
	})

	t.Run("body stalls", func(t *testing.T) {
		cfg, client, _ := setup(t)
		resp, err, _ := e2eGet(t, client, cfg.AgentURL()+e2eStallBody)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		body, err := io.ReadAll(resp.Body)
		wantReadTimeout(t, "reading a body that stalls", err, resp.Request.Context().Err() != nil)
		if string(body) != e2eFirstPart {
			t.Errorf("read %q before the timeout, want %q", body, e2eFirstPart)
		}
	})

	t.Run("a caller that does not read is not timed", func(t *testing.T) {
		cfg, client, agent := setup(t)
		resp, err, _ := e2eGet(t, client, cfg.AgentURL()+e2eSlowConsumer)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// Let more than readTimeout pass without reading: the clock is
		// another request, which readTimeout ends after 200ms at the
		// earliest.
		clock, err, bounded := e2eGet(t, client, cfg.AgentURL()+e2eStallHeaders)
		if err == nil {
			clock.Body.Close()
		}
		wantReadTimeout(t, "the clock request", err, bounded)
		close(agent.more)
		body, err := io.ReadAll(resp.Body)
		if err != nil || string(body) != e2eFirstPart+e2eSecondPart {
			t.Fatalf("reading after a pause longer than readTimeout: %q, %v; want the whole body", body, err)
		}
	})
}

// Waiting for the bot's login is no wait for data from the server: an API
// call that waits for a login longer than the server's readTimeout, the
// server then answering at once, succeeds.
func TestE2EReadTimeoutDoesNotTimeTheLogin(t *testing.T) {
	srv := newPod(t)
	agent := newE2EAgent(t)
	clockSrv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	t.Cleanup(clockSrv.Close)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
	// readTimeout 200ms everywhere but at the pod (and the key manager, on
	// the same host and port), whose logins may take their time.
	text := serverKeys(srv) + rsaBotSection + "readTimeout: 200\npod:\n  readTimeout: 60000\n" + agent.agentSection("")
	cfg := loadConfig(t, writeConfig(t, dir, text))
	client := configClient(t, cfg)

	hold, reached := make(chan struct{}), make(chan struct{}, 1)
	released := false
	release := func() {
		if !released {
			released = true
			close(hold)
		}
	}
	t.Cleanup(release)
	srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Hold: hold, Reached: reached, Times: 1})

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	ctx, cancel := context.WithTimeout(context.Background(), e2eBound)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.AgentURL()+symauthtest.PathDatafeeds, nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		done <- result{status: resp.StatusCode}
	}()
	select {
	case <-reached: // the API call waits for the login, held at the pod
	case <-time.After(e2eBound):
		t.Fatal("the login did not reach the pod")
	}
	// The clock: a request to a server the file does not name, which the
	// top level's readTimeout of 200ms ends. It starts after the API call.
	clock, err, bounded := e2eGet(t, client, clockSrv.URL)
	if err == nil {
		clock.Body.Close()
	}
	wantReadTimeout(t, "the clock request", err, bounded)
	release()
	var r result
	select {
	case r = <-done:
	case <-time.After(e2eBound):
		t.Fatal("the API call has not returned")
	}
	if r.err != nil || r.status != http.StatusOK {
		t.Errorf("API call that waited for the login: %d, %v (the agent had got %d requests); want 200: "+
			"the agent's readTimeout timed the wait for the login, not a wait for the agent's data", r.status, r.err, agent.requests.Load())
	}
}

// The login calls have a transport of their own: a login that fails, or
// that succeeds after failed attempts, leaves the API calls' connections as
// they are.
func TestE2ELoginTrafficApartFromAPI(t *testing.T) {
	srv := newPod(t)
	if err := srv.RegisterApp("e2e-app", botKey().Public()); err != nil {
		t.Fatal(err)
	}
	if err := srv.InstallApp("e2e-app", botName); err != nil {
		t.Fatal(err)
	}
	agent := newE2EAgent(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
	text := serverKeys(srv) + rsaBotSection + "app:\n  appId: e2e-app\n  privateKey:\n    path: keys/bot.pem\n" + agent.agentSection("")
	cfg := loadConfig(t, writeConfig(t, dir, text))
	client := configClient(t, cfg)
	datafeeds := func(when string) {
		t.Helper()
		if status, body := get(t, client, cfg.AgentURL()+symauthtest.PathDatafeeds); status != http.StatusOK {
			t.Fatalf("datafeeds %s: %d %s", when, status, body)
		}
	}
	datafeeds("first")
	if n := agent.newConns.Load(); n != 1 {
		t.Fatalf("%d connections to the agent after one call", n)
	}

	// The session ends at the agent; the new login fails twice (the pod
	// answers 500), then succeeds; the call is sent again, on the same
	// connection.
	srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusInternalServerError, Times: 2})
	agent.rejectNext.Store(true)
	datafeeds("after a login with failed attempts")
	if pod, _ := loginCalls(srv); pod != 1+3 {
		t.Fatalf("%d pod login calls, want 1 + 3 (two failed attempts)", pod)
	}
	if n := agent.newConns.Load(); n != 1 {
		t.Errorf("%d connections to the agent after a login with failed attempts, want the first one reused", n)
	}

	// The app's login fails altogether, through the same login transport.
	srv.InjectFault(symauthtest.PathAppLogin, symauthtest.Fault{Status: http.StatusInternalServerError})
	obo, err := cfg.OBO()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oboUsername(t, obo, botName).Token(context.Background()); err == nil {
		t.Fatal("OBO login: no error from a pod that answers 500")
	}
	if n := srv.Calls(symauthtest.PathAppLogin); n != 3 {
		t.Errorf("%d app login calls, want 3 (maxAttempts)", n)
	}
	datafeeds("after a failed login")
	if n := agent.newConns.Load(); n != 1 {
		t.Errorf("%d connections to the agent after a failed login, want the first one reused", n)
	}
	if n := agent.requests.Load(); n != 4 {
		t.Errorf("the agent got %d requests, want 4", n)
	}
}
