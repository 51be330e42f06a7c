package symauth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// testTimeout guards waits on channels, so a broken test fails instead of hanging.
const testTimeout = 30 * time.Second

func waitFor(t testing.TB, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(testTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Behaviour 1: no network call until the first request, then one login for
// any number of requests.
func TestLazyLoginThenCached(t *testing.T) {
	srv := newPod(t)
	client, _ := newBotClient(t, srv)
	if pod, km := loginCalls(srv); pod+km != 0 {
		t.Fatalf("logins before any request: pod %d, key manager %d; want none", pod, km)
	}
	status, body := get(t, client, srv.URL+"/pod/v2/sessioninfo")
	if status != http.StatusOK || !strings.Contains(body, botName) {
		t.Fatalf("sessioninfo: %d %s", status, body)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if status, body := get(t, client, srv.URL+symauthtest.PathDatafeeds); status != http.StatusOK {
				t.Errorf("agent call: %d %s", status, body)
			}
		}()
	}
	wg.Wait()
	if pod, km := loginCalls(srv); pod != 1 || km != 1 {
		t.Fatalf("logins after 51 requests: pod %d, key manager %d; want 1 and 1", pod, km)
	}
}

// Behaviour 2: many requests rejected together cause exactly one login, and all
// of them then succeed.
func TestConcurrent401sShareOneLogin(t *testing.T) {
	const n = 300
	srv := newPod(t)
	client, _ := newBotClient(t, srv)
	get(t, client, srv.URL+"/pod/v2/sessioninfo") // first login
	if got := srv.RevokeSessions(); got != 1 {
		t.Fatalf("RevokeSessions ended %d sessions; want 1", got)
	}
	// The server holds the first n requests until all have arrived, so that
	// they all carry the revoked token and see their 401 together.
	release := make(chan struct{})
	arrived := make(chan struct{}, n)
	paths := []string{symauthtest.PathSessionInfo, symauthtest.PathDatafeeds}
	for _, p := range paths {
		srv.InjectFault(p, symauthtest.Fault{Hold: release, Reached: arrived, Times: n / 2})
	}
	srv.ResetCalls()

	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path := paths[i%2]
			resp, err := client.Get(srv.URL + path)
			if err != nil {
				failed.Add(1)
				t.Errorf("GET %s: %v", path, err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
				t.Errorf("GET %s: status %d", path, resp.StatusCode)
			}
		}()
	}
	for i := range n {
		waitFor(t, arrived, fmt.Sprintf("request %d to arrive", i+1))
	}
	close(release)
	wg.Wait()
	if pod, km := loginCalls(srv); pod != 1 || km != 1 {
		t.Fatalf("re-logins: pod %d, key manager %d; want exactly 1 and 1", pod, km)
	}
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d of %d requests failed", f, n)
	}
	if got := srv.Calls(paths[0]) + srv.Calls(paths[1]); got != 2*n {
		t.Fatalf("API requests: %d; want %d (each request and its one replay)", got, 2*n)
	}
}

// Behaviour 2: a 401 that arrives after the token was already replaced does not
// cause another login; the request is replayed with the new token.
func TestLate401ForOldTokenDoesNotLogInAgain(t *testing.T) {
	srv := newPod(t)
	var rejected sync.Map // session tokens the API server refuses
	holdFirst := make(chan struct{})
	firstArrived := make(chan struct{})
	var arrivals atomic.Int32
	api := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/pod/slow" && arrivals.Add(1) == 1 {
			close(firstArrived)
			<-holdFirst
		}
		if _, bad := rejected.Load(r.Header.Get(symauth.HeaderSessionToken)); bad {
			http.Error(w, `{"code":401,"message":"Invalid session"}`, http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	sess := symauth.NewSession(newRSA(t, withAgent(rsaConfig(srv), api)))
	client := &http.Client{Transport: symauth.NewTransport(sess, trustingTransport(t, srv, api))}
	old, err := sess.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	slow := make(chan int)
	go func() { // sent with the old token, answered late
		status, _ := get(t, client, api.URL+"/pod/slow")
		slow <- status
	}()
	waitFor(t, firstArrived, "the slow request")
	rejected.Store(old.SessionToken, true)
	if status, _ := get(t, client, api.URL+"/pod/fast"); status != http.StatusOK {
		t.Fatalf("fast request after the token was refused: %d; want 200 after one re-login", status)
	}
	close(holdFirst)
	if status := <-slow; status != http.StatusOK {
		t.Fatalf("slow request: %d; want 200 (replayed with the new token)", status)
	}
	if pod, _ := loginCalls(srv); pod != 2 {
		t.Fatalf("pod logins: %d; want 2 (the first and one re-login)", pod)
	}
}

// Behaviour 3: a request is replayed once after a 401, with its body.
func TestReplayAfter401(t *testing.T) {
	srv := newPod(t)
	client, _ := newBotClient(t, srv)
	get(t, client, srv.URL+"/pod/v2/sessioninfo")

	t.Run("GET", func(t *testing.T) {
		srv.RevokeSessions()
		srv.ResetCalls()
		if status, body := get(t, client, srv.URL+"/pod/v2/sessioninfo"); status != http.StatusOK {
			t.Fatalf("status %d %s", status, body)
		}
		if got := srv.Calls("/pod/v2/sessioninfo"); got != 2 {
			t.Fatalf("server saw %d requests; want 2 (the 401 and the replay)", got)
		}
	})
	t.Run("POST with GetBody", func(t *testing.T) {
		srv.RevokeSessions()
		body, contentType := messageForm(t, "<messageML>hello after 401</messageML>")
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/agent/v4/stream/abc/message/create", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(got), "hello after 401") {
			t.Fatalf("replayed POST: %d %s", resp.StatusCode, got)
		}
	})
}

// Behaviour 3: a request whose body cannot be replayed gets its 401 back,
// untouched, and the next request uses a fresh token.
func TestNonReplayableBodyGets401Untouched(t *testing.T) {
	srv := newPod(t)
	client, _ := newBotClient(t, srv)
	get(t, client, srv.URL+"/pod/v2/sessioninfo")
	srv.RevokeSessions()
	srv.ResetCalls()

	body, contentType := messageForm(t, "<messageML>once</messageML>")
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/agent/v4/stream/abc/message/create", io.NopCloser(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if req.GetBody != nil {
		t.Fatal("test setup: the body must not be replayable")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the returned 401 body: %v", err)
	}
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(got), "Invalid session") {
		t.Fatalf("got %d %q; want the server's 401 and its body", resp.StatusCode, got)
	}
	if calls := srv.Calls("/agent/v4/stream/abc/message/create"); calls != 1 {
		t.Fatalf("server saw %d requests; want 1 (no replay)", calls)
	}
	if status, _ := get(t, client, srv.URL+"/pod/v2/sessioninfo"); status != http.StatusOK {
		t.Fatalf("next request: %d; want 200 with a fresh token", status)
	}
	if pod, _ := loginCalls(srv); pod != 1 {
		t.Fatalf("re-logins: %d; want 1", pod)
	}
}

// Behaviour 3: a persistent 401 reaches the server exactly twice per request:
// never a loop.
func TestPersistent401ReachesServerTwice(t *testing.T) {
	srv := newPod(t)
	client, _ := newBotClient(t, srv)
	srv.InjectFault("/pod/v2/sessioninfo", symauthtest.Fault{Status: http.StatusUnauthorized})
	for i := 1; i <= 3; i++ {
		if status, _ := get(t, client, srv.URL+"/pod/v2/sessioninfo"); status != http.StatusUnauthorized {
			t.Fatalf("status %d; want 401", status)
		}
		if got := srv.Calls("/pod/v2/sessioninfo"); got != 2*i {
			t.Fatalf("after %d requests the server saw %d; want %d", i, got, 2*i)
		}
	}
}

// Behaviour 3: the first 401's body is drained and closed before the replay.
func TestFirst401BodyClosedBeforeReplay(t *testing.T) {
	srv := newPod(t)
	var mu sync.Mutex
	var bodies []*trackedBody
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		for _, b := range bodies {
			if !b.closed.Load() {
				t.Errorf("request %s sent while an earlier response body is open", r.URL.Path)
			}
		}
		mu.Unlock()
		resp, err := srv.Client().Transport.RoundTrip(r)
		if err == nil {
			tb := &trackedBody{ReadCloser: resp.Body}
			resp.Body = tb
			mu.Lock()
			bodies = append(bodies, tb)
			mu.Unlock()
		}
		return resp, err
	})
	sess := symauth.NewSession(newRSA(t, rsaConfig(srv)))
	client := &http.Client{Transport: symauth.NewTransport(sess, base)}
	get(t, client, srv.URL+"/pod/v2/sessioninfo")
	srv.RevokeSessions()
	if status, _ := get(t, client, srv.URL+"/pod/v2/sessioninfo"); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 3 {
		t.Fatalf("%d responses; want 3", len(bodies))
	}
	if bodies[1].read.Load() == 0 {
		t.Fatal("the 401 body was not drained")
	}
}

type trackedBody struct {
	io.ReadCloser
	read   atomic.Int64
	closed atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read.Add(int64(n))
	return n, err
}

func (b *trackedBody) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}

// Behaviour 4: a caller whose context ends while a login is in flight stops
// waiting, and the login goes on for the others.
func TestCallerGivingUpDoesNotFailOthers(t *testing.T) {
	srv := newPod(t)
	client, _ := newBotClient(t, srv)
	release := make(chan struct{})
	reached := make(chan struct{}, 1)
	srv.InjectFault("/login/pubkey/authenticate", symauthtest.Fault{Hold: release, Reached: reached, Times: 1})

	impatientCtx, cancel := context.WithCancel(context.Background())
	impatient := make(chan error, 1)
	go func() { // starts the login, so the login began under its context
		req, _ := http.NewRequestWithContext(impatientCtx, http.MethodGet, srv.URL+"/pod/v2/sessioninfo", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		impatient <- err
	}()
	waitFor(t, reached, "the login to start")
	patient := make(chan int, 1)
	go func() {
		status, _ := get(t, client, srv.URL+symauthtest.PathDatafeeds)
		patient <- status
	}()
	cancel()
	select {
	case err := <-impatient:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("impatient caller: %v; want context.Canceled", err)
		}
	case <-time.After(testTimeout):
		t.Fatal("the impatient caller kept waiting for the login after its context ended")
	}
	close(release)
	if status := <-patient; status != http.StatusOK {
		t.Fatalf("patient caller: %d; want 200", status)
	}
	if pod, km := loginCalls(srv); pod != 1 || km != 1 {
		t.Fatalf("logins: pod %d, key manager %d; want 1 and 1", pod, km)
	}
}

// Behaviour 4: the login has its own timeout.
func TestLoginTimeout(t *testing.T) {
	srv := newPod(t)
	never := make(chan struct{})
	srv.InjectFault("/login/pubkey/authenticate", symauthtest.Fault{Hold: never})
	sess := symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{LoginTimeout: 50 * time.Millisecond})
	client := &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}
	_, err := client.Get(srv.URL + "/pod/v2/sessioninfo")
	var authErr *symauth.AuthError
	if !errors.As(err, &authErr) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want an *AuthError wrapping context.DeadlineExceeded", err)
	}
}

// Behaviour 7: which headers go where.
func TestHeaders(t *testing.T) {
	srv := newPod(t)
	api := newRecordingServer(t, nil)
	sess := symauth.NewSession(newRSA(t, withAgent(rsaConfig(srv), api)))
	client := &http.Client{Transport: symauth.NewTransport(sess, trustingTransport(t, srv, api))}
	tok, err := sess.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	for _, path := range []string{"/pod/v2/sessioninfo", "/agent/v3/health/extended", "/symphony/agent/v1/info"} {
		req, _ := http.NewRequest(http.MethodGet, api.URL+path, nil)
		req.Header["sessionToken"] = []string{""} // as generated clients send it
		req.Header.Set("SessionToken", "stale")
		req.Header.Set("keyManagerToken", "stale")
		req.Header.Set("X-Trace", "kept")
		before := req.Header.Clone()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !reflect.DeepEqual(req.Header, before) {
			t.Errorf("%s: the caller's request headers were modified: %v", path, req.Header)
		}
		if resp.Request != req {
			t.Errorf("%s: resp.Request is not the caller's request", path)
		}
	}
	headers, _ := api.requests()
	for i, h := range headers {
		if got := tokenValues(h, symauth.HeaderSessionToken); !reflect.DeepEqual(got, []string{tok.SessionToken}) {
			t.Errorf("request %d: sessionToken values %d; want exactly the session token", i, len(got))
		}
		wantKM := []string(nil)
		if i > 0 {
			wantKM = []string{tok.KeyManagerToken}
		}
		if got := tokenValues(h, symauth.HeaderKeyManagerToken); !reflect.DeepEqual(got, wantKM) {
			t.Errorf("request %d: %d keyManagerToken values; want %d", i, len(got), len(wantKM))
		}
		if h.Get("X-Trace") != "kept" {
			t.Errorf("request %d: the caller's other headers were lost", i)
		}
	}
}

// tokenValues gathers the values of a header under every spelling of its name.
func tokenValues(h http.Header, name string) []string {
	var out []string
	for k, v := range h {
		if strings.EqualFold(k, name) {
			out = append(out, v...)
		}
	}
	return out
}

// Behaviour 7: no keyManagerToken header when the token has none.
func TestNoKeyManagerTokenWhenNoneWasObtained(t *testing.T) {
	srv := newPod(t)
	api := newRecordingServer(t, nil)
	cfg := withAgent(rsaConfig(srv), api)
	cfg.SkipKeyManager = true
	client := &http.Client{Transport: symauth.NewTransport(newRSA(t, cfg), trustingTransport(t, srv, api))}
	get(t, client, api.URL+"/agent/v1/info")
	headers, _ := api.requests()
	if got := tokenValues(headers[0], symauth.HeaderKeyManagerToken); got != nil {
		t.Fatalf("keyManagerToken sent without a key manager token: %d values", len(got))
	}
	if _, km := loginCalls(srv); km != 0 {
		t.Fatalf("key manager logins with SkipKeyManager: %d", km)
	}
}

// Behaviour 7: the request body is closed on every error path.
func TestRequestBodyClosedWhenLoginFails(t *testing.T) {
	srv := newPod(t)
	srv.InjectFault("/login/pubkey/authenticate", symauthtest.Fault{Status: http.StatusForbidden})
	client, _ := newBotClient(t, srv)
	body := &closeRecorder{Reader: strings.NewReader("payload")}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/agent/v4/stream/abc/message/create", body)
	if _, err := client.Do(req); err == nil {
		t.Fatal("want a login error")
	}
	if !body.wasClosed() {
		t.Fatal("the request body was not closed")
	}
}

// Behaviour 8: no token on a redirect hop to another host; tokens on a hop to
// the same host.
func TestRedirects(t *testing.T) {
	srv := newPod(t)
	var api *recordingServer
	api = newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/pod/to-other-host":
			http.Redirect(w, r, api.localhostURL()+"/pod/landing", http.StatusFound)
		case "/pod/to-same-host":
			http.Redirect(w, r, "/pod/landing", http.StatusTemporaryRedirect)
		default:
			_, _ = io.WriteString(w, "ok")
		}
	})
	client := &http.Client{Transport: symauth.NewTransport(newRSA(t, withAgent(rsaConfig(srv), api)), trustingTransport(t, srv, api))}

	for _, tc := range []struct {
		path      string
		wantToken bool
	}{{"/pod/to-other-host", false}, {"/pod/to-same-host", true}} {
		t.Run(tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, api.URL+tc.path, nil)
			req.Header.Set(symauth.HeaderSessionToken, "set by the caller")
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			headers, hosts := api.requests()
			landing := headers[len(headers)-1]
			if got := tokenValues(landing, symauth.HeaderSessionToken) != nil; got != tc.wantToken {
				t.Fatalf("landing on %s: sessionToken present = %v; want %v", hosts[len(hosts)-1], got, tc.wantToken)
			}
			if tokenValues(landing, symauth.HeaderKeyManagerToken) != nil {
				t.Fatal("keyManagerToken sent to a pod path")
			}
		})
	}
}

// Behaviour 8: no token over plain http, except to a loopback host; no login
// is even attempted for such a request.
func TestPlainHTTPOnlyToLoopback(t *testing.T) {
	srv := newPod(t)
	api := newRecordingServer(t, nil)
	plain := newPlainRecordingServer(t)
	// A dialer that sends every connection to the plain server, whatever the
	// host name: the request still names the remote host.
	base := trustingTransport(t, srv, api)
	base.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, plain.Listener.Addr().String())
	}
	// A source of the user's own declares no origins: only the scheme rules apply.
	client := &http.Client{Transport: symauth.NewTransport(usersSource{newRSA(t, rsaConfig(srv))}, base)}

	req, _ := http.NewRequest(http.MethodGet, "http://pod.example.com/pod/v2/sessioninfo", nil)
	req.Header.Set(symauth.HeaderSessionToken, "set by the caller")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if pod, km := loginCalls(srv); pod+km != 0 {
		t.Fatalf("a plain-http request to a remote host caused a login")
	}
	get(t, client, "http://127.0.0.1/pod/v2/sessioninfo")
	headers, hosts := plain.requests()
	if tokenValues(headers[0], symauth.HeaderSessionToken) != nil {
		t.Fatalf("token sent over plain http to %s", hosts[0])
	}
	if tokenValues(headers[1], symauth.HeaderSessionToken) == nil {
		t.Fatalf("no token over plain http to loopback host %s", hosts[1])
	}
}

// Behaviour 9: a failed login is an error wrapping *AuthError; an answer from
// the server is a response without an error.
func TestErrors(t *testing.T) {
	srv := symauthtest.NewServer()
	defer srv.Close()
	client, _ := newBotClient(t, srv) // botName is not registered
	_, err := client.Get(srv.URL + "/pod/v2/sessioninfo")
	var urlErr *url.Error
	var authErr *symauth.AuthError
	if !errors.As(err, &urlErr) || !errors.As(err, &authErr) {
		t.Fatalf("err = %v; want a *url.Error wrapping *symauth.AuthError", err)
	}
	if authErr.StatusCode != http.StatusUnauthorized || !strings.HasSuffix(authErr.Endpoint, "/pubkey/authenticate") || !strings.Contains(authErr.Message, botName) {
		t.Fatalf("AuthError = %+v; want status 401 at a login endpoint with the server's message", authErr)
	}

	srv2 := newPod(t)
	client2, _ := newBotClient(t, srv2)
	srv2.InjectFault("/pod/v2/sessioninfo", symauthtest.Fault{Status: http.StatusInternalServerError})
	resp, err := client2.Get(srv2.URL + "/pod/v2/sessioninfo")
	if err != nil {
		t.Fatalf("a 500 answer came back as an error: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %d; want 500", resp.StatusCode)
	}
}

// messageForm is the multipart body of an Agent message create call.
func messageForm(t testing.TB, messageML string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.WriteField("message", messageML); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Misuse gets a clear error, not a panic, and the body is still closed.
func TestMisuse(t *testing.T) {
	body := &closeRecorder{Reader: strings.NewReader("x")}
	req, _ := http.NewRequest(http.MethodPost, "https://acme.symphony.com/pod/v1/x", body)
	if _, err := (&symauth.Transport{}).RoundTrip(req); err == nil || !strings.Contains(err.Error(), "Source is nil") {
		t.Fatalf("nil Source: %v", err)
	}
	if !body.wasClosed() {
		t.Fatal("body not closed")
	}
	if _, err := (&symauth.Transport{Source: symauth.NewSession(nil)}).RoundTrip(&http.Request{}); err == nil {
		t.Fatal("nil URL: want an error")
	}
	if _, err := symauth.NewSession(nil).Token(context.Background()); err == nil || !strings.Contains(err.Error(), "no TokenSource") {
		t.Fatalf("nil source: %v", err)
	}
}

// After a 401 the login starts before the answer's body is drained: at a
// session end with many requests in flight, the first 401's body can wait
// behind the frames of all the others, and the login must not wait with it.
// Here the 401's body is only finished once the login has reached the pod.
func TestLoginStartsBeforeThe401BodyIsDrained(t *testing.T) {
	srv := newPod(t)
	loginReached := make(chan struct{}, 1)
	var calls atomic.Int32
	bodyOutcome := make(chan string, 1)
	api := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) != 2 {
			_, _ = io.WriteString(w, "ok")
			return
		}
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"code":401,`)
		w.(http.Flusher).Flush()
		select {
		case <-loginReached:
			_, _ = io.WriteString(w, `"message":"Invalid session"}`)
			bodyOutcome <- "login reached while the body was open"
		case <-r.Context().Done():
			bodyOutcome <- "the client closed the 401's body before the login reached the pod"
		}
	})
	sess := symauth.NewSession(newRSA(t, withAgent(rsaConfig(srv), api)))
	client := &http.Client{Transport: symauth.NewTransport(sess, trustingTransport(t, srv, api))}
	if status, _ := get(t, client, api.URL+"/agent/v1/info"); status != http.StatusOK {
		t.Fatalf("first call: status %d", status)
	}
	srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Reached: loginReached})
	if status, _ := get(t, client, api.URL+"/agent/v1/info"); status != http.StatusOK {
		t.Fatalf("replayed call: status %d", status)
	}
	if got := <-bodyOutcome; got != "login reached while the body was open" {
		t.Error(got)
	}
}
