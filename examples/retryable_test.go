package examples_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/examples/symphonyclient"
	"github.com/symauth/symauth/symauthtest"
)

// retryUnlessLoginFailed is retryablehttp's default policy (network errors,
// 429 and 5xx), except after a failed login: symauth has already retried the
// login calls with backoff, and during its failure backoff every request
// fails at once with the same error, so retrying the API call gains nothing.
// A 401 is never retried here: symauth has already re-logged in and replayed
// the request once.
func retryUnlessLoginFailed(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if authErr := (*symauth.AuthError)(nil); errors.As(err, &authErr) {
		return false, err
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// retryableClient returns a retryablehttp.Client over symauth's Transport,
// with short waits for the tests (the defaults wait 1 s to 30 s).
func retryableClient(pod *symauthtest.Server, auth symauth.TokenSource) *retryablehttp.Client {
	rc := retryablehttp.NewClient()
	rc.HTTPClient = symauthClient(pod, auth)
	rc.RetryWaitMin, rc.RetryWaitMax = time.Millisecond, 10*time.Millisecond
	rc.RetryMax = 5
	rc.CheckRetry = retryUnlessLoginFailed
	rc.Logger = nil
	return rc
}

// go-retryablehttp retries API calls (here after 503s from the agent) over
// symauth's Transport, which handles the 401s: its HTTPClient's Transport is
// symauth's. The layers do not interfere: a retried request that meets an
// ended session causes one re-login, no more.
func Example_retryablehttp() {
	pod := symauthtest.NewServer() // a fake pod, key manager and agent
	defer pod.Close()
	key, err := pod.NewUser("my-bot")
	if err != nil {
		log.Fatal(err)
	}
	auth, err := symauth.NewRSA(symauth.RSAConfig{PodURL: pod.URL, Username: "my-bot", PrivateKey: key, HTTPClient: pod.Client()})
	if err != nil {
		log.Fatal(err)
	}

	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Transport: symauth.NewTransport(auth, pod.Client().Transport)}
	rc.CheckRetry = retryUnlessLoginFailed
	rc.RetryWaitMin, rc.RetryWaitMax = time.Millisecond, 10*time.Millisecond // the defaults: 1 s to 30 s
	rc.Logger = nil

	resp, err := rc.Get(pod.URL + "/pod/v2/sessioninfo") // the first login
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()

	pod.RevokeSessions()
	path := "/agent/v4/stream/" + streamID + "/message/create"
	pod.InjectFault(path, symauthtest.Fault{Status: http.StatusServiceUnavailable, Times: 2})

	// retryablehttp keeps the body and rewinds it for each attempt (and sets
	// GetBody, so that symauth can replay it after a 401).
	body, contentType := messageForm("<messageML>Hello</messageML>")
	req, err := retryablehttp.NewRequest(http.MethodPost, pod.URL+path, body.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err = rc.Do(req) // 503, 503 (retried by retryablehttp), 401 (re-login and replay by symauth), 200
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	fmt.Println("message create calls:", pod.Calls(path))
	fmt.Println("logins:", pod.Calls(symauthtest.PathLogin))
	// Output:
	// 200 OK
	// message create calls: 4
	// logins: 2
}

// Concurrent retried requests over an ended session: one re-login in all.
func TestRetryableConcurrentNoDoubleLogin(t *testing.T) {
	const n = 16
	pod, auth := newBot(t)
	rc := retryableClient(pod, auth)
	resp, err := rc.Get(pod.URL + symauthtest.PathSessionInfo)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	pod.RevokeSessions()
	pod.InjectFault(createPath(streamID), symauthtest.Fault{Status: http.StatusServiceUnavailable, Times: 4})
	pod.InjectFault(symauthtest.PathDatafeeds, symauthtest.Fault{Status: http.StatusBadGateway, Times: 4})
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			body, contentType := messageForm(fmt.Sprintf("<messageML>%d</messageML>", i))
			req, err := retryablehttp.NewRequest(http.MethodPost, pod.URL+createPath(streamID), body.Bytes())
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Content-Type", contentType)
			errs <- okStatus(rc.Do(req))
		})
		wg.Go(func() { errs <- okStatus(rc.Get(pod.URL + symauthtest.PathDatafeeds)) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	wantCalls(t, pod, map[string]int{
		symauthtest.PathLogin: 2, // the first login and one re-login, whatever the retries
		symauthtest.PathRelay: 2,
	})
}

// The generated client over retryablehttp over symauth: rc.StandardClient()
// is an *http.Client, which the generated client accepts.
//
// In that mode retryablehttp (FromRequest) rewinds the body for its own
// retries but sets no GetBody, so symauth can replay a request after a 401
// only if http.NewRequest set GetBody: a *bytes.Buffer, *bytes.Reader or
// *strings.Reader body. A streamed body gets its 401 back.
func TestRetryableUnderGeneratedClient(t *testing.T) {
	pod, auth := newBot(t)
	rc := retryableClient(pod, auth)
	api, err := symphonyclient.NewClientWithResponses(pod.URL, symphonyclient.WithHTTPClient(rc.StandardClient()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := api.GetSessionInfoWithResponse(ctx, nil); err != nil {
		t.Fatal(err)
	}

	pod.RevokeSessions()
	pod.InjectFault(createPath(streamID), symauthtest.Fault{Status: http.StatusServiceUnavailable, Times: 2})
	body, contentType := messageForm("<messageML>Hello</messageML>")
	sent, err := api.CreateMessageWithBodyWithResponse(ctx, streamID, nil, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	if sent.JSON200 == nil {
		t.Fatalf("message create: %s %s", sent.Status(), sent.Body)
	}
	// 503, 503, 401 and its replay.
	wantCalls(t, pod, map[string]int{symauthtest.PathLogin: 2, createPath(streamID): 4})

	pod.RevokeSessions()
	body, contentType = messageForm("<messageML>Hello again</messageML>")
	sent, err = api.CreateMessageWithBodyWithResponse(ctx, streamID, nil, contentType, struct{ io.Reader }{body})
	if err != nil {
		t.Fatal(err)
	}
	if sent.StatusCode() != http.StatusUnauthorized {
		t.Fatalf("message create with a streamed body: %s, want 401 (no GetBody, no replay)", sent.Status())
	}
}

// A failed login is not retried by retryablehttp (retryUnlessLoginFailed):
// one attempt, and the *symauth.AuthError reaches the caller.
func TestRetryableStopsOnLoginFailure(t *testing.T) {
	pod, auth := newBot(t)
	pod.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusBadRequest}) // symauth does not retry a 400
	rc := retryableClient(pod, auth)
	var attempts atomic.Int32
	rc.RequestLogHook = func(retryablehttp.Logger, *http.Request, int) { attempts.Add(1) }

	resp, err := rc.Get(pod.URL + symauthtest.PathSessionInfo)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got %s, want an error", resp.Status)
	}
	var authErr *symauth.AuthError
	if !errors.As(err, &authErr) || authErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("error %v, want a *symauth.AuthError with status 400", err)
	}
	if got := attempts.Load(); got != 1 {
		t.Errorf("attempts: %d, want 1", got)
	}
	wantCalls(t, pod, map[string]int{symauthtest.PathLogin: 1, symauthtest.PathSessionInfo: 0})
}

// okStatus reads and closes a response and returns an error unless it is a
// 200.
func okStatus(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, answer)
	}
	return nil
}
