package symauthtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestRSALoginJWTChecks(t *testing.T) {
	clock := newFakeClock()
	s, logs := startLogged(t, Options{Now: clock.Now})
	key := newUser(t, s, "bot")
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueClientCertificate("cert-only"); err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	exp := now.Add(4 * time.Minute).Unix()
	noTyp := jwt.NewWithClaims(jwt.SigningMethodRS512, jwt.MapClaims{"sub": "bot", "exp": exp})
	delete(noTyp.Header, "typ")
	noTypJWT, err := noTyp.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	payload := b64([]byte(`{"sub":"bot","exp":` + strconv.FormatInt(exp, 10) + `}`))

	tests := []struct {
		name string
		jwt  string
		want string // "" for success, else part of the 401 message
	}{
		{"RS512 sub exp", sign(t, key, "bot", now.Add(4*time.Minute)), ""},
		{"iat and typ", signClaims(t, jwt.SigningMethodRS512, key, jwt.MapClaims{"sub": "bot", "exp": exp, "iat": now.Unix()}), ""},
		{"no typ", noTypJWT, ""},
		{"unknown claims", signClaims(t, jwt.SigningMethodRS512, key, jwt.MapClaims{"sub": "bot", "exp": exp, "x": []int{1}}), ""},
		{"exp exactly 300 s ahead", sign(t, key, "bot", now.Add(300*time.Second)), ""},
		{"exp 301 s ahead", sign(t, key, "bot", now.Add(301*time.Second)), "more than the 5 minutes"},
		{"exp now", sign(t, key, "bot", now), "expired"},
		{"expired", sign(t, key, "bot", now.Add(-time.Second)), "expired"},
		{"no exp", signClaims(t, jwt.SigningMethodRS512, key, jwt.MapClaims{"sub": "bot"}), "no exp claim"},
		{"exp not a number", signClaims(t, jwt.SigningMethodRS512, key, jwt.MapClaims{"sub": "bot", "exp": "soon"}), "malformed claim"},
		{"nbf ahead", signClaims(t, jwt.SigningMethodRS512, key, jwt.MapClaims{"sub": "bot", "exp": exp, "nbf": exp}), "not valid yet"},
		{"RS256", signClaims(t, jwt.SigningMethodRS256, key, jwt.MapClaims{"sub": "bot", "exp": exp}), `algorithm "RS256" is not accepted`},
		{"HS256", signClaims(t, jwt.SigningMethodHS256, []byte("secret"), jwt.MapClaims{"sub": "bot", "exp": exp}), `algorithm "HS256" is not accepted`},
		{"none", signClaims(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "bot", "exp": exp}), `algorithm "none" is not accepted`},
		{"unknown alg", b64([]byte(`{"alg":"XY9"}`)) + "." + payload + ".c2ln", `algorithm "XY9" is not accepted`},
		{"no alg", b64([]byte(`{"typ":"JWT"}`)) + "." + payload + ".c2ln", "has no alg"},
		{"unknown user", sign(t, key, "ghost", now.Add(time.Minute)), `unknown user "ghost"`},
		{"no sub", signClaims(t, jwt.SigningMethodRS512, key, jwt.MapClaims{"exp": exp}), "no sub claim"},
		{"user without RSA key", sign(t, key, "cert-only", now.Add(time.Minute)), `user "cert-only" has no RSA public key`},
		{"bad signature", sign(t, other, "bot", now.Add(time.Minute)), `signature does not verify with the public key registered for user "bot"`},
		{"long unknown user name is cut", sign(t, key, strings.Repeat("g", 100), now.Add(time.Minute)), `unknown user "` + strings.Repeat("g", 64) + `..."`},
		{"not a JWT", "abc", "not a well-formed JWT"},
		{"bad base64", "a.b.c", "not a well-formed JWT"},
		{"empty", "", "has no token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{PathLogin, PathRelay} {
				r := postLogin(t, s, path, tt.jwt)
				if tt.want == "" {
					login(t, s, path, tt.jwt)
					continue
				}
				wantError(t, r, http.StatusUnauthorized, tt.want)
				if tt.jwt != "" && strings.Contains(r.body, tt.jwt) {
					t.Errorf("the answer echoes the JWT: %s", r.body)
				}
				logs.waitLine(t, "refused POST "+path+": ")
			}
		})
	}
	for _, line := range logs.all() {
		for _, tt := range tests {
			if len(tt.jwt) > 10 && strings.Contains(line, tt.jwt) {
				t.Errorf("log line holds a JWT: %s", line)
			}
		}
	}
}

func TestRSALoginRequestChecks(t *testing.T) {
	s, _ := startLogged(t, Options{})
	key := newUser(t, s, "bot")
	good := `{"token":"` + sign(t, key, "bot", time.Now().Add(time.Minute)) + `"}`
	post := func(path, contentType, body string) result {
		req := newRequest(t, http.MethodPost, s.URL+path, strings.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		return do(t, s.Client(), req)
	}
	for _, path := range []string{PathLogin, PathRelay} {
		if r := post(path, "application/json; charset=utf-8", good); r.status != http.StatusOK {
			t.Errorf("%s with charset: %d %s", path, r.status, r.body)
		}
		wantError(t, post(path, "text/plain", good), http.StatusUnsupportedMediaType, "application/json")
		wantError(t, post(path, "", good), http.StatusUnsupportedMediaType, "application/json")
		wantError(t, post(path, "application/json", "{"), http.StatusBadRequest, "JSON object")
		wantError(t, post(path, "application/json", `["x"]`), http.StatusBadRequest, "JSON object")
		wantError(t, post(path, "application/json", `{"token":"`+strings.Repeat("x", 70<<10)+`"}`), http.StatusRequestEntityTooLarge, "too large")
		wantError(t, post(path, "application/json", `{}`), http.StatusUnauthorized, "no token")

		r := do(t, s.Client(), newRequest(t, http.MethodGet, s.URL+path, nil))
		wantError(t, r, http.StatusMethodNotAllowed, "use POST")
		if got := r.header.Get("Allow"); got != http.MethodPost {
			t.Errorf("Allow = %q", got)
		}
	}
}

func TestLoginTokensAreNewAndShaped(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Options{Now: clock.Now})
	key := newUser(t, s, "bot")
	id, err := s.RegisterUser("bot", &key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	j := sign(t, key, "bot", clock.Now().Add(time.Minute))
	seen := map[string]bool{}
	for range 3 {
		st, kt := login(t, s, PathLogin, j), login(t, s, PathRelay, j)
		if seen[st] || seen[kt] {
			t.Fatal("a login answered a token already issued")
		}
		seen[st], seen[kt] = true, true
		if len(kt) != 128 || strings.Trim(kt, "0123456789abcdef") != "" {
			t.Errorf("key manager token is not 128 hex characters (len %d)", len(kt))
		}
		claims := serverClaims(t, s, st)
		if h := jwtHeader(t, st); h["typ"] != "JWT" || h["alg"] != "HS512" {
			t.Errorf("header = %v, want typ JWT, alg HS512", h)
		}
		if claims["sub"] != "bot" || claims["userId"] != float64(id) || claims["iat"] != float64(clock.Now().Unix()) {
			t.Errorf("claims = %v, want sub bot, userId %d, iat now", claims, id)
		}
		if sid, _ := claims["sessionId"].(string); len(sid) != 32 {
			t.Errorf("sessionId = %v", claims["sessionId"])
		}
		if _, ok := claims["canUseSimplifiedKeyDelivery"]; ok {
			t.Error("canUseSimplifiedKeyDelivery set without Options.SimplifiedKeyDelivery")
		}
	}
}
