package login

// Fuzz target of the login answer decoder and the Retry-After parser. Its
// seed corpus is in testdata/fuzz/FuzzLoginAnswer; run it with
//
//	go test -run '^$' -fuzz '^FuzzLoginAnswer$' -fuzztime 60s ./internal/login
//
// It asserts properties of the result, not only that nothing panics. The
// seeds run in every go test.

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// fuzzTokenLike is what the sanitizer must redact, restated here so that a
// change to the package's own pattern is checked against the documented
// promise (a run of 24 or more base64, base64url or hex characters).
var fuzzTokenLike = regexp.MustCompile(`[A-Za-z0-9_\-+/=.]{24,}`)

// FuzzLoginAnswer decodes arbitrary login answers (status and body) and
// parses arbitrary Retry-After values.
//
// Decode: never panics; fails for every status but 200; a failure is an
// *Failure carrying the endpoint and status, whose message is bounded,
// printable and holds no token-like run, none of the body's in particular;
// a success has a non-empty token. parseRetryAfter: a delay in seconds is within [0, 24 h]
// and an HTTP date is the difference to now; nothing else is accepted.
func FuzzLoginAnswer(f *testing.F) {
	const token = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" // 64 hex characters, not a real token
	const jwt = "eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOiJib3QifQ.c2lnbmF0dXJlc2lnbmF0dXJlc2lnbmF0dXJl"
	for _, s := range []struct {
		status     int
		body       string
		retryAfter string
	}{
		{200, `{"name":"sessionToken","token":"` + token + `"}`, ""},
		{200, `{"sessionToken":"` + token + `"}`, ""},
		{200, `{"token":"t","authorizationToken":"Bearer ` + jwt + `"}`, ""},
		{200, `{"token":""}`, ""},
		{200, `null`, ""},
		{200, `[1,2]`, ""},
		{200, `{"token":1}`, ""},
		{200, `not json`, ""},
		{200, ``, ""},
		{401, `{"code":401,"message":"Invalid session ` + jwt + `"}`, ""},
		{400, `{"code":400,"message":"token ` + token + ` is\u0000not\nvalid\u202e"}`, ""},
		{403, `{"message":"` + strings.Repeat("é", 300) + `"}`, ""},
		{403, `{"message":"` + strings.Repeat("a", 23) + ` ` + strings.Repeat("b", 23) + `"}`, ""},
		{403, `{"message":"\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041\u0041"}`, ""},
		{302, `{"message":"` + token + `"}`, ""},
		{500, "<html>" + token + "</html>", ""},
		{429, `{"message":"slow down"}`, "120"},
		{503, ``, "Wed, 21 Oct 2015 07:28:00 GMT"},
		{503, ``, "Monday, 02-Jan-06 15:04:05 MST"},
		{429, ``, "-1"},
		{429, ``, "+5"},
		{429, ``, "99999999999999999999"},
		{0, `{"message":"` + token + `"}`, ""},
		{-1, `{"message":"x"}`, ""},
		{999, `{"message":["not","a","string"]}`, ""},
	} {
		f.Add(s.status, []byte(s.body), s.retryAfter)
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		fuzzCheckLoginAnswer(t, status, body)
		fuzzCheckRetryAfter(t, retryAfter)
	})
}

func fuzzCheckLoginAnswer(t *testing.T, status int, body []byte) {
	const endpoint = "/login/pubkey/authenticate"
	var out Response
	f := Decode(endpoint, status, body, nil, &out)
	if f == nil {
		if status != http.StatusOK {
			t.Fatalf("status %d decoded without an error", status)
		}
		if out.Value() == "" {
			t.Fatalf("success with an empty token")
		}
		return
	}
	if f.Endpoint != endpoint || f.StatusCode != status || f.Err != nil {
		t.Fatalf("Failure endpoint %q status %d err %v; want %q %d nil", f.Endpoint, f.StatusCode, f.Err, endpoint, status)
	}
	msg := f.Message
	if n := utf8.RuneCountInString(msg); n > maxServerMessageRunes+1 { // +1: the "…" that marks a cut
		t.Fatalf("message of %d runes, more than %d", n, maxServerMessageRunes+1)
	}
	for _, r := range msg {
		if !unicode.IsPrint(r) {
			t.Fatalf("message holds the unprintable %U: %q", r, msg)
		}
	}
	if run := fuzzTokenLike.FindString(msg); run != "" {
		t.Fatalf("message holds the token-like run %q", run)
	}
	// The message is all that is kept of the body: none of the body's
	// token-like runs (raw, or as the JSON message decodes them) survives.
	var e struct {
		Message string `json:"message"`
	}
	runs := fuzzTokenLike.FindAllString(string(body), -1)
	if json.Unmarshal(body, &e) == nil {
		runs = append(runs, fuzzTokenLike.FindAllString(e.Message, -1)...)
	}
	for _, run := range runs {
		if strings.Contains(msg, run) {
			t.Fatalf("the message shows %q of the body: %q", run, msg)
		}
	}
}

func fuzzCheckRetryAfter(t *testing.T, v string) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d, ok := parseRetryAfter(v, now)
	if !ok {
		if d != 0 {
			t.Fatalf("parseRetryAfter(%q) = %v, false; want 0 when not ok", v, d)
		}
		return
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 || time.Duration(secs)*time.Second != d || d > 24*time.Hour {
			t.Fatalf("parseRetryAfter(%q) = %v; want %d s, within [0, 24 h]", v, d, secs)
		}
	} else if when, err := http.ParseTime(v); err != nil || when.Sub(now) != d {
		t.Fatalf("parseRetryAfter(%q) = %v, true; it is neither delay-seconds nor an HTTP date", v, d)
	}
	backoff := NewCaller(&http.Client{}, Retry{}, nil).backoff
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {v}}}
	if w := backoff(time.Millisecond, defaultMaxInterval, 0, resp); w < 0 || w > defaultMaxInterval {
		t.Fatalf("the wait for Retry-After %q is %v, outside [0, %v]", v, w, defaultMaxInterval)
	}
}
