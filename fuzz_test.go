package symauth

// Fuzz target of the unverified reads of session and bearer JWTs (the login
// answer decoder's is in internal/login).
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
	"strconv"
	"strings"
	"testing"
	"time"
)

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

// fuzzOracleVersionHasSKD reads a version as BDK Java does, without a regular
// expression: "Agent-", digits, ".", digits, "." and anything; 24.12 or later.
func fuzzOracleVersionHasSKD(v string) bool {
	rest, ok := strings.CutPrefix(v, "Agent-")
	if !ok {
		return false
	}
	digits := func(s string) (string, string) {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return s[:i], s[i:]
	}
	majorText, rest := digits(rest)
	if majorText == "" || !strings.HasPrefix(rest, ".") {
		return false
	}
	minorText, rest := digits(rest[1:])
	if minorText == "" || !strings.HasPrefix(rest, ".") {
		return false
	}
	major, err1 := strconv.Atoi(majorText)
	minor, err2 := strconv.Atoi(minorText)
	if err1 != nil || err2 != nil {
		return false
	}
	return major > skdMajor || major == skdMajor && minor >= skdMinor
}
