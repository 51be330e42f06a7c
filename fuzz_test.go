package symauth

// Fuzz targets of the unexported decoders: what a login endpoint answers, the
// Retry-After header, and the unverified reads of session and bearer JWTs.
// Their seed corpora are in testdata/fuzz/<FuzzName>; run one with
//
//	go test -run '^$' -fuzz '^FuzzLoginAnswer$' -fuzztime 60s .
//
// Every target asserts properties of the result, not only that nothing
// panics. The seeds run in every go test.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
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
// decodeAnswer: never panics; fails for every status but 200; a failure is an
// *AuthError carrying the endpoint and status, whose message is bounded,
// printable and holds no token-like run, and whose Error() shows no token-like
// run of the body (raw, or as the JSON message decodes it); a success has a
// non-empty token. parseRetryAfter: a delay in seconds is within [0, 24 h]
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
	const endpoint = rsaSessionLoginPath
	var out loginResponse
	err := decodeAnswer(endpoint, status, body, nil, &out)
	if err == nil {
		if status != http.StatusOK {
			t.Fatalf("status %d decoded without an error", status)
		}
		if out.token() == "" {
			t.Fatalf("success with an empty token")
		}
		return
	}
	var ae *AuthError
	if !errors.As(err, &ae) {
		t.Fatalf("error %T is not an *AuthError: %v", err, err)
	}
	if ae.Endpoint != endpoint || ae.StatusCode != status {
		t.Fatalf("AuthError endpoint %q status %d; want %q %d", ae.Endpoint, ae.StatusCode, endpoint, status)
	}
	msg := ae.Message
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
	text := err.Error()
	if len(text) > 1024 {
		t.Fatalf("Error() is %d bytes long", len(text))
	}
	// The endpoint is itself a long [A-Za-z/] run: look only after it.
	rest, ok := strings.CutPrefix(text, "symauth: login at "+endpoint)
	if !ok {
		t.Fatalf("Error() does not start with the endpoint: %q", text)
	}
	// After the endpoint come the status and the sanitized message: no
	// token-like run at all, so none of the body's (raw, or as the JSON
	// message decodes it) in particular.
	if run := fuzzTokenLike.FindString(rest); run != "" {
		t.Fatalf("Error() shows the token-like run %q: %q", run, text)
	}
	var e struct {
		Message string `json:"message"`
	}
	runs := fuzzTokenLike.FindAllString(string(body), -1)
	if json.Unmarshal(body, &e) == nil {
		runs = append(runs, fuzzTokenLike.FindAllString(e.Message, -1)...)
	}
	for _, run := range runs {
		if strings.Contains(rest, run) {
			t.Fatalf("Error() shows %q of the body: %q", run, text)
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
	backoff := newLoginCaller(&http.Client{}, RetryPolicy{}, nil).backoff
	resp := &http.Response{StatusCode: http.StatusTooManyRequests, Header: http.Header{"Retry-After": {v}}}
	if w := backoff(time.Millisecond, defaultMaxInterval, 0, resp); w < 0 || w > defaultMaxInterval {
		t.Fatalf("the wait for Retry-After %q is %v, outside [0, %v]", v, w, defaultMaxInterval)
	}
}

// FuzzSessionTokenSKD reads arbitrary strings as session tokens, bearer tokens
// and agent versions, and builds tokens and versions from the fuzzed values to
// check the answers both ways.
//
// sessionAllowsSKD is true only when the token is three dot-separated parts
// whose middle one is base64url JSON, an object whose (last)
// canUseSimplifiedKeyDelivery member is true, and it is true for every such
// token built here. bearerExpiry is zero or after 1970, the same with and
// without "Bearer ", and exactly exp for a built token. versionHasSKD agrees
// with a hand-written reading of the first "MAJOR.MINOR" in the string.
func FuzzSessionTokenSKD(f *testing.F) {
	b64 := base64.RawURLEncoding.EncodeToString
	const header = "eyJhbGciOiJSUzUxMiJ9"
	skdPayload := b64([]byte(`{"sub":"bot","canUseSimplifiedKeyDelivery":true,"exp":1767225600}`))
	for _, s := range []struct {
		token, claim string
		skd          bool
		exp          int64
		version      string
		major, minor uint16
	}{
		{header + "." + skdPayload + ".c2ln", "bot", true, 1767225600, "Agent-24.12.2-build", 24, 12},
		{header + "." + skdPayload + "==.c2ln", "", false, 0, "Agent-24.11.9", 24, 11},
		{"Bearer " + header + "." + b64([]byte(`{"exp":1767225600}`)) + ".c2ln", "x", true, -5, "25.1", 25, 0},
		{header + "." + b64([]byte(`{"canUseSimplifiedKeyDelivery":"true"}`)) + ".", "ü", false, 1, "v2.0.0 (24.12)", 2, 0},
		{header + "." + b64([]byte(`{"CANUSESIMPLIFIEDKEYDELIVERY":true}`)) + ".x", "", true, 1 << 62, "", 0, 0},
		{header + "." + b64([]byte(`{"canUseSimplifiedKeyDelivery":true,"canUseSimplifiedKeyDelivery":false}`)) + ".x", "", false, 0, "99999999999999999999.1", 65535, 65535},
		{header + "." + b64([]byte(`{"canUseSimplifiedKeyDelivery":true}trailing`)) + ".x", "", true, 0, "1.2.3.4", 23, 99},
		{header + "." + b64([]byte(`[true]`)) + ".x", "", false, 0, "Agent-", 100, 0},
		{"0123456789abcdef0123456789abcdef", "", false, 0, "24.12", 24, 12},
		{"a.b.c.d", "", false, 0, "24 12", 0, 12},
		{"..", "", false, 0, "٢٤.١٢", 30, 1},
		{"", "", false, 0, "", 0, 0},
	} {
		f.Add(s.token, s.skd, s.claim, s.exp, s.version, s.major, s.minor)
	}
	f.Fuzz(func(t *testing.T, token string, skd bool, claim string, exp int64, version string, major, minor uint16) {
		// Arbitrary strings.
		if got, want := sessionAllowsSKD(token), fuzzOracleAllowsSKD(token); got != want {
			t.Fatalf("sessionAllowsSKD(%q) = %v; the payload says %v", token, got, want)
		}
		var anything any
		if decodeJWTPayload(token, &anything) == nil && strings.Count(token, ".") != 2 {
			t.Fatalf("decodeJWTPayload(%q) accepted a token that is not three parts", token)
		}
		exp1 := bearerExpiry(token)
		if !exp1.IsZero() && exp1.Unix() <= 0 {
			t.Fatalf("bearerExpiry(%q) = %v, not after 1970", token, exp1)
		}
		if len(token) < len(bearerPrefix) || !strings.EqualFold(token[:len(bearerPrefix)], bearerPrefix) {
			if exp2 := bearerExpiry("bearer " + token); !exp2.Equal(exp1) {
				t.Fatalf("bearerExpiry differs with the Bearer prefix: %v, %v", exp1, exp2)
			}
		}
		if got, want := versionHasSKD(version), fuzzOracleVersionHasSKD(version); got != want {
			t.Fatalf("versionHasSKD(%q) = %v; want %v", version, got, want)
		}

		// Built tokens and versions.
		payload, err := json.Marshal(map[string]any{"sub": claim, "canUseSimplifiedKeyDelivery": skd, "exp": exp})
		if err != nil {
			t.Fatal(err)
		}
		built := "eyJhbGciOiJSUzUxMiJ9." + b64(payload) + ".c2ln"
		if got := sessionAllowsSKD(built); got != skd {
			t.Fatalf("sessionAllowsSKD of a token with canUseSimplifiedKeyDelivery %v = %v; payload %s", skd, got, payload)
		}
		wantExp := time.Time{}
		if exp > 0 {
			wantExp = time.Unix(exp, 0)
		}
		if got := bearerExpiry(bearerPrefix + built); !got.Equal(wantExp) {
			t.Fatalf("bearerExpiry with exp %d = %v; want %v", exp, got, wantExp)
		}
		v := "Agent-" + strconv.Itoa(int(major)) + "." + strconv.Itoa(int(minor)) + ".3-build"
		if got, want := versionHasSKD(v), major > skdMajor || major == skdMajor && minor >= skdMinor; got != want {
			t.Fatalf("versionHasSKD(%q) = %v; want %v", v, got, want)
		}
	})
}

// fuzzOracleAllowsSKD is sessionAllowsSKD written another way: split the token
// by hand, decode the payload, and walk its top-level members with a
// json.Decoder, the way encoding/json fills a struct (the last member whose
// name matches, ignoring case, wins; a non-boolean value is an error; an
// object member must be the whole document).
func fuzzOracleAllowsSKD(token string) bool {
	first := strings.IndexByte(token, '.')
	if first < 0 {
		return false
	}
	second := strings.IndexByte(token[first+1:], '.')
	if second < 0 || strings.Contains(token[first+1+second+1:], ".") {
		return false
	}
	seg := token[first+1 : first+1+second]
	for strings.HasSuffix(seg, "=") {
		seg = seg[:len(seg)-1]
	}
	payload, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil || !json.Valid(payload) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return false // null, an array or a scalar: never true
	}
	allowed := false
	for dec.More() {
		nameTok, err := dec.Token()
		if err != nil {
			return false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return false
		}
		if !strings.EqualFold(nameTok.(string), "canUseSimplifiedKeyDelivery") {
			continue
		}
		switch string(bytes.TrimSpace(value)) {
		case "true":
			allowed = true
		case "false":
			allowed = false
		case "null": // leaves the field as it is
		default:
			return false // a type mismatch fails the whole decode
		}
	}
	return allowed
}

// fuzzOracleVersionHasSKD reads the first "digits.digits" of v by hand: the
// first run of ASCII digits followed by a dot and another digit.
func fuzzOracleVersionHasSKD(v string) bool {
	isDigit := func(i int) bool { return i < len(v) && v[i] >= '0' && v[i] <= '9' }
	for i := 0; i < len(v); i++ {
		if !isDigit(i) || (i > 0 && isDigit(i-1)) {
			continue // not the start of a run
		}
		j := i
		for isDigit(j) {
			j++
		}
		if j >= len(v) || v[j] != '.' || !isDigit(j+1) {
			continue
		}
		k := j + 1
		for isDigit(k) {
			k++
		}
		major, err1 := strconv.Atoi(v[i:j])
		minor, err2 := strconv.Atoi(v[j+1 : k])
		if err1 != nil || err2 != nil {
			return false
		}
		return major > skdMajor || major == skdMajor && minor >= skdMinor
	}
	return false
}
