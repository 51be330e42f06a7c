package symauth_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

// The fault matrix: each row is a fault of the login endpoint or of the API,
// what the caller sees, how many login calls it costs, and whether the bot
// recovers. RELIABILITY.md shows the same table. Every row also checks that no
// goroutine (hence no connection) outlives it.

// loginFaultRow is a fault at the pod's login endpoint, met by a first request.
type loginFaultRow struct {
	name     string
	fault    symauthtest.Fault
	wantOK   bool   // the request succeeds (after retries)
	wantCode int    // else: the *AuthError's status (0: no HTTP answer)
	wantText string // else: a phrase of the error
	attempts int    // login calls the pod sees
}

func TestFaultMatrixLogin(t *testing.T) {
	for _, row := range []loginFaultRow{
		{name: "500 burst then success", fault: symauthtest.Fault{Status: 500, Times: 3}, wantOK: true, attempts: 4},
		{name: "502 burst then success", fault: symauthtest.Fault{Status: 502, Times: 3}, wantOK: true, attempts: 4},
		{name: "503 burst then success", fault: symauthtest.Fault{Status: 503, Times: 3}, wantOK: true, attempts: 4},
		{name: "503 for ever", fault: symauthtest.Fault{Status: 503}, wantCode: 503, attempts: 5},
		{name: "429 with Retry-After 1 h, capped", fault: symauthtest.Fault{Status: 429, Times: 1, Header: http.Header{"Retry-After": {"3600"}}}, wantOK: true, attempts: 2},
		{name: "connection reset", fault: symauthtest.Fault{Drop: true, Times: 2}, wantOK: true, attempts: 3},
		{name: "malformed JSON", fault: symauthtest.Fault{Status: 200, Body: `{"token":`}, wantCode: 200, wantText: "not the expected JSON", attempts: 1},
		{name: "JSON without token", fault: symauthtest.Fault{Status: 200, Body: `{"name":"sessionToken"}`}, wantCode: 200, wantText: `no "token"`, attempts: 1},
		{name: "401", fault: symauthtest.Fault{Status: 401}, wantCode: 401, attempts: 1},
		{name: "403", fault: symauthtest.Fault{Status: 403}, wantCode: 403, attempts: 1},
		{name: "400", fault: symauthtest.Fault{Status: 400}, wantCode: 400, attempts: 1},
		{name: "307 to another host", fault: symauthtest.Fault{Status: 307, Header: http.Header{"Location": {"https://elsewhere.example/login/pubkey/authenticate"}}}, wantCode: 307, wantText: "redirects are not followed", attempts: 1},
	} {
		t.Run(row.name, func(t *testing.T) {
			t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs after the servers closed
			srv := newPod(t)
			srv.InjectFault(symauthtest.PathLogin, row.fault)
			client, _ := newBotClient(t, srv)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+symauthtest.PathSessionInfo, nil)
			resp, err := client.Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			var authErr *symauth.AuthError
			switch {
			case row.wantOK && (err != nil || resp.StatusCode != http.StatusOK):
				t.Fatalf("want success, got %v", err)
			case !row.wantOK && (!errors.As(err, &authErr) || authErr.StatusCode != row.wantCode || !strings.Contains(err.Error(), row.wantText)):
				t.Fatalf("err = %v; want *AuthError %d %q", err, row.wantCode, row.wantText)
			}
			if got := srv.Calls(symauthtest.PathLogin); got != row.attempts {
				t.Fatalf("login calls %d; want %d", got, row.attempts)
			}
		})
	}
}

// A login answer slower than the login timeout fails with the deadline, and
// the next login, after the backoff, recovers.
func TestFaultMatrixSlowLogin(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	srv := newPod(t)
	srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Delay: time.Hour, Times: 1})
	// Long enough for a login under -race on a busy machine, short for a test.
	sess := symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{LoginTimeout: time.Second})
	clock := testkit.NewClock()
	symauth.SetSessionClock(sess, clock.Now)
	client := &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}
	_, err := client.Get(srv.URL + symauthtest.PathSessionInfo)
	var authErr *symauth.AuthError
	if !errors.As(err, &authErr) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want *AuthError wrapping the deadline", err)
	}
	clock.Advance(time.Second)
	if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != http.StatusOK {
		t.Fatalf("after the backoff: %d", status)
	}
}

// A 50 MiB login answer is read through the 1 MiB cap: a clear error, and the
// client does not buffer the whole body. The answer is streamed in small
// chunks, so that what this process allocates is the client's doing.
func TestFaultMatrixHugeLoginAnswer(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	srv := newPod(t)
	chunk := bytes.Repeat([]byte("x"), 32<<10)
	huge := newRecordingServer(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"token":"`)
		for range (50 << 20) / len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return // the client stopped reading
			}
		}
		_, _ = io.WriteString(w, `"}`)
	})
	cfg := rsaConfig(srv)
	cfg.PodURL = huge.URL
	cfg.SkipKeyManager = true
	cfg.HTTPClient = &http.Client{Transport: trustingTransport(t, srv, huge)}
	auth := newRSA(t, cfg)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := auth.Token(context.Background())
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("err = %.200v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Fatalf("allocated %d MiB for a 50 MiB answer; the client must stop reading at 1 MiB", grew>>20)
	}
}

// TLS failures are final at once: a server the client does not trust, and a
// client certificate the server refuses.
func TestFaultMatrixTLS(t *testing.T) {
	t.Run("unknown server CA", func(t *testing.T) {
		t.Cleanup(func() { goleak.VerifyNone(t) })
		srv := newPod(t)
		cfg := rsaConfig(srv)
		cfg.HTTPClient = nil // the system roots: symauthtest's CA is not among them
		_, err := newRSA(t, cfg).Token(context.Background())
		var authErr *symauth.AuthError
		var unknownCA x509.UnknownAuthorityError
		if !errors.As(err, &authErr) || authErr.StatusCode != 0 || !errors.As(err, &unknownCA) {
			t.Fatalf("err = %v; want an *AuthError wrapping x509.UnknownAuthorityError", err)
		}
		if got := srv.Calls(symauthtest.PathLogin); got != 0 {
			t.Fatalf("%d requests reached the server", got)
		}
	})
	t.Run("client certificate refused", func(t *testing.T) {
		t.Cleanup(func() { goleak.VerifyNone(t) })
		srv := newPod(t)
		other := symauthtest.NewServer()
		t.Cleanup(other.Close)
		cfg := certConfig(t, srv, "cert-bot")
		cfg.Certificate, _ = other.IssueClientCertificate("cert-bot") // from a CA srv does not trust
		start := time.Now()
		_, err := mustCert(t, cfg).Token(context.Background())
		var authErr *symauth.AuthError
		// Over HTTP/2 the refusal sometimes surfaces as the connection that
		// could not be established, its TLS alert lost by net/http.
		if !errors.As(err, &authErr) || authErr.StatusCode != 0 ||
			!strings.Contains(err.Error(), "tls") && !strings.Contains(err.Error(), "http2: client conn could not be established") {
			t.Fatalf("err = %v; want an *AuthError from the TLS handshake", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v: a refused handshake must not be retried", d)
		}
	})
}

// API faults: what a request sees when the pod answers 401.
func TestFaultMatrixAPI401(t *testing.T) {
	t.Run("once: replayed", func(t *testing.T) {
		t.Cleanup(func() { goleak.VerifyNone(t) })
		srv := newPod(t)
		client, _ := newBotClient(t, srv)
		get(t, client, srv.URL+symauthtest.PathSessionInfo)
		srv.InjectFault(symauthtest.PathSessionInfo, symauthtest.Fault{Status: 401, Times: 1})
		if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != 200 {
			t.Fatalf("status %d", status)
		}
		if pod, _ := loginCalls(srv); pod != 2 {
			t.Fatalf("logins %d; want 2", pod)
		}
	})
	t.Run("for ever: returned after one replay, then without a login", func(t *testing.T) {
		t.Cleanup(func() { goleak.VerifyNone(t) })
		srv := newPod(t)
		client, _ := newBotClient(t, srv)
		const blocked = "/pod/v1/admin/blocked" // behind a firewall that answers 401
		srv.InjectFault(blocked, symauthtest.Fault{Status: 401})
		for range 20 {
			if status, _ := get(t, client, srv.URL+blocked); status != 401 {
				t.Fatalf("status %d", status)
			}
		}
		api, pod, checks := srv.Calls(blocked), srv.Calls(symauthtest.PathLogin), srv.Calls(symauthtest.PathSessionInfo)
		if api != 21 || pod != 2 || checks != 1 {
			t.Fatalf("API calls %d, logins %d, session checks %d; want 21 (the first request and its replay, then one each), 2 (first + one) and 1", api, pod, checks)
		}
		// The session did not end: every other endpoint works without a login.
		if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != 200 {
			t.Fatalf("another endpoint: %d", status)
		}
		// A real session end right after is healed by one login there.
		srv.RevokeSessions()
		if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != 200 {
			t.Fatalf("another endpoint after a session end: %d", status)
		}
		if pod := srv.Calls(symauthtest.PathLogin); pod != 3 {
			t.Fatalf("logins %d; want 3 (one for the session end)", pod)
		}
	})
	t.Run("for ever at the session info call: a login per request, never a loop", func(t *testing.T) {
		t.Cleanup(func() { goleak.VerifyNone(t) })
		srv := newPod(t)
		client, _ := newBotClient(t, srv)
		srv.InjectFault(symauthtest.PathSessionInfo, symauthtest.Fault{Status: 401})
		for range 3 {
			if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != 401 {
				t.Fatalf("status %d", status)
			}
		}
		// Session info is Symphony's "is my session alive" call: a fresh token
		// it rejects means the session ended.
		if api, pod := srv.Calls(symauthtest.PathSessionInfo), srv.Calls(symauthtest.PathLogin); api != 6 || pod != 4 {
			t.Fatalf("API calls %d, logins %d; want 6 (two per request) and 4 (first + one per request)", api, pod)
		}
	})
	t.Run("twice: a fresh token rejected as the session ends again costs no refusal memory", func(t *testing.T) {
		t.Cleanup(func() { goleak.VerifyNone(t) })
		srv := newPod(t)
		client, _ := newBotClient(t, srv)
		const path = "/agent/v4/stream/s/message/create"
		body, ct := messageForm(t, "hello")
		post := func() int {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", ct)
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		post()
		// The first send and the replay are both refused, and the tokens
		// ended in between: the check (the datafeed list) finds them ended.
		srv.InjectFault(path, symauthtest.Fault{Status: 401, Times: 2})
		srv.InjectFault(symauthtest.PathDatafeeds, symauthtest.Fault{Status: 401, Times: 1})
		if status := post(); status != 401 {
			t.Fatalf("status %d; want the replay's 401", status)
		}
		if status := post(); status != 200 {
			t.Fatalf("next request: %d; want it sent, and 200", status)
		}
		if pod, sends := srv.Calls(symauthtest.PathLogin), srv.Calls(path); pod != 2 || sends != 4 {
			t.Fatalf("logins %d, sends %d; want 2 (first, after the first 401) and 4: nothing held back", pod, sends)
		}
	})
	t.Run("non-rewindable body: 401 returned", func(t *testing.T) {
		t.Cleanup(func() { goleak.VerifyNone(t) })
		srv := newPod(t)
		client, _ := newBotClient(t, srv)
		get(t, client, srv.URL+symauthtest.PathSessionInfo)
		srv.RevokeSessions()
		body, ct := messageForm(t, "once")
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/agent/v4/stream/s/message/create", io.NopCloser(bytes.NewReader(body)))
		req.Header.Set("Content-Type", ct)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 || srv.Calls(symauthtest.PathLogin) != 1 {
			t.Fatalf("status %d, logins %d; want 401 and no re-login yet", resp.StatusCode, srv.Calls(symauthtest.PathLogin))
		}
	})
	t.Run("while the login fails: fast failures, then recovery", func(t *testing.T) {
		t.Cleanup(func() { goleak.VerifyNone(t) })
		srv := newPod(t)
		sess := symauth.NewSession(newRSA(t, rsaConfig(srv)))
		clock := testkit.NewClock()
		symauth.SetSessionClock(sess, clock.Now)
		client := &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}
		get(t, client, srv.URL+symauthtest.PathSessionInfo)
		srv.RevokeSessions()
		srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: 403})
		for i := range 20 {
			_, err := client.Get(srv.URL + symauthtest.PathSessionInfo)
			var authErr *symauth.AuthError
			if !errors.As(err, &authErr) || authErr.StatusCode != 403 {
				t.Fatalf("request %d: %v; want *AuthError 403", i, err)
			}
		}
		if got := srv.Calls(symauthtest.PathLogin); got != 2 {
			t.Fatalf("login calls %d; want 2: the others fail fast in the backoff", got)
		}
		srv.ClearFaults()
		clock.Advance(time.Second)
		if status, _ := get(t, client, srv.URL+symauthtest.PathSessionInfo); status != 200 {
			t.Fatalf("after recovery: %d", status)
		}
	})
}

// The session ends every few milliseconds under load: every request that
// meets at most one session end succeeds, and logins follow session ends.
func TestFaultMatrixSessionChurn(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	srv := newPod(t)
	client, _ := newBotClient(t, srv)
	get(t, client, srv.URL+symauthtest.PathSessionInfo)
	var ends atomic.Int32
	stop := make(chan struct{})
	churnDone := make(chan struct{})
	go func() {
		defer close(churnDone)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				srv.RevokeSessions()
				ends.Add(1)
			}
		}
	}()
	var wg sync.WaitGroup
	var ok, doubleEnded, failed atomic.Int32
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				resp, err := client.Get(srv.URL + symauthtest.PathSessionInfo)
				switch {
				case err != nil:
					failed.Add(1)
					t.Error(err)
				case resp.StatusCode == 200:
					ok.Add(1)
				case resp.StatusCode == 401:
					doubleEnded.Add(1) // its replay met the next session end: returned, never a loop
				default:
					failed.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-churnDone
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed", failed.Load())
	}
	logins := int32(srv.Calls(symauthtest.PathLogin))
	if logins > ends.Load()+1 {
		t.Fatalf("%d logins for %d session ends: more than one per end", logins, ends.Load())
	}
	t.Logf("%d ok, %d got the 401 of a replay that met a second session end, %d session ends, %d logins", ok.Load(), doubleEnded.Load(), ends.Load(), logins)
}
