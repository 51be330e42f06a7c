// Package login is the plumbing of the calls that the root package and its
// subpackages send to Symphony's login endpoints: retries with backoff,
// redirects refused, bounded reads, sanitized server messages, the login
// JWT, and the report a Session turns into a LoginEvent.
package login

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-retryablehttp"
)

// maxResponseBytes caps how much of a login response is read.
const maxResponseBytes = 1 << 20

// Caller sends login calls: retries, redirects refused, bounded reads,
// failures turned into a *Failure. It is safe for concurrent use.
type Caller struct {
	client *http.Client // never follows redirects
	retry  Retry        // with defaults applied
	logger *slog.Logger // nil: no logs
}

// NewCaller returns a Caller sending through a copy of client (which is
// never modified) with retry's policy; logger, if not nil, gets a Debug line
// per failed attempt that may be retried: which attempt of how many, and the
// wait before the next one (see attemptLog).
func NewCaller(client *http.Client, retry Retry, logger *slog.Logger) *Caller {
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Caller{client: &c, retry: retry.withDefaults(), logger: logger}
}

// Logger is the logger given to NewCaller; nil when none.
func (c *Caller) Logger() *slog.Logger { return c.logger }

// Request is one call to a login endpoint.
type Request struct {
	Method   string      // "": POST
	URL      string      // where to send it
	Endpoint string      // the path, for errors and reports
	Header   http.Header // extra headers, e.g. OBO's app sessionToken
	// Body, if non-nil, makes the JSON body of each attempt: attempt 0 is
	// the first, so that calls can share one signature and sign anew for
	// retries. nil: no body and no Content-Type.
	Body func(attempt int) ([]byte, error)
	// First, if non-nil, is attempt 0's body while Body(0) is still being
	// made: the call is sent at once, with First's length, and its body
	// follows when it is ready. Body(0) must return the same bytes.
	First *Deferred
}

// Answer is the decoded 200 body of an endpoint. Its required field must be
// non-empty.
type Answer interface {
	Required() (value, name string)
}

// Response is the answer of the login endpoints: {"name":…,"token":…},
// sometimes with "authorizationToken"; the certificate OBO endpoints answer
// {"sessionToken":…} instead. Unknown fields are ignored.
type Response struct {
	Token              string `json:"token"`
	SessionToken       string `json:"sessionToken"`
	AuthorizationToken string `json:"authorizationToken"`
}

// Required implements Answer: a token, under either name.
func (r *Response) Required() (string, string) { return r.Value(), "token" }

// Value is the token answered, under either name.
func (r *Response) Value() string {
	if r.Token != "" {
		return r.Token
	}
	return r.SessionToken
}

// Login calls the endpoint of lr and returns its token answer.
func (c *Caller) Login(ctx context.Context, lr Request) (*Response, *Failure) {
	var out Response
	if f := c.Call(ctx, lr, &out); f != nil {
		return nil, f
	}
	return &out, nil
}

// Call sends lr, with retries, and decodes the 200 answer into out. It
// returns nil on success. The call is recorded in the Report of ctx, if
// any: its attempts, last status and duration.
func (c *Caller) Call(ctx context.Context, lr Request, out Answer) *Failure {
	report := ReportOf(ctx)
	call, start := report.startCall(lr.Endpoint), time.Now()
	status := 0
	defer func() { report.endCall(call, status, time.Since(start)) }()
	req, client, err := c.newRequest(ctx, lr, call)
	if err != nil {
		return &Failure{Endpoint: lr.Endpoint, Err: err}
	}
	resp, err := client.Do(req)
	if lr.First != nil {
		if bodyErr := lr.First.failed(); bodyErr != nil {
			if resp != nil {
				_ = resp.Body.Close()
			}
			return &Failure{Endpoint: lr.Endpoint, Err: bodyErr} // not the answer to a body never sent whole
		}
	}
	if resp == nil {
		return &Failure{Endpoint: lr.Endpoint, Err: err}
	}
	defer resp.Body.Close()
	status = resp.StatusCode
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	return Decode(lr.Endpoint, resp.StatusCode, data, readErr, out)
}

// Decode turns what an endpoint answered — its status and up to
// maxResponseBytes+1 bytes of body — into out, or a *Failure that carries the
// status and the server's sanitized message, never the body.
func Decode(endpoint string, status int, data []byte, readErr error, out Answer) *Failure {
	fail := func(msg string, err error) *Failure {
		return &Failure{Endpoint: endpoint, StatusCode: status, Message: msg, Err: err}
	}
	switch {
	case status != http.StatusOK:
		return fail(statusMessage(status, data), nil)
	case readErr != nil:
		return fail("reading the response", readErr)
	case len(data) > maxResponseBytes:
		return fail("response larger than 1 MiB", nil)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fail("response is not the expected JSON object", nil)
	}
	if value, name := out.Required(); value == "" {
		return fail(fmt.Sprintf("response has no %q", name), nil)
	}
	return nil
}

// newRequest builds the request of one call (call, in the Report of ctx) and
// the go-retryablehttp client that sends it: logger off, our backoff and
// retry policy, the last answer passed through when retries are exhausted,
// and, for a JSON body, a fresh Body(attempt) for every retry. The request
// carries UserAgent unless lr sets one, and X-Trace-Id when ctx has a trace
// id (WithTraceID).
func (c *Caller) newRequest(ctx context.Context, lr Request, call int) (*retryablehttp.Request, *retryablehttp.Client, error) {
	log := &attemptLog{c: c, endpoint: lr.Endpoint, traceID: TraceID(ctx)}
	rc := &retryablehttp.Client{
		HTTPClient:   c.client,
		Logger:       nil,
		RetryWaitMin: c.retry.InitialInterval,
		RetryWaitMax: c.retry.MaxInterval,
		RetryMax:     c.retry.MaxAttempts - 1,
		CheckRetry:   log.checkRetry,
		Backoff:      log.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	report := ReportOf(ctx)
	rc.RequestLogHook = func(_ retryablehttp.Logger, _ *http.Request, i int) {
		log.attempt = i + 1
		report.attempt(call)
	}
	method := lr.Method
	if method == "" {
		method = http.MethodPost
	}
	if lr.Body == nil {
		req, err := retryablehttp.NewRequestWithContext(ctx, method, lr.URL, nil)
		if err == nil {
			setHeaders(req.Header, lr.Header, log.traceID)
		}
		return req, rc, err
	}
	var current []byte
	if lr.First == nil {
		var err error
		if current, err = lr.Body(0); err != nil {
			return nil, nil, err
		}
	}
	log.first = lr.First
	attempt := 0
	// go-retryablehttp rewinds the body from this function before every
	// attempt; PrepareRetry, called before each retry, swaps in a fresh body.
	rewind := retryablehttp.ReaderFunc(func() (io.Reader, error) {
		if attempt == 0 && lr.First != nil {
			return lr.First.reader(), nil
		}
		return bytes.NewReader(current), nil
	})
	req, err := retryablehttp.NewRequestWithContext(ctx, method, lr.URL, rewind)
	if err != nil {
		return nil, nil, err
	}
	setHeaders(req.Header, lr.Header, log.traceID)
	req.Header.Set("Content-Type", "application/json")
	rc.PrepareRetry = func(r *http.Request) error {
		attempt++
		if current, err = lr.Body(attempt); err != nil {
			return err
		}
		r.ContentLength = int64(len(current))
		return nil
	}
	return req, rc, nil
}

// attemptLog is the retry policy of one call, with its Debug lines: one per
// failed attempt that may be retried, saying which attempt of how many it
// was and, when one is left, the wait before the next (retry_in_ms); after the
// last, that none is left. go-retryablehttp calls its hooks one attempt
// after the other: RequestLogHook, then checkRetry, then, when it will retry,
// backoff.
type attemptLog struct {
	c        *Caller
	endpoint string
	traceID  string    // "" when none
	attempt  int       // the attempt under way, from 1
	first    *Deferred // the first attempt's body, if it was sent before it was made

	pending context.Context // the context of the line backoff is to write; nil: none
	attrs   []slog.Attr     // that line's attributes, but the wait
}

// Messages of the Debug lines of failed attempts.
const (
	msgRetrying = "symauth: login call failed; retrying if attempts are left"
	msgGaveUp   = "symauth: login call failed; no attempts left"
)

// noAttemptLimit is a MaxAttempts that stands for no limit (bdkconfig's
// maxAttempts -1).
const noAttemptLimit = math.MaxInt32

// checkRetry is the retry policy, shouldRetry, with the Debug line of a
// failed attempt that may be retried: written at once after the last
// attempt, else left for backoff, which knows the wait.
func (l *attemptLog) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if l.first != nil && l.attempt == 1 {
		if bodyErr := l.first.failed(); bodyErr != nil {
			return false, bodyErr // the JWT could not be signed: no retry signs better
		}
	}
	retry, checkErr := shouldRetry(ctx, resp, err)
	if !retry && checkErr == nil && resp != nil && resp.StatusCode == http.StatusOK {
		retry, err = readAnswer(ctx, resp)
	}
	if !retry || l.c.logger == nil {
		return retry, checkErr
	}
	limit := l.c.retry.MaxAttempts
	of := fmt.Sprintf("%d of %d", l.attempt, limit)
	if limit >= noAttemptLimit {
		of = fmt.Sprintf("%d, no limit", l.attempt)
	}
	attrs := []slog.Attr{slog.String("endpoint", l.endpoint)}
	if l.traceID != "" {
		attrs = append(attrs, slog.String("trace_id", l.traceID))
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	} else if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	attrs = append(attrs, slog.String("attempt", of))
	if l.attempt >= limit {
		l.c.logger.LogAttrs(ctx, slog.LevelDebug, msgGaveUp, attrs...)
		return retry, checkErr
	}
	l.pending, l.attrs = ctx, attrs
	return retry, checkErr
}

// backoff is the Caller's backoff, writing the Debug line that checkRetry
// left with the wait it returns.
func (l *attemptLog) backoff(firstWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	wait := l.c.backoff(firstWait, maxWait, attempt, resp)
	if l.pending != nil {
		l.c.logger.LogAttrs(l.pending, slog.LevelDebug, msgRetrying, append(l.attrs, slog.Float64("retry_in_ms", Millis(wait)))...)
		l.pending, l.attrs = nil, nil
	}
	return wait
}

// readAnswer reads the body of a 200 answer while the retry policy still
// can act on it: a connection that breaks in the middle of the answer is a
// transient error like any other, and retried. resp.Body is replaced by what
// was read (and, when retries are exhausted, the read's error).
func readAnswer(ctx context.Context, resp *http.Response) (retry bool, err error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(data), errorReader{err}))
	return err != nil && ctx.Err() == nil, err
}

// errorReader fails every read with err; none when err is nil.
type errorReader struct{ err error }

func (r errorReader) Read([]byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	return 0, io.EOF
}

// shouldRetry is go-retryablehttp's default policy (network errors, 429 and
// 5xx are retried; 4xx and certificate verification failures are not), and
// also gives up at once when the server refused the TLS handshake (a wrong or
// missing client certificate) or does not speak TLS: retrying cannot help.
func shouldRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	var opErr *net.OpError // a TLS alert from the server is a "remote error"
	var notTLS tls.RecordHeaderError
	if err != nil && (errors.As(err, &opErr) && opErr.Op == "remote error" || errors.As(err, &notTLS)) {
		return false, nil
	}
	return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
}

// setHeaders sets the headers of a login call: UserAgent, the trace id if
// any, and then src's, which may override the User-Agent.
func setHeaders(dst, src http.Header, traceID string) {
	dst.Set("User-Agent", UserAgent)
	if traceID != "" {
		dst.Set(HeaderTraceID, traceID)
	}
	for k, v := range src {
		dst[k] = v
	}
}

// backoff is the retry policy's wait before retry attempt+1: exponential
// with "equal jitter" (a random wait between half and all of
// firstWait·multiplier^attempt), capped at maxWait; a Retry-After on 429 or
// 503 is honoured but capped at maxWait too. Its signature is
// go-retryablehttp's Backoff.
func (c *Caller) backoff(firstWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return min(max(d, 0), maxWait)
		}
	}
	d := maxWait
	if f := float64(firstWait) * math.Pow(c.retry.Multiplier, float64(attempt)); f < float64(maxWait) {
		d = time.Duration(f)
	}
	return d/2 + rand.N(d/2+1)
}

// parseRetryAfter reads a Retry-After value: delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 || secs > int64(24*time.Hour/time.Second) {
			return 0, false
		}
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now), true
	}
	return 0, false
}
