package symauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/go-retryablehttp"
	"golang.org/x/sync/errgroup"
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

func (e *AuthError) Unwrap() error { return e.Err }

// RetryPolicy says how a login call is retried after a network error, a 429 or
// a 5xx answer. Other answers (400, 401, 403 …) are final. The zero value is
// the default.
type RetryPolicy struct {
	MaxAttempts     int           // attempts per login call, the first included; 0: 5
	InitialInterval time.Duration // wait before the first retry, doubled for each next one; 0: 500 ms
	MaxInterval     time.Duration // cap on any wait, a server's Retry-After included; 0: 10 s
}

const (
	defaultMaxAttempts     = 5
	defaultInitialInterval = 500 * time.Millisecond
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
	p.InitialInterval = min(p.InitialInterval, p.MaxInterval)
	return p
}

// loginCaller sends login calls: retries, redirects refused, bounded reads,
// failures turned into *AuthError. It is safe for concurrent use.
type loginCaller struct {
	client *http.Client // never follows redirects
	retry  RetryPolicy  // with defaults applied
}

func newLoginCaller(client *http.Client, retry RetryPolicy) *loginCaller {
	c := *client // a copy: the caller's client is never modified
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &loginCaller{client: &c, retry: retry.withDefaults()}
}

// loginEndpoints are the two calls of a login: the session login and, unless
// keyManagerURL is "", the key manager login.
type loginEndpoints struct {
	sessionURL, sessionPath       string
	keyManagerURL, keyManagerPath string
}

// loginPair sends the session and key manager login calls concurrently and
// returns the token they make. The first call to fail cancels the other, and
// its error is returned. body is as for call (nil: no body).
func (c *loginCaller) loginPair(ctx context.Context, ep loginEndpoints, body func(attempt int) ([]byte, error)) (*Token, error) {
	var tok Token
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		resp, err := c.call(gctx, ep.sessionURL, ep.sessionPath, body)
		if err == nil {
			tok.SessionToken, tok.AuthorizationToken = resp.Token, resp.AuthorizationToken
		}
		return err
	})
	if ep.keyManagerURL != "" {
		g.Go(func() error {
			resp, err := c.call(gctx, ep.keyManagerURL, ep.keyManagerPath, body)
			if err == nil {
				tok.KeyManagerToken = resp.Token
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return &tok, nil
}

// loginResponse is the answer of every login endpoint: {"name":…,"token":…},
// sometimes with "authorizationToken". Unknown fields are ignored.
type loginResponse struct {
	Token              string `json:"token"`
	AuthorizationToken string `json:"authorizationToken"`
}

// call POSTs to url (whose path is endpoint) and returns the decoded answer.
// body, if non-nil, makes the JSON body of each attempt: attempt 0 is the
// first, so a caller can share one signature between calls and sign anew for
// retries.
func (c *loginCaller) call(ctx context.Context, url, endpoint string, body func(attempt int) ([]byte, error)) (*loginResponse, error) {
	fail := func(status int, msg string, err error) error {
		return &AuthError{Endpoint: endpoint, StatusCode: status, Message: msg, Err: err}
	}
	req, client, err := c.newRequest(ctx, url, body)
	if err != nil {
		return nil, fail(0, "", err)
	}
	resp, err := client.Do(req)
	if resp == nil {
		return nil, fail(0, "", err)
	}
	defer resp.Body.Close()
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, maxLoginResponseBytes+1))
	switch {
	case resp.StatusCode != http.StatusOK:
		return nil, fail(resp.StatusCode, statusMessage(resp.StatusCode, data), nil)
	case readErr != nil:
		return nil, fail(resp.StatusCode, "reading the response", readErr)
	case len(data) > maxLoginResponseBytes:
		return nil, fail(resp.StatusCode, "response larger than 1 MiB", nil)
	}
	var out loginResponse
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fail(resp.StatusCode, "response is not the expected JSON object", nil)
	}
	if out.Token == "" {
		return nil, fail(resp.StatusCode, `response has no "token"`, nil)
	}
	return &out, nil
}

// newRequest builds the request of one login call and the go-retryablehttp
// client that sends it: logger off, our backoff and retry policy, the last
// answer passed through when retries are exhausted, and, for a JSON body, a
// fresh body(attempt) for every retry.
func (c *loginCaller) newRequest(ctx context.Context, url string, body func(int) ([]byte, error)) (*retryablehttp.Request, *retryablehttp.Client, error) {
	rc := &retryablehttp.Client{
		HTTPClient:   c.client,
		Logger:       nil,
		RetryWaitMin: c.retry.InitialInterval,
		RetryWaitMax: c.retry.MaxInterval,
		RetryMax:     c.retry.MaxAttempts - 1,
		CheckRetry:   retryablehttp.DefaultRetryPolicy,
		Backoff:      backoff,
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	if body == nil {
		req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, url, nil)
		return req, rc, err
	}
	current, err := body(0)
	if err != nil {
		return nil, nil, err
	}
	// go-retryablehttp rewinds the body from this function before every
	// attempt; PrepareRetry, called before each retry, swaps in a fresh body.
	rewind := retryablehttp.ReaderFunc(func() (io.Reader, error) { return bytes.NewReader(current), nil })
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodPost, url, rewind)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	attempt := 0
	rc.PrepareRetry = func(r *http.Request) error {
		attempt++
		if current, err = body(attempt); err != nil {
			return err
		}
		r.ContentLength = int64(len(current))
		return nil
	}
	return req, rc, nil
}

// backoff is exponential with "equal jitter" (a random wait between half and
// all of min·2^attempt), capped at max; a Retry-After on 429 or 503 is honoured
// but capped at max too.
func backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return clamp(d, 0, max)
		}
	}
	d := max
	if attempt < 30 && min<<attempt > 0 && min<<attempt < max {
		d = min << attempt
	}
	return d/2 + rand.N(d/2+1)
}

func clamp(d, lo, hi time.Duration) time.Duration { return min(max(d, lo), hi) }

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
