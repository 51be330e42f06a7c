package symauthtest

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// serverClaims verifies token (a session or bearer token) as the server signs
// them, its alg and key, and returns its claims.
func serverClaims(t *testing.T, s *Server, token string) jwt.MapClaims {
	t.Helper()
	key, err := s.tokenVerifyKey()
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{s.tokenSigner.method.Alg()}), jwt.WithTimeFunc(s.now)).ParseWithClaims(
		token, claims, func(*jwt.Token) (any, error) { return key, nil })
	if err != nil {
		t.Fatalf("token does not verify as the server signs: %v", err)
	}
	return claims
}

// jwtPart decodes part i (0: header, 1: payload) of a JWT as a client does:
// base64url, no signature check.
func jwtPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatalf("part %d is not base64url: %v", i, err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("part %d is not a JSON object: %v", i, err)
	}
	return m
}

func jwtHeader(t *testing.T, token string) map[string]any  { return jwtPart(t, token, 0) }
func jwtPayload(t *testing.T, token string) map[string]any { return jwtPart(t, token, 1) }

// withPayload returns token with its payload replaced by claims, the header
// and signature kept: a forgery.
func withPayload(t *testing.T, token string, claims map[string]any) string {
	t.Helper()
	raw, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2]
}

func TestTokensSignedHS512ByDefault(t *testing.T) {
	clock := newFakeClock()
	s, logs := startLogged(t, Options{Now: clock.Now})
	key := newUser(t, s, "bot")
	a := loginAnswerOf(t, s, key, "bot")
	other := loginAnswerOf(t, s, newUser(t, s, "other"), "other")
	bearer := strings.TrimPrefix(a.AuthorizationToken, "Bearer ")
	for name, tok := range map[string]string{"session": a.Token, "bearer": bearer} {
		if h := jwtHeader(t, tok); h["alg"] != "HS512" || h["typ"] != "JWT" || len(h) != 2 {
			t.Errorf("%s token header = %v, want alg HS512, typ JWT", name, h)
		}
		serverClaims(t, s, tok)
	}

	// Another server's key does not verify them, and its bearer tokens are
	// refused here, though they name a user and the shape is the same.
	s2 := start(t, Options{Now: clock.Now})
	if _, err := jwt.Parse(bearer, func(*jwt.Token) (any, error) { return s2.tokenSigner.hmacKey, nil }); !errors.Is(err, jwt.ErrTokenSignatureInvalid) {
		t.Errorf("verified with another server's key: %v", err)
	}
	if _, err := s2.RegisterUser("bot", &key.PublicKey); err != nil {
		t.Fatal(err)
	}
	elsewhere := loginAnswerOf(t, s2, key, "bot")

	// A forged payload naming another live session, an unsigned token, and
	// an RS512 token signed with the server's RSA key (the pod certificate's)
	// are refused.
	forged := jwtPayload(t, bearer)
	forged["sessionId"] = jwtPayload(t, other.Token)["sessionId"]
	unsigned, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
		"sub": "bot", "sessionId": jwtPayload(t, a.Token)["sessionId"], "exp": clock.Now().Add(time.Minute).Unix(),
	}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := s.signer()
	if err != nil {
		t.Fatal(err)
	}
	podSigned := signClaims(t, jwt.SigningMethodRS512, rsaKey, jwt.MapClaims(jwtPayload(t, bearer)))
	for name, tok := range map[string]string{
		"another server's": strings.TrimPrefix(elsewhere.AuthorizationToken, "Bearer "),
		"altered payload":  withPayload(t, bearer, forged),
		"alg none":         unsigned,
		"RS512, pod key":   podSigned,
	} {
		t.Run(name, func(t *testing.T) {
			wantError(t, getBearer(t, s, PathSessionInfo, "Bearer "+tok, ""), http.StatusUnauthorized, "Invalid session")
			logs.waitLine(t, "refused GET /pod/v2/sessioninfo: the bearer token is not a valid JWT signed by this server")
		})
	}
	if r := getBearer(t, s, PathSessionInfo, a.AuthorizationToken, ""); r.status != http.StatusOK {
		t.Errorf("the genuine bearer token: %d %s", r.status, r.body)
	}
}

func TestRS512Tokens(t *testing.T) {
	// With RS512Tokens, session and bearer tokens are signed as a real pod
	// signs them: RS512, verifiable with the pod certificate.
	clock := newFakeClock()
	s, logs := startLogged(t, Options{Now: clock.Now, RS512Tokens: true, SimplifiedKeyDelivery: true})
	a := loginAnswerOf(t, s, newUser(t, s, "bot"), "bot")
	pub := podCertKey(t, s)
	bearer := strings.TrimPrefix(a.AuthorizationToken, "Bearer ")
	for name, tok := range map[string]string{"session": a.Token, "bearer": bearer} {
		if h := jwtHeader(t, tok); h["alg"] != "RS512" || h["typ"] != "JWT" {
			t.Errorf("%s token header = %v, want alg RS512, typ JWT", name, h)
		}
		claims := jwt.MapClaims{}
		_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS512"}), jwt.WithTimeFunc(clock.Now)).ParseWithClaims(
			tok, claims, func(*jwt.Token) (any, error) { return pub, nil })
		if err != nil {
			t.Errorf("%s token does not verify with the pod certificate: %v", name, err)
		}
		if claims["sub"] != "bot" || claims["sessionId"] == nil {
			t.Errorf("%s token claims = %v", name, claims)
		}
	}
	if r := getBearer(t, s, PathSessionInfo, a.AuthorizationToken, ""); r.status != http.StatusOK {
		t.Errorf("the bearer token on the pod: %d %s", r.status, r.body)
	}
	r := idmTokens(t, s, a.Token)
	var fresh idmToken
	if err := json.Unmarshal([]byte(r.body), &fresh); err != nil || jwtHeader(t, fresh.AccessToken)["alg"] != "RS512" {
		t.Errorf("idm/tokens: %d %s", r.status, r.body)
	}

	// HS512 is refused: a token of a default server, and one "signed" with
	// the pod certificate's PEM as an HMAC key (alg confusion).
	pem := jsonField(t, get(t, s, PathPodCert, "", "").body, "certificate")
	confused := signClaims(t, jwt.SigningMethodHS512, []byte(pem), jwt.MapClaims(jwtPayload(t, bearer)))
	plain := start(t, Options{Now: clock.Now})
	plainBearer := signWithServerKey(t, plain, jwt.MapClaims(jwtPayload(t, bearer)))
	for name, tok := range map[string]string{"pod certificate as HMAC key": confused, "HS512 of a default server": plainBearer} {
		t.Run(name, func(t *testing.T) {
			wantError(t, getBearer(t, s, PathSessionInfo, "Bearer "+tok, ""), http.StatusUnauthorized, "Invalid session")
			logs.waitLine(t, "refused GET /pod/v2/sessioninfo: the bearer token is not a valid JWT signed by this server")
		})
	}
}

// jsonField returns the string field name of the JSON object body.
func jsonField(t *testing.T, body, name string) string {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("not a JSON object: %s", body)
	}
	v, _ := m[name].(string)
	return v
}

func TestTokenPayloadsDecodeUnverified(t *testing.T) {
	// Either way, a client decodes what SDKs read without verifying: the
	// session token's SKD claim, the bearer token's exp.
	for _, rs512 := range []bool{false, true} {
		clock := newFakeClock()
		s := start(t, Options{Now: clock.Now, RS512Tokens: rs512, SimplifiedKeyDelivery: true, BearerLifetime: time.Minute})
		key := newUser(t, s, "bot")
		id, _ := s.UserID("bot")
		a := loginAnswerOf(t, s, key, "bot")
		session := jwtPayload(t, a.Token)
		if session["canUseSimplifiedKeyDelivery"] != true || session["sub"] != "bot" || session["userId"] != float64(id) ||
			session["iat"] != float64(clock.Now().Unix()) || len(session["sessionId"].(string)) != 32 {
			t.Errorf("RS512Tokens %v: session payload = %v", rs512, session)
		}
		bearer := jwtPayload(t, strings.TrimPrefix(a.AuthorizationToken, "Bearer "))
		if bearer["exp"] != float64(clock.Now().Add(time.Minute).Unix()) || bearer["sessionId"] != session["sessionId"] {
			t.Errorf("RS512Tokens %v: bearer payload = %v", rs512, bearer)
		}
		s.SetSimplifiedKeyDelivery(false)
		if _, ok := jwtPayload(t, loginAnswerOf(t, s, key, "bot").Token)["canUseSimplifiedKeyDelivery"]; ok {
			t.Errorf("RS512Tokens %v: canUseSimplifiedKeyDelivery without SKD", rs512)
		}
	}
}

func TestDefaultLoginNeedsNoRSAKey(t *testing.T) {
	// Without RS512Tokens no login makes or uses the server's RSA key: a
	// server whose key cannot be made still logs users in and accepts their
	// bearer tokens; only what needs the key (the pod certificate) fails.
	s := start(t, Options{})
	var mu sync.Mutex
	calls := 0
	s.signer = func() (*rsa.PrivateKey, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		return nil, errNoKey
	}
	s.podCert = sync.OnceValues(s.makePodCert)
	a := loginAnswerOf(t, s, newUser(t, s, "bot"), "bot")
	if r := getBearer(t, s, PathSessionInfo, a.AuthorizationToken, ""); r.status != http.StatusOK {
		t.Errorf("bearer token: %d %s", r.status, r.body)
	}
	if r := idmTokens(t, s, a.Token); r.status != http.StatusOK {
		t.Errorf("idm/tokens: %d %s", r.status, r.body)
	}
	mu.Lock()
	if calls != 0 {
		t.Errorf("the RSA key was asked for %d times", calls)
	}
	mu.Unlock()
	wantError(t, get(t, s, PathPodCert, "", ""), http.StatusInternalServerError, "cannot make the pod certificate")
}
