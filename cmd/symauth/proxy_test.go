package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// The in-process tests of the proxy's handler, under -race; the binary's
// are in proxy_proc_test.go.

const (
	proxyBot      = "proxy-bot"
	echoPodPath   = "/pod/v1/test/echo"
	echoAgentPath = "/agent/v1/test/echo"
)

// echoed is what the echo endpoints saw of a request.
type echoed struct {
	User            string `json:"user"`
	ForgedSession   bool   `json:"forgedSession"`   // sessionToken was the client's "forged"
	KeyManagerToken string `json:"keyManagerToken"` // "absent", "forged" or "bot's"
	Authorization   string `json:"authorization"`
	XForwardedFor   string `json:"xForwardedFor"`
	Custom          string `json:"custom"` // the X-Bot header
	Query           string `json:"query"`
	Path            string `json:"path"`
	BodyLen         int    `json:"bodyLen"`
	BodySHA         string `json:"bodySHA"`
}

func echo(w http.ResponseWriter, r *http.Request) {
	u, _ := symauthtest.UserFromContext(r.Context())
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(body)
	km := "bot's"
	switch r.Header.Get(symauth.HeaderKeyManagerToken) {
	case "":
		km = "absent"
	case "forged":
		km = "forged"
	}
	_ = json.NewEncoder(w).Encode(echoed{
		User: u.Username, ForgedSession: r.Header.Get(symauth.HeaderSessionToken) == "forged", KeyManagerToken: km,
		Authorization: r.Header.Get("Authorization"), XForwardedFor: r.Header.Get("X-Forwarded-For"),
		Custom: r.Header.Get("X-Bot"), Query: r.URL.RawQuery, Path: r.URL.Path, BodyLen: len(body), BodySHA: hex.EncodeToString(sum[:]),
	})
}

// proxyFixture is a proxyHandler over a symauthtest server, served over
// plain HTTP on loopback, as the command serves it.
type proxyFixture struct {
	srv    *symauthtest.Server
	h      *proxyHandler
	url    string       // the proxy's base URL
	client *http.Client // a plain client, as a bot's: no token
	logins atomic.Int32 // the Session's successful logins
	failed atomic.Int32 // and its failed ones
	logs   syncBuffer   // the handler's log
}

func newProxyFixture(t *testing.T, maxBody int64, opts symauthtest.Options) *proxyFixture {
	t.Helper()
	srv, err := symauthtest.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.Handle(echoPodPath, http.HandlerFunc(echo))
	srv.Handle(echoAgentPath, http.HandlerFunc(echo))
	key, err := srv.NewUser(proxyBot)
	if err != nil {
		t.Fatal(err)
	}
	f := &proxyFixture{srv: srv}
	login, err := symauth.NewRSA(symauth.RSAConfig{PodURL: srv.URL, Username: proxyBot, PrivateKey: key, HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	session := symauth.NewSessionWithOptions(login, symauth.SessionOptions{OnLogin: func(ev symauth.LoginEvent) {
		if ev.Err != nil {
			f.failed.Add(1)
			return
		}
		f.logins.Add(1)
	}})
	tr := symauth.NewTransport(session, srv.Client().Transport)
	t.Cleanup(tr.CloseIdleConnections)
	h, err := newProxyHandler(proxyConfig{pod: srv.URL, agent: srv.URL + "/", transport: tr, source: session, maxBody: maxBody,
		logger: log.New(&f.logs, "", 0)})
	if err != nil {
		t.Fatal(err)
	}
	ps := httptest.NewServer(h)
	t.Cleanup(ps.Close)
	f.h, f.url, f.client = h, ps.URL, ps.Client()
	t.Cleanup(f.client.CloseIdleConnections)
	return f
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// send sends a request to the proxy and returns the status and the body.
func send(t *testing.T, c *http.Client, method, u string, body io.Reader, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, u, err)
	}
	return resp.StatusCode, data
}

// sendEcho sends a request to an echo endpoint and decodes what it saw,
// failing the test unless it answered 200.
func sendEcho(t *testing.T, c *http.Client, method, u string, body io.Reader, header ...string) echoed {
	t.Helper()
	status, data := send(t, c, method, u, body, header...)
	if status != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, u, status, data)
	}
	var e echoed
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("%s %s: %v in %s", method, u, err, data)
	}
	return e
}

// The proxy sends the bot's identity and nothing of the client's: its
// sessionToken, keyManagerToken and Authorization are dropped (any case),
// X-Forwarded-For is not added, other headers, the query and the body go
// through.
func TestProxyForwardsAsTheBot(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	forged := []string{"sessionToken", "forged", "keymanagertoken", "forged", "Authorization", "Bearer forged",
		"X-Forwarded-For", "203.0.113.9", "X-Bot", "yes"}
	pod := sendEcho(t, f.client, http.MethodPost, f.url+echoPodPath+"?limit=2&skip=0", strings.NewReader(`{"a":1}`), forged...)
	sum := sha256.Sum256([]byte(`{"a":1}`))
	want := echoed{User: proxyBot, KeyManagerToken: "absent", Custom: "yes", Query: "limit=2&skip=0", Path: echoPodPath,
		BodyLen: 7, BodySHA: hex.EncodeToString(sum[:])}
	if pod != want {
		t.Errorf("the pod saw %+v, want %+v", pod, want)
	}
	agent := sendEcho(t, f.client, http.MethodGet, f.url+echoAgentPath, nil, forged...)
	if agent.User != proxyBot || agent.ForgedSession || agent.KeyManagerToken != "bot's" || agent.Authorization != "" {
		t.Errorf("the agent saw %+v, want the bot's tokens only", agent)
	}
	if n := f.logins.Load(); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
}

// rawRequest sends requestLine and a Host header, the proxy's own address,
// over a new connection to the proxy, as a hostile or confused client could,
// and returns the status and the body.
func rawRequest(t *testing.T, proxyURL, requestLine string) (int, string) {
	t.Helper()
	addr := strings.TrimPrefix(proxyURL, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(cliTimeout))
	if _, err := fmt.Fprintf(c, "%s\r\nHost: %s\r\nConnection: close\r\n\r\n", requestLine, addr); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s: %v", requestLine, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// refusedRequests are requests the proxy must not forward, with what its
// 404 says.
var refusedRequests = []struct{ line, want string }{
	{"GET /login/pubkey/authenticate HTTP/1.1", "only /pod/… (to the pod) and /agent/… (to the agent) are forwarded"},
	{"POST /relay/pubkey/authenticate HTTP/1.1", "are forwarded, not /relay/pubkey/authenticate"},
	{"GET /https://other.example/ HTTP/1.1", "not /https://other.example/"},
	{"GET /pod/../login/pubkey/authenticate HTTP/1.1", "is not clean"},
	{"GET /agent/v1/%2e%2e/%2e%2e/login/pubkey/authenticate HTTP/1.1", "is not clean"},
	{"GET /pod//v2/sessioninfo HTTP/1.1", "is not clean"},
	{"GET /pod/./v2/sessioninfo HTTP/1.1", "is not clean"},
	{"GET /podcast HTTP/1.1", "are forwarded, not /podcast"},
	{"GET / HTTP/1.1", "are forwarded, not /"},
	{"GET http://other.example/pod/v2/sessioninfo HTTP/1.1", "not an open proxy"},
	{"CONNECT other.example:443 HTTP/1.1", "not an open proxy"},
	{"GET /pod/v1/...;/x HTTP/1.1", `holds ';'`},
	{"GET /pod/v1/%2e%2e%3B/x HTTP/1.1", `holds ';'`},
	{"GET /pod/v1/x;jsessionid=1 HTTP/1.1", `holds ';'`},
	{"GET /agent/%5C%5Cother.example/x HTTP/1.1", `holds '\\\\'`},
	{"GET /pod/%252e%252e/x HTTP/1.1", "is %-encoded twice (%25)"},
	{"GET /pod/v1/x%00 HTTP/1.1", "holds a control character"},
	{"GET /pod/v1/x%0D%0AHost:%20y HTTP/1.1", "holds a control character"},
	{"GET /pod/v1/.../x HTTP/1.1", `starts with \"..\" or is only dots and spaces`},
	{"GET /pod/v1/..x/y HTTP/1.1", `starts with \"..\"`},
	{"GET /pod/v1/.%20/x HTTP/1.1", "is only dots and spaces"},
}

// Nothing but /pod/… and /agent/… is forwarded, and no path can name
// another host: each of these gets a 404 saying why, without a login.
func TestProxyRefuses(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	for _, tc := range refusedRequests {
		status, body := rawRequest(t, f.url, tc.line)
		if status != http.StatusNotFound || !strings.Contains(body, tc.want) || !strings.Contains(body, `"code":404`) {
			t.Errorf("%s: %d %s; want 404 with %q", tc.line, status, body, tc.want)
		}
	}
	if n := f.srv.Calls(symauthtest.PathLogin); n != 0 {
		t.Errorf("%d logins for refused requests", n)
	}
}

// 200 requests in flight when the session ends all succeed, after exactly
// one login: they are held at the server until the session has ended, then
// all meet the 401 at once.
func TestProxyStampede(t *testing.T) {
	const n = 200
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	sendEcho(t, f.client, http.MethodGet, f.url+echoPodPath, nil) // the first login
	f.client.Transport.(*http.Transport).MaxIdleConnsPerHost = n

	reached, release := make(chan struct{}, n), make(chan struct{})
	f.srv.InjectFault(echoPodPath, symauthtest.Fault{Reached: reached, Hold: release, Times: n})
	logins := f.srv.Calls(symauthtest.PathLogin)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			body := fmt.Sprintf(`{"request":%d}`, i)
			req, _ := http.NewRequest(http.MethodPost, f.url+echoPodPath, strings.NewReader(body))
			resp, err := f.client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			var e echoed
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != http.StatusOK || e.BodyLen != len(body) {
				errs <- fmt.Errorf("request %d: %s, %+v, %v", i, resp.Status, e, err)
			}
		})
	}
	for range n {
		<-reached
	}
	f.srv.RevokeSessions()
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := f.srv.Calls(symauthtest.PathLogin) - logins; got != 1 {
		t.Errorf("%d logins for %d requests at one session end, want 1", got, n)
	}
}

// unsized hides a reader's length, so that the request is sent chunked.
type unsized struct{ io.Reader }

// A body up to the cap is buffered: the request is replayed after a session
// end, chunked or not. A larger one streams through intact, and after a
// session end gets its 401 back; the next request logs in.
func TestProxyBodies(t *testing.T) {
	const limit = 4 << 10
	f := newProxyFixture(t, limit, symauthtest.Options{})
	small, large := bytes.Repeat([]byte("s"), limit), bytes.Repeat([]byte("L"), 3*limit)
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	for name, body := range map[string]func([]byte) io.Reader{
		"sized":   func(b []byte) io.Reader { return bytes.NewReader(b) },
		"chunked": func(b []byte) io.Reader { return unsized{bytes.NewReader(b)} },
	} {
		t.Run(name, func(t *testing.T) {
			if e := sendEcho(t, f.client, http.MethodPost, f.url+echoPodPath, body(large)); e.BodyLen != len(large) || e.BodySHA != sum(large) {
				t.Errorf("a large body arrived as %d bytes", e.BodyLen)
			}
			f.srv.RevokeSessions()
			logins := f.logins.Load()
			if e := sendEcho(t, f.client, http.MethodPost, f.url+echoPodPath, body(small)); e.BodyLen != len(small) || e.BodySHA != sum(small) {
				t.Errorf("a small body replayed as %d bytes", e.BodyLen)
			}
			if got := f.logins.Load() - logins; got != 1 {
				t.Errorf("%d logins to replay a small body", got)
			}
			f.srv.RevokeSessions()
			if status, data := send(t, f.client, http.MethodPost, f.url+echoPodPath, body(large)); status != http.StatusUnauthorized {
				t.Errorf("a large body after a session end: %d %s, want the 401", status, data)
			}
			if e := sendEcho(t, f.client, http.MethodPost, f.url+echoPodPath, body(large)); e.BodySHA != sum(large) {
				t.Errorf("the next large body arrived as %d bytes", e.BodyLen)
			}
		})
	}
}

// A client that stalls while sending a body to buffer is answered 400 once
// the body's read deadline passes, and the request is not forwarded.
func TestProxyStalledBody(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	f.h.bodyWait = 100 * time.Millisecond
	c, err := net.Dial("tcp", strings.TrimPrefix(f.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(cliTimeout))
	if _, err := io.WriteString(c, "POST "+echoPodPath+" HTTP/1.1\r\nHost: "+strings.TrimPrefix(f.url, "http://")+"\r\nContent-Length: 100\r\n\r\n{\"partial\":"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if status, body := resp.StatusCode, string(data); status != http.StatusBadRequest || !strings.Contains(body, "reading the request body") {
		t.Errorf("a stalled body: %d %s", status, body)
	}
	if n := f.srv.Calls(echoPodPath); n != 0 {
		t.Errorf("%d calls reached the pod", n)
	}
}

// A response streams: the client reads what the server flushed while the
// server still holds the rest.
func TestProxyStreams(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	release := make(chan struct{})
	f.srv.Handle("/agent/v1/test/stream", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "first\n")
		http.NewResponseController(w).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "second\n")
	}))
	resp, err := f.client.Get(f.url + "/agent/v1/test/stream")
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	line, err := r.ReadString('\n')
	close(release)
	if err != nil || line != "first\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	if rest, err := io.ReadAll(r); err != nil || string(rest) != "second\n" {
		t.Fatalf("the rest %q, %v", rest, err)
	}
}

// probe asks the health endpoint until it answers want, as a readiness probe
// does every 50 ms, and returns the body; it fails the test after 20 s.
func probe(t *testing.T, c *http.Client, proxyURL string, want int) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		status, body := send(t, c, http.MethodGet, proxyURL+healthPath, nil)
		if status == want {
			return string(body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s answers %d %s after 20 s, want %d", healthPath, status, body, want)
		}
		<-tick.C
	}
}

// The health check answers 200 when logged in, and 503 with the reason
// while logins fail, without a token; then 200 again once they succeed.
// A request meanwhile gets 503 and the login error.
func TestProxyHealth(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	if body := probe(t, f.client, f.url, http.StatusOK); body != "ok: logged in\n" {
		t.Errorf("health: %q", body)
	}
	if status, _ := send(t, f.client, http.MethodPost, f.url+healthPath, nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST %s: %d", healthPath, status)
	}
	f.srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusUnauthorized, Body: `{"message":"the bot's key was revoked"}`})
	f.srv.RevokeSessions()
	status, data := send(t, f.client, http.MethodGet, f.url+echoPodPath, nil)
	if status != http.StatusServiceUnavailable || !strings.Contains(string(data), "the bot's key was revoked") {
		t.Errorf("a request while logins fail: %d %s", status, data)
	}
	body := probe(t, f.client, f.url, http.StatusServiceUnavailable)
	if !strings.HasPrefix(body, "not logged in: symauth: not logging in for another") || !strings.Contains(body, "the bot's key was revoked") {
		t.Errorf("health while logins fail: %q", body)
	}
	f.srv.ClearFaults()
	probe(t, f.client, f.url, http.StatusOK)
	sendEcho(t, f.client, http.MethodGet, f.url+echoPodPath, nil)
	if logs := f.logs.String(); !strings.Contains(logs, `GET "`+echoPodPath+`": `) || strings.Contains(logs, "eyJ") {
		t.Errorf("log: want the failed request, no token:\n%s", logs)
	}
}

// A health check while a login is under way answers 503 at once, without
// waiting for the login.
func TestProxyHealthDuringLogin(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	release := make(chan struct{})
	f.srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Hold: release, Times: 1})
	status, body := send(t, f.client, http.MethodGet, f.url+healthPath, nil)
	close(release)
	if status != http.StatusServiceUnavailable || string(body) != "not logged in: a login is under way\n" {
		t.Errorf("health during a login: %d %q", status, body)
	}
	probe(t, f.client, f.url, http.StatusOK) // the login ends before the test
}

// A request whose connection to Symphony breaks gets 502 and the error.
func TestProxyUpstreamError(t *testing.T) {
	f := newProxyFixture(t, 1<<10, symauthtest.Options{})
	f.srv.InjectFault(echoPodPath, symauthtest.Fault{Drop: true, AfterAuth: true})
	status, data := send(t, f.client, http.MethodPost, f.url+echoPodPath, strings.NewReader("{}"))
	if status != http.StatusBadGateway || !strings.Contains(string(data), `"message":"symauth proxy: `) {
		t.Errorf("a dropped connection: %d %s", status, data)
	}
}

func TestProxyHandlerURLs(t *testing.T) {
	for _, tc := range []struct{ pod, agent, want string }{
		{"ftp://pod", "https://agent", "the pod URL ftp://pod is not an http(s)://HOST URL"},
		{"https://pod", "https://", "the agent URL https:// is not"},
		{"https://pod", "https://agent\x7f", "the agent URL: "},
	} {
		if _, err := newProxyHandler(proxyConfig{pod: tc.pod, agent: tc.agent}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s, %s: %v; want %q", tc.pod, tc.agent, err, tc.want)
		}
	}
}
