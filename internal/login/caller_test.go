package login

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const lo, hi = 100 * time.Millisecond, 2 * time.Second
	backoff := NewCaller(&http.Client{}, Retry{}, nil).backoff
	for attempt, wantMax := range []time.Duration{100, 200, 400, 800, 1600, 2000, 2000} {
		wantMax *= time.Millisecond
		for range 50 {
			if d := backoff(lo, hi, attempt, nil); d < wantMax/2 || d > wantMax {
				t.Fatalf("attempt %d: %v; want within [%v, %v]", attempt, d, wantMax/2, wantMax)
			}
		}
	}
	if d := backoff(lo, hi, 200, nil); d < hi/2 || d > hi {
		t.Fatalf("attempt 200: %v", d)
	}
	for _, tc := range []struct {
		status     int
		retryAfter string
		want       time.Duration
	}{
		{http.StatusTooManyRequests, "1", time.Second},
		{http.StatusTooManyRequests, "3600", hi},
		{http.StatusServiceUnavailable, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), hi},
		{http.StatusServiceUnavailable, "Mon, 01 Jan 2001 00:00:00 GMT", 0},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{"Retry-After": {tc.retryAfter}}}
		if d := backoff(lo, hi, 0, resp); d != tc.want {
			t.Errorf("%d Retry-After %q: %v; want %v", tc.status, tc.retryAfter, d, tc.want)
		}
	}
	for _, bad := range []string{"", "-1", "soon", "99999999999"} {
		resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {bad}}}
		if d := backoff(lo, hi, 0, resp); d > lo {
			t.Errorf("Retry-After %q: %v; want the normal backoff", bad, d)
		}
	}
}

func TestBackoffMultiplier(t *testing.T) {
	backoff := NewCaller(&http.Client{}, Retry{Multiplier: 1.5}, nil).backoff
	for attempt, wantMax := range []time.Duration{1000, 1500, 2250, 3375} {
		wantMax *= time.Millisecond
		if d := backoff(time.Second, time.Minute, attempt, nil); d < wantMax/2 || d > wantMax {
			t.Fatalf("attempt %d: %v; want within [%v, %v]", attempt, d, wantMax/2, wantMax)
		}
	}
	if err := (Retry{Multiplier: 0.5}).Validate("R"); err == nil {
		t.Fatal("a multiplier below 1 must be refused")
	}
}

// Login calls go through go-retryablehttp with its logger off, on a copy of
// the caller's client that does not follow redirects.
func TestLoginCallerClient(t *testing.T) {
	callers := &http.Client{Timeout: time.Minute}
	c := NewCaller(callers, Retry{}, nil)
	_, rc, err := c.newRequest(context.Background(), Request{URL: "https://pod.example/login/pubkey/authenticate", Endpoint: "/login"}, -1)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case rc.Logger != nil:
		t.Fatal("go-retryablehttp's logger is on")
	case rc.HTTPClient == callers || callers.CheckRedirect != nil:
		t.Fatal("the caller's client is used or modified")
	case rc.HTTPClient.CheckRedirect == nil || rc.HTTPClient.CheckRedirect(nil, nil) != http.ErrUseLastResponse:
		t.Fatal("redirects would be followed")
	case rc.HTTPClient.Timeout != time.Minute:
		t.Fatal("the caller's client settings are lost")
	}
}
