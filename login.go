package symauth

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
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/go-retryablehttp"
)

// AuthError is the error of every failed login. errors.As finds it through the
// *url.Error that http.Client wraps around a RoundTrip error. It never holds a
// token, a JWT or key material.
type AuthError struct {
	Endpoint   string // the login path, e.g. "/login/pubkey/authenticate"
	StatusCode int    // 0 when no HTTP response came back
	Message    string // the server's message, if any (never a token)
	Err        error  // the cause, if any
}

// Error describes the failure: the endpoint, the status and the server's
// message, or the cause. It never holds a token.
func (e *AuthError) Error() string {
	var b strings.Builder
	b.WriteString("symauth: login at ")
	b.WriteString(e.Endpoint)
	b.WriteString(" failed")
	if e.StatusCode != 0 {
		b.WriteString(": HTTP ")
		b.WriteString(strconv.Itoa(e.StatusCode))
		if text := http.StatusText(e.StatusCode); text != "" {
			b.WriteString(" ")
			b.WriteString(text)
		}
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause, so that errors.Is and errors.As see through it.
func (e *AuthError) Unwrap() error { return e.Err }

// RetryPolicy says how a login call is retried after a network error, a 429 or
// a 5xx answer. Other answers (400, 401, 403 …) are final. The zero value is
// the default.
type RetryPolicy struct {
	MaxAttempts     int           // attempts per login call, the first included; 0: 5
	InitialInterval time.Duration // wait before the first retry; 0: 500 ms
	Multiplier      float64       // each next wait is this many times longer; 0: 2
	MaxInterval     time.Duration // cap on any wait, a server's Retry-After included; 0: 10 s
}

const (
	defaultMaxAttempts     = 5
	defaultInitialInterval = 500 * time.Millisecond
	defaultMultiplier      = 2
	defaultMaxInterval     = 10 * time.Second

	// maxLoginResponseBytes caps how much of a login response is read.
	maxLoginResponseBytes = 1 << 20
	// maxServerMessageRunes caps the server message kept in an AuthError.
	maxServerMessageRunes = 200
)

func (p RetryPolicy) validate(field string) error {
	switch {
	case p.MaxAttempts < 0:
		return fmt.Errorf("symauth: %s.MaxAttempts is %d; it must be 0 (default) or more", field, p.MaxAttempts)
	case p.InitialInterval < 0:
		return fmt.Errorf("symauth: %s.InitialInterval is negative", field)
	case p.Multiplier != 0 && !(p.Multiplier >= 1 && p.Multiplier <= 100):
		return fmt.Errorf("symauth: %s.Multiplier is %g; it must be 0 (default) or between 1 and 100", field, p.Multiplier)
	case p.MaxInterval < 0:
		return fmt.Errorf("symauth: %s.MaxInterval is negative", field)
	}
	return nil
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = defaultMaxAttempts
	}
	if p.InitialInterval == 0 {
		p.InitialInterval = defaultInitialInterval
	}
	if p.MaxInterval == 0 {
		p.MaxInterval = defaultMaxInterval
	}
	if p.Multiplier == 0 {
		p.Multiplier = defaultMultiplier
	}
	p.InitialInterval = min(p.InitialInterval, p.MaxInterval)
	return p
}

// loginCaller sends login calls: retries, redirects refused, bounded reads,
// failures turned into *AuthError. It is safe for concurrent use.
type loginCaller struct {
	client *http.Client // never follows redirects
	retry  RetryPolicy  // with defaults applied
	logger *slog.Logger // nil: no logs
}

func newLoginCaller(client *http.Client, retry RetryPolicy, logger *slog.Logger) *loginCaller {
	c := *client // a copy: the caller's client is never modified
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &loginCaller{client: &c, retry: retry.withDefaults(), logger: logger}
}

// loginRequest is one call to a login endpoint.
type loginRequest struct {
	method   string      // "": POST
	url      string      // where to send it
	endpoint string      // the path, for errors
	header   http.Header // extra headers, e.g. OBO's app sessionToken
	// body, if non-nil, makes the JSON body of each attempt: attempt 0 is
	// the first, so that calls can share one signature and sign anew for
	// retries. nil: no body and no Content-Type.
	body func(attempt int) ([]byte, error)
}

// answer is the decoded 200 body of a login endpoint. Its required field must
// be non-empty.
type answer interface {
	required() (value, name string)
}

// loginResponse is the answer of the login endpoints: {"name":…,"token":…},
// sometimes with "authorizationToken"; the certificate OBO endpoints answer
// {"sessionToken":…} instead. Unknown fields are ignored.
type loginResponse struct {
	Token              string `json:"token"`
	SessionToken       string `json:"sessionToken"`
	AuthorizationToken string `json:"authorizationToken"`
}

func (r *loginResponse) required() (string, string) { return r.token(), "token" }

// token is the token answered, under either name.
func (r *loginResponse) token() string {
	if r.Token != "" {
		return r.Token
	}
	return r.SessionToken
}

// login calls the endpoint of lr and returns its token answer.
func (c *loginCaller) login(ctx context.Context, lr loginRequest) (*loginResponse, error) {
	var out loginResponse
	if err := c.call(ctx, lr, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// call sends lr, with retries, and decodes the 200 answer into out. Every
// failure is an *AuthError.
func (c *loginCaller) call(ctx context.Context, lr loginRequest, out answer) error {
	req, client, err := c.newRequest(ctx, lr)
	if err != nil {
		return &AuthError{Endpoint: lr.endpoint, Err: err}
	}
	resp, err := client.Do(req)
	if resp == nil {
		return &AuthError{Endpoint: lr.endpoint, Err: err}
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxLoginResponseBytes+1))
	return decodeAnswer(lr.endpoint, resp.StatusCode, data, readErr, out)
}

// decodeAnswer turns what a login endpoint answered — its status and up to
// maxLoginResponseBytes+1 bytes of body — into out, or an *AuthError that
// carries the status and the server's sanitized message, never the body.
func decodeAnswer(endpoint string, status int, data []byte, readErr error, out answer) error {
	fail := func(msg string, err error) error {
		return &AuthError{Endpoint: endpoint, StatusCode: status, Message: msg, Err: err}
	}
	switch {
	case status != http.StatusOK:
		return fail(statusMessage(status, data), nil)
	case readErr != nil:
		return fail("reading the response", readErr)
	case len(data) > maxLoginResponseBytes:
		return fail("response larger than 1 MiB", nil)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fail("response is not the expected JSON object", nil)
	}
	if value, name := out.required(); value == "" {
		return fail(fmt.Sprintf("response has no %q", name), nil)
	}
	return nil
}

// newRequest builds the request of one login call and the go-retryablehttp
// client that sends it: logger off, our backoff and retry policy, the last
// answer passed through when retries are exhausted, and, for a JSON body, a
// fresh body(attempt) for every retry.
func (c *loginCaller) newRequest(ctx context.Context, lr loginRequest) (*retryablehttp.Request, *retryablehttp.Client, error) {
	rc := &retryablehttp.Client{
		HTTPClient:   c.client,
		Logger:       nil,
		RetryWaitMin: c.retry.InitialInterval,
		RetryWaitMax: c.retry.MaxInterval,
		RetryMax:     c.retry.MaxAttempts - 1,
		CheckRetry:   c.checkRetry(lr.endpoint),
		Backoff:      c.backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	report := reportOf(ctx)
	rc.RequestLogHook = func(retryablehttp.Logger, *http.Request, int) { report.attempt(lr.endpoint) }
	method := lr.method
	if method == "" {
		method = http.MethodPost
	}
	if lr.body == nil {
		req, err := retryablehttp.NewRequestWithContext(ctx, method, lr.url, nil)
		if err == nil {
			addHeaders(req.Header, lr.header)
		}
		return req, rc, err
	}
	current, err := lr.body(0)
	if err != nil {
		return nil, nil, err
	}
	// go-retryablehttp rewinds the body from this function before every
	// attempt; PrepareRetry, called before each retry, swaps in a fresh body.
	rewind := retryablehttp.ReaderFunc(func() (io.Reader, error) { return bytes.NewReader(current), nil })
	req, err := retryablehttp.NewRequestWithContext(ctx, method, lr.url, rewind)
	if err != nil {
		return nil, nil, err
	}
	addHeaders(req.Header, lr.header)
	req.Header.Set("Content-Type", "application/json")
	attempt := 0
	rc.PrepareRetry = func(r *http.Request) error {
		attempt++
		if current, err = lr.body(attempt); err != nil {
			return err
		}
		r.ContentLength = int64(len(current))
		return nil
	}
	return req, rc, nil
}

// checkRetry returns the retry policy of calls to endpoint: shouldRetry, and
// a Debug log line for each failed attempt that may be retried.
func (c *loginCaller) checkRetry(endpoint string) retryablehttp.CheckRetry {
	return func(ctx context.Context, resp *http.Response, err error) (bool, error) {
		retry, checkErr := shouldRetry(ctx, resp, err)
		if retry && c.logger != nil {
			attrs := []slog.Attr{slog.String("endpoint", endpoint)}
			if resp != nil {
				attrs = append(attrs, slog.Int("status", resp.StatusCode))
			} else if err != nil {
				attrs = append(attrs, slog.String("error", err.Error()))
			}
			c.logger.LogAttrs(ctx, slog.LevelDebug, "symauth: login call failed; retrying if attempts are left", attrs...)
		}
		return retry, checkErr
	}
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

func addHeaders(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}

// backoff is the retry policy's wait before retry attempt+1: exponential
// with "equal jitter" (a random wait between half and all of
// min·multiplier^attempt), capped at max; a Retry-After on 429 or 503 is
// honoured but capped at max too. Its signature is go-retryablehttp's Backoff.
func (c *loginCaller) backoff(firstWait, maxWait time.Duration, attempt int, resp *http.Response) time.Duration {
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

// statusMessage extracts the "message" of a Symphony error body
// ({"code":401,"message":"…"}), shortened and stripped of control characters;
// "" when the body is empty or not that JSON. Redirects get a fixed message.
func statusMessage(status int, body []byte) string {
	if status >= 300 && status < 400 {
		return "redirects are not followed for login calls"
	}
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return sanitizeMessage(e.Message)
}

// tokenLike matches what could be a token, a JWT or key material in a server
// message: a run of 24 or more characters of base64, base64url or hex.
var tokenLike = regexp.MustCompile(`[A-Za-z0-9_\-+/=.]{24,}`)

// sanitizeMessage makes a server message safe to show: token-like runs
// redacted, control characters replaced, at most maxServerMessageRunes long.
func sanitizeMessage(s string) string {
	s = tokenLike.ReplaceAllLiteralString(s, redacted)
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxServerMessageRunes {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// parseBaseURL validates a configured base URL and returns it without a
// trailing slash: https, or plain http to a loopback host only (a token must
// not cross a network in clear); a host; an optional path (a deployment
// context such as "/symphony"); no user info, query or fragment.
func parseBaseURL(field, raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("symauth: %s is missing", field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("symauth: %s is not a valid URL: %w", field, errors.Unwrap(err))
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("symauth: %s must start with https:// (got %q)", field, raw)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("symauth: %s has no host (got %q)", field, raw)
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return "", fmt.Errorf("symauth: %s uses plain http to a non-loopback host; use https", field)
	case u.User != nil:
		return "", fmt.Errorf("symauth: %s must not contain user info", field)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("symauth: %s must not have a query or fragment (got %q)", field, raw)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// isLoopbackHost reports whether host (no port, no brackets) is "localhost" or
// a loopback IP address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
