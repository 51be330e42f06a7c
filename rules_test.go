package symauth_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

// Behaviour 10: the tokens of a source of this package go only to its
// Symphony origins: sessionToken to the pod and the agent, keyManagerToken
// to the agent's Agent API paths. Another origin gets the request without
// any token header, and one warning.
func TestTokensOnlyToSymphonyOrigins(t *testing.T) {
	srv := newPod(t)
	agent := newRecordingServer(t, nil)
	link := newRecordingServer(t, nil) // a link from a chat message
	var logs bytes.Buffer
	var logsMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logsMu}, nil))
	sess := symauth.NewSessionWithOptions(newRSA(t, withAgent(rsaConfig(srv), agent)), symauth.SessionOptions{Logger: logger})
	client := &http.Client{Transport: symauth.NewTransport(sess, trustingTransport(t, srv, agent, link))}

	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, link.URL+"/agent/v1/download", nil)
		req.Header.Set(symauth.HeaderSessionToken, "set by the caller")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request != req {
			t.Error("resp.Request is the copy made without the caller's token header, not the caller's request")
		}
	}
	get(t, client, agent.URL+"/agent/v4/stream/s/message/create")
	get(t, client, agent.URL+"/pod/v1/whatever")
	if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
		t.Fatalf("pod: %d", status)
	}
	get(t, client, srv.URL+"/agent/v1/info") // the pod is no agent here: no keyManagerToken

	linkHeaders, _ := link.requests()
	for i, h := range linkHeaders {
		if tokenValues(h, symauth.HeaderSessionToken) != nil || tokenValues(h, symauth.HeaderKeyManagerToken) != nil {
			t.Errorf("link request %d carried a token header", i)
		}
	}
	agentHeaders, _ := agent.requests()
	if tokenValues(agentHeaders[0], symauth.HeaderSessionToken) == nil || tokenValues(agentHeaders[0], symauth.HeaderKeyManagerToken) == nil {
		t.Error("the agent's Agent API call lacks a token")
	}
	if tokenValues(agentHeaders[1], symauth.HeaderKeyManagerToken) != nil {
		t.Error("keyManagerToken on a path that is not the Agent API")
	}
	logsMu.Lock()
	text := logs.String()
	logsMu.Unlock()
	linkOrigin := strings.ToLower(link.URL)
	if n := strings.Count(text, "origin="+linkOrigin); n != 1 {
		t.Errorf("%d warnings for %s; want one:\n%s", n, linkOrigin, text)
	}
	if !strings.Contains(text, srv.URL) || !strings.Contains(text, agent.URL) {
		t.Errorf("the warning does not name the configured origins:\n%s", text)
	}
}

// Behaviour 10: without an AgentURL the agent is on the pod's origin (the
// cloud layout): it gets both tokens there.
func TestCloudLayoutAgentOnThePod(t *testing.T) {
	srv := newPod(t) // symauthtest requires both tokens on Agent API paths
	client := &http.Client{Transport: symauth.NewTransport(newRSA(t, rsaConfig(srv)), srv.Client().Transport)}
	if status, _ := get(t, client, srv.URL+symauthtest.PathDatafeeds); status != http.StatusOK {
		t.Fatalf("Agent API on the pod's origin: %d; want 200 with both tokens", status)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Behaviour 11: tokens go on a redirect hop only when it has the first
// request's origin — the same host on another port is another origin — and
// once a hop went without tokens, the rest of the chain does too.
func TestRedirectOrigins(t *testing.T) {
	srv := newPod(t)
	var first, second *recordingServer
	first = newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pod/to-other-port":
			http.Redirect(w, r, second.URL+"/pod/landing", http.StatusFound)
		case "/pod/bounce":
			http.Redirect(w, r, second.URL+"/pod/back", http.StatusFound)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
	second = newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pod/back" {
			http.Redirect(w, r, first.URL+"/pod/landing", http.StatusFound)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	// A source of the user's own: only the scheme and redirect rules apply.
	client := &http.Client{Transport: symauth.NewTransport(usersSource{newRSA(t, rsaConfig(srv))}, trustingTransport(t, srv, first, second))}

	get(t, client, first.URL+"/pod/to-other-port")
	secondHeaders, _ := second.requests()
	if tokenValues(secondHeaders[0], symauth.HeaderSessionToken) != nil {
		t.Error("the same host on another port got the token")
	}
	get(t, client, first.URL+"/pod/bounce")
	firstHeaders, _ := first.requests()
	if tokenValues(firstHeaders[len(firstHeaders)-1], symauth.HeaderSessionToken) != nil {
		t.Error("a chain pod → other → pod carried the token again on its last hop")
	}
	if tokenValues(firstHeaders[1], symauth.HeaderSessionToken) == nil {
		t.Error("the chain's first request lacks the token")
	}
}

// Behaviour 8: plain http to a loopback host through a proxy is not "straight
// to loopback": no token goes to the proxy in clear, nor through a wrapper
// (otelhttp, a retry layer) that could hide one.
func TestPlainHTTPLoopbackThroughAProxy(t *testing.T) {
	for name, wrap := range map[string]func(*http.Transport) http.RoundTripper{
		"proxying transport":         func(t *http.Transport) http.RoundTripper { return t },
		"wrapped proxying transport": func(t *http.Transport) http.RoundTripper { return instrumented{t} },
	} {
		t.Run(name, func(t *testing.T) {
			srv := newPod(t)
			proxy := newPlainRecordingServer(t) // answers every request itself: a forward proxy
			proxyURL, _ := url.Parse(proxy.URL)
			inner := &http.Transport{Proxy: http.ProxyURL(proxyURL)}
			t.Cleanup(inner.CloseIdleConnections)
			cfg := rsaConfig(srv)
			cfg.AgentURL = "http://localhost:9" // the agent sidecar on plain http
			client := &http.Client{Transport: symauth.NewTransport(newRSA(t, cfg), wrap(inner))}
			get(t, client, "http://localhost:9/agent/v4/stream/x/message/create")
			headers, _ := proxy.requests()
			if len(headers) != 1 {
				t.Fatalf("the proxy saw %d requests", len(headers))
			}
			for _, h := range []string{symauth.HeaderSessionToken, symauth.HeaderKeyManagerToken} {
				if tokenValues(headers[0], h) != nil {
					t.Errorf("the proxy got %s in clear over plain http", h)
				}
			}
			if pod, _ := loginCalls(srv); pod != 0 {
				t.Fatalf("%d logins for a request that carries no token", pod)
			}
		})
	}
}

// Behaviour 15: a login answer whose token no header can carry is a failed
// login, under the failure backoff, never a token cached for ever.
func TestUnsendableTokenIsAFailedLogin(t *testing.T) {
	for name, token := range map[string]string{
		"CR LF": "abc\r\nX-Injected: 1",
		"NUL":   "abc\x00def",
		"huge":  strings.Repeat("a", 900<<10),
	} {
		t.Run(name, func(t *testing.T) {
			srv := newPod(t)
			var logins atomic.Int32
			pod := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
				logins.Add(1)
				_ = json.NewEncoder(w).Encode(map[string]string{"token": token})
			})
			cfg := rsaConfig(srv)
			cfg.PodURL, cfg.SkipKeyManager = pod.URL, true
			cfg.HTTPClient = &http.Client{Transport: trustingTransport(t, srv, pod)}
			client := &http.Client{Transport: symauth.NewTransport(newRSA(t, cfg), cfg.HTTPClient.Transport)}
			var authErr *symauth.AuthError
			_, err := client.Get(pod.URL + "/pod/v2/sessioninfo")
			if !errors.As(err, &authErr) || authErr.Endpoint != "/login/pubkey/authenticate" || !strings.Contains(authErr.Message, "no HTTP header can carry") {
				t.Fatalf("err = %v; want an *AuthError about the token", err)
			}
			if strings.Contains(err.Error(), "abc") {
				t.Fatal("the error shows the token")
			}
			_, err = client.Get(pod.URL + "/pod/v2/sessioninfo")
			if err == nil || !strings.Contains(err.Error(), "not logging in for another") || logins.Load() != 1 {
				t.Fatalf("second request: %v after %d logins; want the failure backoff after 1", err, logins.Load())
			}
		})
	}
}

// Behaviour 3: a 401 whose body stalls does not hold the replay: the drain
// is bounded in time, and the connection closed.
func TestStalled401BodyIsNotWaitedFor(t *testing.T) {
	defer symauth.SetMaxDrainTime(50 * time.Millisecond)()
	srv := newPod(t)
	release := make(chan struct{})
	var calls atomic.Int32
	api := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Length", "100000")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":401,`)
			w.(http.Flusher).Flush()
			<-release // the rest never comes
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	t.Cleanup(func() { close(release) })
	client := &http.Client{Transport: symauth.NewTransport(newRSA(t, withAgent(rsaConfig(srv), api)), trustingTransport(t, srv, api)),
		Timeout: testTimeout}
	if status, body := get(t, client, api.URL+"/agent/v1/x"); status != http.StatusOK || body != "ok" {
		t.Fatalf("%d %q; want the replay's 200", status, body)
	}
}

// Behaviour 16: the detached login keeps the caller's context values but not
// its httptrace hooks.
func TestLoginDoesNotFireCallersTrace(t *testing.T) {
	srv := newPod(t)
	client, _ := newBotClient(t, srv)
	var conns atomic.Int32
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) { conns.Add(1) },
	})
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+symauthtest.PathSessionInfo, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if n := conns.Load(); n != 1 {
		t.Fatalf("the caller's trace saw %d connections; want 1 (its own request, none of the login's)", n)
	}
}

// Common JWT: a bearer that arrives with 5 s or less left is sent as it is,
// not renewed on every request.
func TestShortBearerIsNotRenewedInALoop(t *testing.T) {
	clock := testkit.NewClock()
	srv, err := symauthtest.Start(symauthtest.Options{Now: clock.Now, BearerLifetime: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if _, err := srv.RegisterUser(botName, botKey().Public()); err != nil {
		t.Fatal(err)
	}
	client, _ := commonJWTClient(t, srv, clock, srv.Client().Transport)
	for range 50 {
		if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
	}
	if renewals, pod := srv.Calls(symauthtest.PathIDMTokens), srv.Calls(symauthtest.PathLogin); renewals != 0 || pod != 1 {
		t.Fatalf("%d renewals and %d logins for 50 requests; want 0 and 1", renewals, pod)
	}
}

// Sources made without an HTTPClient share one login client: ten thousand
// bots cost one connection pool.
func TestDefaultLoginClientIsShared(t *testing.T) {
	var newConns atomic.Int32
	pod := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"token": "t"})
	}))
	pod.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			newConns.Add(1)
		}
	}
	pod.Start()
	t.Cleanup(pod.Close)
	for i := range 50 {
		auth, err := symauth.NewRSA(symauth.RSAConfig{PodURL: pod.URL, Username: "bot-" + string(rune('a'+i%26)), PrivateKey: botKey(), SkipKeyManager: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := auth.Token(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := newConns.Load(); n > 2 {
		t.Fatalf("50 sources opened %d connections; want them to share one pool", n)
	}
}

// Two observers of one session end outside HTTP (a datafeed loop and a
// websocket) that call Reject cause one login.
func TestRejectByTwoObserversLogsInOnce(t *testing.T) {
	srv := newPod(t)
	sess := symauth.NewSession(newRSA(t, rsaConfig(srv)))
	seen := mustToken(t, sess)
	var wg sync.WaitGroup
	got := make([]*symauth.Token, 2)
	for i := range got {
		wg.Go(func() {
			tok, err := sess.Reject(context.Background(), seen)
			if err != nil {
				t.Error(err)
			}
			got[i] = tok
		})
	}
	wg.Wait()
	if got[0] != got[1] || got[0] == seen {
		t.Fatal("the observers got different tokens, or the rejected one")
	}
	if pod, _ := loginCalls(srv); pod != 2 {
		t.Fatalf("%d logins; want 2 (the first, one for the session end)", pod)
	}
	// A late Reject of the old token changes nothing.
	if tok, _ := sess.Reject(context.Background(), seen); tok != got[0] {
		t.Fatal("a late Reject of the old token dropped the new one")
	}
}

// instrumented is what a metrics or tracing layer (otelhttp.NewTransport,
// a retry layer) does to the base: it wraps the *http.Transport.
type instrumented struct{ next http.RoundTripper }

func (i instrumented) RoundTrip(r *http.Request) (*http.Response, error) { return i.next.RoundTrip(r) }

// Behaviour 3: a gzip-encoded 401 whose body stalls (net/http's gzip reader
// holds a lock across the read, so Close cannot interrupt it) does not hold
// the replay either.
func TestStalledGzip401BodyIsNotWaitedFor(t *testing.T) {
	defer symauth.SetMaxDrainTime(50 * time.Millisecond)()
	release := make(chan struct{})
	var calls atomic.Int32
	api := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Content-Encoding", "gzip")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte{0x1f}) // the first byte of a gzip header; the rest never comes
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	api.TLS = &tls.Config{Certificates: []tls.Certificate{localhostCertificate(t)}}
	api.StartTLS()
	t.Cleanup(api.Close)
	t.Cleanup(func() { close(release) })
	var n atomic.Int32
	src := sourceFunc(func(context.Context) (*symauth.Token, error) {
		return &symauth.Token{SessionToken: "s" + string(rune('0'+n.Add(1)))}, nil
	})
	client := &http.Client{Transport: symauth.NewTransport(src, api.Client().Transport), Timeout: 3 * time.Second}
	start := time.Now()
	resp, err := client.Get(api.URL + "/pod/v1/x")
	if err != nil {
		t.Fatalf("after %v: %v; want the replay's 200 within about maxDrainTime (50ms)", time.Since(start).Round(time.Millisecond), err)
	}
	resp.Body.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("RoundTrip took %v; want about maxDrainTime", d)
	}
}

// A program that authenticates every default client —
// http.DefaultTransport = symauth.NewTransport(auth, http.DefaultTransport) —
// with HTTPClient nil: the login calls must not go through that Transport,
// where they would wait for themselves. In a child process, as it replaces
// a global.
func TestDefaultTransportThatAuthenticatesDoesNotHoldLogins(t *testing.T) {
	inChild(t, func(t *testing.T) {
		srv := newPod(t)
		old := http.DefaultTransport
		t.Cleanup(func() { http.DefaultTransport = old })
		http.DefaultTransport = srv.Client().Transport // the program's own default: trusts the pod's CA

		cfg := rsaConfig(srv)
		cfg.HTTPClient = nil // the shared default
		auth := newRSA(t, cfg)
		sess := symauth.NewSessionWithOptions(auth, symauth.SessionOptions{LoginTimeout: time.Second})
		http.DefaultTransport = symauth.NewTransport(sess, http.DefaultTransport)

		start := time.Now()
		resp, err := http.Get(srv.URL + symauthtest.PathSessionInfo)
		if err != nil {
			t.Fatalf("after %v: %v; want 200", time.Since(start).Round(time.Millisecond), err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
	})
}

// With the defaults (no HTTPClient, a nil Base), a bot's login and its API
// calls share http.DefaultTransport's pool: its first request, login
// included, dials the pod once. In a child process, as it replaces a global.
func TestDefaultsShareOneConnection(t *testing.T) {
	inChild(t, func(t *testing.T) {
		srv := newPod(t)
		old := http.DefaultTransport
		t.Cleanup(func() { http.DefaultTransport = old })
		var dials atomic.Int32
		tr := srv.Client().Transport.(*http.Transport).Clone() // trusts the pod's CA
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
		t.Cleanup(tr.CloseIdleConnections)
		http.DefaultTransport = tr

		cfg := rsaConfig(srv)
		cfg.HTTPClient = nil
		auth := newRSA(t, cfg)
		client := &http.Client{Transport: symauth.NewTransport(auth, nil)}
		if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
			t.Fatalf("status %d", status)
		}
		if n := srv.Calls(symauthtest.PathLogin) + srv.Calls(symauthtest.PathRelay); n != 2 {
			t.Fatalf("%d login calls; want the pod's and the key manager's", n)
		}
		if n := dials.Load(); n != 1 {
			t.Errorf("%d dials for the login and the first call; want 1", n)
		}

		// A failed login (the pod down, retries exhausted, after which
		// go-retryablehttp closes its client's idle connections) leaves
		// the program's idle connections of http.DefaultTransport open.
		srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusServiceUnavailable, Times: 100})
		if _, err := auth.Token(context.Background()); err == nil {
			t.Fatal("the login succeeded with the pod down")
		}
		resp, err := http.Get(srv.URL + symauthtest.PathAgentInfo)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if n := dials.Load(); n != 1 {
			t.Errorf("%d dials after a failed login; want the first connection still open (1)", n)
		}
	})
}
