package symauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/symauth/symauth/internal/login"
)

// AuthError is the error of every failed login, and of the other calls a
// login makes (the agent's version, a bearer token renewal). errors.As finds
// it through the *url.Error that http.Client wraps around a RoundTrip error.
// It never holds a token, a JWT or key material.
type AuthError struct {
	Endpoint   string // the path called, e.g. "/login/pubkey/authenticate"
	StatusCode int    // 0 when no HTTP response came back
	Message    string // the server's message, if any (never a token)
	Err        error  // the cause, if any
}

// Error describes the failure: the endpoint, the status and the server's
// message, or the cause. It never holds a token.
func (e *AuthError) Error() string {
	var b strings.Builder
	if isLoginPath(e.Endpoint) {
		b.WriteString("symauth: login at ")
	} else {
		b.WriteString("symauth: call to ")
	}
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

// isLoginPath reports whether endpoint is a login (an …/authenticate path),
// rather than another call such as /agent/v1/info or /pod/v1/podcert.
func isLoginPath(endpoint string) bool {
	return strings.Contains(endpoint, "/authenticate")
}

// isUnauthorized reports whether err is a call answered with 401.
func isUnauthorized(err error) bool {
	var ae *AuthError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusUnauthorized
}

// RetryPolicy says how a login call is retried after a network error, a 429 or
// a 5xx answer. Other answers (400, 401, 403 …) are final. The zero value is
// the default.
type RetryPolicy struct {
	MaxAttempts     int           // attempts per login call, the first included; 0: 5
	InitialInterval time.Duration // wait before the first retry; 0: 500 ms
	Multiplier      float64       // each next wait is this many times longer; 0: 2
	MaxInterval     time.Duration // cap on any wait, a server's Retry-After included; 0: 10 s
}

// loginCaller sends the login calls of this package's sources, each failure
// an *AuthError. It is safe for concurrent use.
type loginCaller struct{ *login.Caller }

func newLoginCaller(client *http.Client, retry RetryPolicy, logger *slog.Logger) loginCaller {
	return loginCaller{login.NewCaller(client, login.Retry(retry), logger)}
}

// login calls the endpoint of lr and returns its token answer.
func (c loginCaller) login(ctx context.Context, lr login.Request) (*login.Response, error) {
	resp, f := c.Login(ctx, lr)
	if f != nil {
		return nil, (*AuthError)(f)
	}
	return resp, nil
}

// call sends lr and decodes its answer into out.
func (c loginCaller) call(ctx context.Context, lr login.Request, out login.Answer) error {
	if f := c.Call(ctx, lr, out); f != nil {
		return (*AuthError)(f)
	}
	return nil
}
