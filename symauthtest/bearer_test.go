package symauthtest

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// getBearer sends GET s.URL+path with the Authorization header and the key
// manager token ("" omits either).
func getBearer(t *testing.T, s *Server, path, authorization, km string) result {
	t.Helper()
	req := newRequest(t, http.MethodGet, s.URL+path, nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	setTokens(req, "", km)
	return do(t, s.Client(), req)
}

// loginAnswerOf posts a user RSA login and decodes the whole answer.
func loginAnswerOf(t *testing.T, s *Server, key *rsa.PrivateKey, name string) loginAnswer {
	t.Helper()
	r := postLogin(t, s, PathLogin, sign(t, key, name, s.now().Add(time.Minute)))
	var a loginAnswer
	if err := json.Unmarshal([]byte(r.body), &a); err != nil || r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	return a
}

// idmTokens posts to /login/idm/tokens with the session token.
func idmTokens(t *testing.T, s *Server, session string) result {
	t.Helper()
	req := newRequest(t, http.MethodPost, s.URL+PathIDMTokens, nil)
	setTokens(req, session, "")
	return do(t, s.Client(), req)
}

// bearerClaims verifies a bearer JWT as the server signs them (its alg, its
// key) and returns its claims.
func bearerClaims(t *testing.T, s *Server, token string) jwt.MapClaims {
	t.Helper()
	return serverClaims(t, s, token)
}

func TestLoginAnswersCarryBearer(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Options{Now: clock.Now, BearerLifetime: 2 * time.Minute})
	key := newUser(t, s, "bot")
	id, _ := s.UserID("bot")
	a := loginAnswerOf(t, s, key, "bot")
	bearer, ok := strings.CutPrefix(a.AuthorizationToken, "Bearer ")
	if !ok {
		t.Fatalf("authorizationToken = %q, want Bearer …", a.AuthorizationToken)
	}
	claims := bearerClaims(t, s, bearer)
	session := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(a.Token, session); err != nil {
		t.Fatal(err)
	}
	now := clock.Now().Unix()
	if claims["sub"] != "bot" || claims["userId"] != float64(id) || claims["sessionId"] != session["sessionId"] ||
		claims["iat"] != float64(now) || claims["exp"] != float64(now+120) {
		t.Errorf("bearer claims = %v; session claims %v", claims, session)
	}

	// Key manager logins carry none; certificate logins do.
	if r := postLogin(t, s, PathRelay, sign(t, key, "bot", clock.Now().Add(time.Minute))); strings.Contains(r.body, "authorizationToken") {
		t.Errorf("key manager answer: %s", r.body)
	}
	cert, err := s.IssueClientCertificate("bot")
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, http1Client(t, s, cert), newRequest(t, http.MethodPost, s.URL+PathSessionAuth, nil))
	if err := json.Unmarshal([]byte(r.body), &a); err != nil || !strings.HasPrefix(a.AuthorizationToken, "Bearer ") {
		t.Errorf("certificate login answer: %s", r.body)
	}
	if r := getBearer(t, s, PathSessionInfo, a.AuthorizationToken, ""); r.status != http.StatusOK {
		t.Errorf("bearer of a certificate session: %d %s", r.status, r.body)
	}
}

func TestBearerOnPodAndAgent(t *testing.T) {
	clock := newFakeClock()
	s, logs := startLogged(t, Options{Now: clock.Now})
	key := newUser(t, s, "bot")
	a := loginAnswerOf(t, s, key, "bot")
	kt := login(t, s, PathRelay, sign(t, key, "bot", clock.Now().Add(time.Minute)))
	otherKey := newUser(t, s, "other")
	_, otherKT := loginBoth(t, s, otherKey, "other")

	r := getBearer(t, s, PathSessionInfo, a.AuthorizationToken, "")
	if r.status != http.StatusOK || !strings.Contains(r.body, `"username":"bot"`) {
		t.Fatalf("sessioninfo with a bearer token: %d %s", r.status, r.body)
	}
	lower := "bearer " + strings.TrimPrefix(a.AuthorizationToken, "Bearer ")
	if r := getBearer(t, s, PathSessionInfo, lower, ""); r.status != http.StatusOK {
		t.Errorf("lower-case scheme: %d", r.status)
	}
	if r := getBearer(t, s, PathDatafeeds, a.AuthorizationToken, kt); r.status != http.StatusOK {
		t.Errorf("agent with a bearer token and keyManagerToken: %d %s", r.status, r.body)
	}

	forged := signClaims(t, jwt.SigningMethodRS512, key, jwt.MapClaims{"sub": "bot", "sessionId": "x", "exp": clock.Now().Add(time.Minute).Unix()})
	noSession := signWithServerKey(t, s, jwt.MapClaims{"sub": "bot", "exp": clock.Now().Add(time.Minute).Unix()})
	refusals := []struct {
		name, path, authorization, km, reason string
	}{
		{"agent without keyManagerToken", PathDatafeeds, a.AuthorizationToken, "", "no keyManagerToken header"},
		{"agent with another user's keyManagerToken", PathDatafeeds, a.AuthorizationToken, otherKT, `the key manager token belongs to user "other"`},
		{"no header", PathSessionInfo, "", "", "no sessionToken header and no Authorization header"},
		{"basic scheme", PathSessionInfo, "Basic Ym90OnB3", "", "the Authorization header is not a Bearer token"},
		{"empty bearer", PathSessionInfo, "Bearer ", "", "the Authorization header is not a Bearer token"},
		{"session token as bearer", PathSessionInfo, "Bearer " + a.Token, "", "the bearer token has no exp claim"},
		{"signed by another key", PathSessionInfo, "Bearer " + forged, "", "the bearer token is not a valid JWT signed by this server"},
		{"garbage", PathSessionInfo, "Bearer abc", "", "the bearer token is not a valid JWT signed by this server"},
		{"no sessionId", PathSessionInfo, "Bearer " + noSession, "", "the bearer token names no session"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, getBearer(t, s, tt.path, tt.authorization, tt.km), http.StatusUnauthorized, "Invalid session")
			logs.waitLine(t, "refused GET "+tt.path+": "+tt.reason)
		})
	}

	// A sessionToken header takes precedence over Authorization.
	req := newRequest(t, http.MethodGet, s.URL+PathSessionInfo, nil)
	req.Header.Set("Authorization", a.AuthorizationToken)
	setTokens(req, "bogus", "")
	wantError(t, do(t, s.Client(), req), http.StatusUnauthorized, "Invalid session")

	// Expiry, by the injected clock.
	clock.Advance(5*time.Minute - time.Second)
	if r := getBearer(t, s, PathSessionInfo, a.AuthorizationToken, ""); r.status != http.StatusOK {
		t.Errorf("bearer before its exp: %d", r.status)
	}
	clock.Advance(time.Second)
	wantError(t, getBearer(t, s, PathSessionInfo, a.AuthorizationToken, ""), http.StatusUnauthorized, "Invalid session")
	logs.waitLine(t, "refused GET /pod/v2/sessioninfo: bearer token expired")
	wantError(t, getBearer(t, s, PathDatafeeds, a.AuthorizationToken, kt), http.StatusUnauthorized, "Invalid session")
	logs.waitLine(t, "refused GET /agent/v5/datafeeds: bearer token expired")

	for _, line := range logs.all() {
		if strings.Contains(line, strings.TrimPrefix(a.AuthorizationToken, "Bearer ")) || strings.Contains(line, a.Token) {
			t.Fatalf("log line holds a token: %s", line)
		}
	}
}

// signWithServerKey signs claims as the server signs its session and bearer
// tokens: its alg, its key.
func signWithServerKey(t *testing.T, s *Server, claims jwt.MapClaims) string {
	t.Helper()
	var key any = s.tokenSigner.hmacKey
	if s.tokenSigner.hmacKey == nil {
		rsaKey, err := s.signer()
		if err != nil {
			t.Fatal(err)
		}
		key = rsaKey
	}
	return signClaims(t, s.tokenSigner.method, key, claims)
}

func TestBearerOfEndedSession(t *testing.T) {
	clock := newFakeClock()
	s, logs := startLogged(t, Options{Now: clock.Now, SessionLifetime: time.Hour, BearerLifetime: 2 * time.Hour})
	key := newUser(t, s, "bot")
	a := loginAnswerOf(t, s, key, "bot")
	if r := getBearer(t, s, PathSessionInfo, a.AuthorizationToken, ""); r.status != http.StatusOK {
		t.Fatalf("live: %d", r.status)
	}
	clock.Advance(time.Hour)
	wantError(t, getBearer(t, s, PathSessionInfo, a.AuthorizationToken, ""), http.StatusUnauthorized, "Invalid session")
	logs.waitLine(t, "the bearer token's session is unknown or has ended")

	s.SetSessionLifetime(0)
	if r := getBearer(t, s, PathSessionInfo, a.AuthorizationToken, ""); r.status != http.StatusOK {
		t.Fatalf("after lengthening the session lifetime: %d", r.status)
	}
	s.RevokeSessions()
	wantError(t, getBearer(t, s, PathSessionInfo, a.AuthorizationToken, ""), http.StatusUnauthorized, "Invalid session")
	logs.waitLine(t, "refused GET /pod/v2/sessioninfo: the bearer token's session is unknown or has ended")
}

func TestIDMTokens(t *testing.T) {
	clock := newFakeClock()
	s, logs := startLogged(t, Options{Now: clock.Now})
	key := newUser(t, s, "bot")
	id, _ := s.UserID("bot")
	a := loginAnswerOf(t, s, key, "bot")

	r := idmTokens(t, s, a.Token)
	var tok idmToken
	if err := json.Unmarshal([]byte(r.body), &tok); err != nil || r.status != http.StatusOK {
		t.Fatalf("idm/tokens: %d %s", r.status, r.body)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 300 || tok.AccessToken == "" || strings.HasPrefix(tok.AccessToken, "Bearer") {
		t.Errorf("idm/tokens answer = %+v", tok)
	}
	logs.waitLine(t, `bearer token issued: user "bot" (id `)
	if tok.AccessToken == strings.TrimPrefix(a.AuthorizationToken, "Bearer ") {
		t.Error("idm/tokens answered the login's bearer token, not a fresh one")
	}
	claims := bearerClaims(t, s, tok.AccessToken)
	if claims["sub"] != "bot" || claims["userId"] != float64(id) || claims["exp"] != float64(clock.Now().Unix()+300) {
		t.Errorf("access_token claims = %v", claims)
	}
	if r := getBearer(t, s, PathSessionInfo, "Bearer "+tok.AccessToken, ""); r.status != http.StatusOK {
		t.Errorf("the access_token on the pod: %d", r.status)
	}

	// SetBearerLifetime applies to bearer tokens issued from then on.
	s.SetBearerLifetime(90 * time.Second)
	if r := idmTokens(t, s, a.Token); !strings.Contains(r.body, `"expires_in":90`) {
		t.Errorf("after SetBearerLifetime: %s", r.body)
	}
	s.SetBearerLifetime(0)
	if r := idmTokens(t, s, a.Token); !strings.Contains(r.body, `"expires_in":300`) {
		t.Errorf("after SetBearerLifetime(0): %s", r.body)
	}

	appKey := newApp(t, s, "my-app")
	appSession := appLogin(t, s, appKey, "my-app")
	for _, tt := range []struct{ name, session, reason string }{
		{"no session", "", "no sessionToken header"},
		{"unknown session", "bogus", "the session token is unknown or has ended"},
		{"app session", appSession, "the session token is an app session; bearer tokens are for user sessions"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, idmTokens(t, s, tt.session), http.StatusUnauthorized, "Invalid session")
			logs.waitLine(t, "refused POST /login/idm/tokens: "+tt.reason)
		})
	}
	wantError(t, get(t, s, PathIDMTokens, a.Token, ""), http.StatusMethodNotAllowed, "use POST")
	s.RevokeSessions()
	wantError(t, idmTokens(t, s, a.Token), http.StatusUnauthorized, "Invalid session")
}

// errNoKey is the error of a signing key that cannot be made.
var errNoKey = errors.New("no entropy today")

func TestSigningKeyFailure(t *testing.T) {
	// A server whose RSA key cannot be made answers 500 where it needs the
	// key, and logs why: with RS512Tokens, at every session it issues.
	s, logs := startLogged(t, Options{RS512Tokens: true})
	s.signer = func() (*rsa.PrivateKey, error) { return nil, errNoKey }
	s.podCert = sync.OnceValues(s.makePodCert)
	key := newUser(t, s, "bot")
	appKey := newApp(t, s, "my-app")
	if err := s.InstallApp("my-app", "bot"); err != nil {
		t.Fatal(err)
	}
	j := sign(t, key, "bot", time.Now().Add(time.Minute))
	wantError(t, postLogin(t, s, PathLogin, j), http.StatusInternalServerError, "cannot issue a token")
	logs.waitLine(t, `login failed: user "bot" on /login/pubkey/authenticate: no entropy today`)
	login(t, s, PathRelay, j) // a key manager token needs no key

	wantError(t, postLogin(t, s, PathAppLogin, sign(t, appKey, "my-app", time.Now().Add(time.Minute))), http.StatusInternalServerError, "cannot issue a token")
	logs.waitLine(t, `app login failed: app "my-app"`)
	wantError(t, get(t, s, PathPodCert, "", ""), http.StatusInternalServerError, "cannot make the pod certificate")
	logs.waitLine(t, "pod certificate failed on /pod/v1/podcert: no entropy today")
	if _, err := s.IssueUserIdentityJWT("my-app", "bot", time.Minute); !errors.Is(err, errNoKey) {
		t.Errorf("IssueUserIdentityJWT = %v", err)
	}
	if _, reason := s.checkBearer("x", s.now()); !strings.Contains(reason, "no signing key") {
		t.Errorf("checkBearer reason = %q", reason)
	}

	// Sessions recorded by hand, as if issued before the key was lost.
	s.tokens.add(sessionKind, "user-session", grant{user: s.users.lookup("bot"), sessionID: "1", issued: s.now()}, s.now())
	s.tokens.add(sessionKind, "app-session", grant{app: "my-app", sessionID: "2", issued: s.now()}, s.now())
	wantError(t, idmTokens(t, s, "user-session"), http.StatusInternalServerError, "cannot issue a token")
	logs.waitLine(t, `bearer token failed: user "bot"`)
	wantError(t, oboPost(t, s, s.Client(), PathOBOUsername("bot"), "app-session"), http.StatusInternalServerError, "cannot issue a token")
	logs.waitLine(t, `on-behalf-of failed: app "my-app" for user "bot"`)
}
