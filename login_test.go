package symauth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// Behaviour 5: network errors, 429 and 5xx are retried; the login then succeeds.
func TestLoginRetriesTransientFailures(t *testing.T) {
	for name, fault := range map[string]symauthtest.Fault{
		"500":        {Status: http.StatusInternalServerError, Times: 2},
		"502":        {Status: http.StatusBadGateway, Times: 2},
		"503":        {Status: http.StatusServiceUnavailable, Times: 2},
		"429":        {Status: http.StatusTooManyRequests, Times: 2, Header: http.Header{"Retry-After": {"3600"}}},
		"dropped":    {Drop: true, Times: 2},
		"503 + date": {Status: http.StatusServiceUnavailable, Times: 1, Header: http.Header{"Retry-After": {time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}}},
	} {
		t.Run(name, func(t *testing.T) {
			srv := newPod(t)
			srv.InjectFault("/login/pubkey/authenticate", fault)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout) // a Retry-After of an hour must be capped
			defer cancel()
			if _, err := newRSA(t, rsaConfig(srv)).Token(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := srv.Calls("/login/pubkey/authenticate"), fault.Times+1; got != want {
				t.Fatalf("attempts: %d; want %d", got, want)
			}
		})
	}
}

// Behaviour 5: retries stop after MaxAttempts, with the last answer in the error.
func TestLoginGivesUpAfterMaxAttempts(t *testing.T) {
	srv := newPod(t)
	srv.InjectFault("/login/pubkey/authenticate", symauthtest.Fault{Status: http.StatusServiceUnavailable, Body: `{"message":"maintenance"}`})
	cfg := rsaConfig(srv)
	cfg.Retry.MaxAttempts = 3
	_, err := newRSA(t, cfg).Token(context.Background())
	var authErr *symauth.AuthError
	if !errors.As(err, &authErr) || authErr.StatusCode != http.StatusServiceUnavailable || authErr.Message != "maintenance" {
		t.Fatalf("err = %v", err)
	}
	if got := srv.Calls("/login/pubkey/authenticate"); got != 3 {
		t.Fatalf("attempts: %d; want 3", got)
	}
}

// Behaviour 5: redirects are not followed, so the JWT goes nowhere else.
func TestLoginDoesNotFollowRedirects(t *testing.T) {
	srv := newPod(t)
	elsewhere := newRecordingServer(t, nil)
	srv.InjectFault("/login/pubkey/authenticate", symauthtest.Fault{
		Status: http.StatusTemporaryRedirect,
		Header: http.Header{"Location": {elsewhere.localhostURL() + "/login/pubkey/authenticate"}},
	})
	cfg := rsaConfig(srv)
	cfg.HTTPClient = &http.Client{Transport: trustingTransport(t, srv, elsewhere)}
	_, err := newRSA(t, cfg).Token(context.Background())
	var authErr *symauth.AuthError
	if !errors.As(err, &authErr) || authErr.StatusCode != http.StatusTemporaryRedirect || !strings.Contains(authErr.Message, "redirects are not followed") {
		t.Fatalf("err = %v", err)
	}
	if headers, _ := elsewhere.requests(); len(headers) != 0 {
		t.Fatalf("the redirect was followed: %d requests elsewhere", len(headers))
	}
	if cfg.HTTPClient.CheckRedirect != nil {
		t.Fatal("the caller's HTTPClient was modified")
	}
}

// Behaviour 5: bad 200 answers become clear errors; the body is read through a cap.
func TestLoginBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"not JSON", "<html>oops</html>", "not the expected JSON"},
		{"no token", `{"name":"sessionToken"}`, `no "token"`},
		{"too large", `{"token":"` + strings.Repeat("x", 2<<20) + `"}`, "larger than 1 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newPod(t)
			srv.InjectFault("/login/pubkey/authenticate", symauthtest.Fault{Status: http.StatusOK, Body: tc.body})
			_, err := newRSA(t, rsaConfig(srv)).Token(context.Background())
			var authErr *symauth.AuthError
			if !errors.As(err, &authErr) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "xxxxxxxx") {
				t.Fatalf("err = %.300v; want an *AuthError saying %q", err, tc.want)
			}
		})
	}
}

// A server message that echoes a token or JWT does not carry it into the error.
func TestLoginErrorNeverCarriesTokens(t *testing.T) {
	srv := newPod(t)
	jwtLike := "eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOiJ0ZXN0LWJvdCJ9.c2lnbmF0dXJlc2lnbmF0dXJl"
	hex := strings.Repeat("0123456789abcdef", 4)
	srv.InjectFault("/login/pubkey/authenticate", symauthtest.Fault{
		Status: http.StatusUnauthorized,
		Body:   `{"code":401,"message":"invalid token ` + jwtLike + ` (session ` + hex + `)"}`,
	})
	_, err := newRSA(t, rsaConfig(srv)).Token(context.Background())
	if err == nil || strings.Contains(err.Error(), "eyJ") || strings.Contains(err.Error(), hex) || !strings.Contains(err.Error(), "invalid token") {
		t.Fatalf("err = %v", err)
	}
}

// A connection that breaks in the middle of a 200 login answer is a
// transient error: the call is retried, like after a reset before it.
func TestLoginRetriesAnAnswerCutShort(t *testing.T) {
	srv := newPod(t)
	var calls atomic.Int32
	pod := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			conn, buf, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"token\":\"abc")
			_ = buf.Flush()
			_ = conn.Close() // the rest never comes
			return
		}
		_, _ = io.WriteString(w, `{"token":"whole"}`)
	})
	cfg := rsaConfig(srv)
	cfg.PodURL, cfg.SkipKeyManager = pod.URL, true
	cfg.HTTPClient = &http.Client{Transport: trustingTransport(t, srv, pod)}
	tok, err := newRSA(t, cfg).Token(context.Background())
	if err != nil || tok.SessionToken != "whole" || calls.Load() != 2 {
		t.Fatalf("token %v, err %v after %d calls; want the second answer", tok, err, calls.Load())
	}
}
