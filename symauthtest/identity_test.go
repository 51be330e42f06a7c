package symauthtest

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// podCertKey fetches GET /pod/v1/podcert without a token and returns the
// certificate's RSA public key, checking that it chains to the server's CA.
func podCertKey(t *testing.T, s *Server) *rsa.PublicKey {
	t.Helper()
	r := get(t, s, PathPodCert, "", "")
	var pc podCertificate
	if err := json.Unmarshal([]byte(r.body), &pc); err != nil || r.status != http.StatusOK {
		t.Fatalf("podcert: %d %s", r.status, r.body)
	}
	block, rest := pem.Decode([]byte(pc.Certificate))
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) != 0 {
		t.Fatalf("podcert is not one PEM certificate: %q", pc.Certificate)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: s.CertPool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("podcert does not chain to the CA: %v", err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		t.Fatalf("podcert key is %T", cert.PublicKey)
	}
	return pub
}

func TestPodCertVerifiesIdentityJWT(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Options{Now: clock.Now})
	newApp(t, s, "my-app")
	newUser(t, s, "jane.doe@acme.com")
	id, _ := s.UserID("jane.doe@acme.com")

	raw, err := s.IssueUserIdentityJWT("my-app", "jane.doe@acme.com", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	pub := podCertKey(t, s)
	var claims struct {
		jwt.RegisteredClaims
		Sub  json.Number  `json:"sub"` // a JSON number, as real pods write it
		User identityUser `json:"user"`
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{"RS512"}),
		jwt.WithTimeFunc(clock.Now),
		jwt.WithAudience("my-app"),
		jwt.WithIssuer("Symphony Communication Services LLC."),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
	)
	if _, err := parser.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
		t.Fatalf("identity JWT does not verify with the podcert key: %v", err)
	}
	if claims.Sub.String() != strconv.FormatInt(id, 10) || !claims.ExpiresAt.Equal(clock.Now().Add(10*time.Minute).Truncate(time.Second)) {
		t.Errorf("claims = %+v", claims.RegisteredClaims)
	}
	u := claims.User
	if u.ID != id || u.Username != "jane.doe@acme.com" || u.EmailAddress != "jane.doe@acme.com" ||
		u.FirstName != "jane" || u.LastName != "doe" || u.DisplayName == "" || u.Company == "" ||
		u.CompanyID == "" || u.Location == "" || !strings.HasPrefix(u.AvatarURL, "https://") || u.AvatarSmallURL == "" {
		t.Errorf("user claim = %+v", u)
	}
	// All the listed fields are present in the JSON.
	payload := map[string]any{}
	if _, _, err := jwt.NewParser().ParseUnverified(raw, jwt.MapClaims(payload)); err != nil {
		t.Fatal(err)
	}
	if _, isNumber := payload["sub"].(float64); !isNumber {
		t.Errorf("sub is %T; real pods write a JSON number", payload["sub"])
	}
	user, _ := payload["user"].(map[string]any)
	for _, k := range []string{"id", "emailAddress", "username", "firstName", "lastName", "displayName", "company", "companyId", "location", "avatarUrl", "avatarSmallUrl"} {
		if _, ok := user[k]; !ok {
			t.Errorf("user claim lacks %s", k)
		}
	}

	// Expiry follows the injected clock.
	clock.Advance(10 * time.Minute)
	if _, err := parser.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return pub, nil }); err == nil {
		t.Error("identity JWT still valid after its lifetime")
	}

	// The certificate is stable. (Session tokens verify with it only with
	// Options.RS512Tokens: TestRS512Tokens.)
	if r1, r2 := get(t, s, PathPodCert, "", ""), get(t, s, PathPodCert, "", ""); r1.body != r2.body {
		t.Error("podcert changed between calls")
	}
	wantError(t, do(t, s.Client(), newRequest(t, http.MethodPost, s.URL+PathPodCert, nil)), http.StatusMethodNotAllowed, "use GET")
}

func TestIssueUserIdentityJWTErrors(t *testing.T) {
	s := start(t, Options{})
	newApp(t, s, "my-app")
	newUser(t, s, "bot")
	if _, err := s.IssueUserIdentityJWT("ghost-app", "bot", time.Minute); err == nil || !strings.Contains(err.Error(), `unknown app "ghost-app"`) {
		t.Errorf("unknown app: %v", err)
	}
	if _, err := s.IssueUserIdentityJWT("my-app", "ghost", time.Minute); err == nil || !strings.Contains(err.Error(), `unknown user "ghost"`) {
		t.Errorf("unknown user: %v", err)
	}
	for name, want := range map[string][2]string{"bot": {"bot", ""}, "a_b": {"a", "b"}, "x-": {"x-", ""}, ".x": {".x", ""}} {
		if f, l := nameParts(name); f != want[0] || l != want[1] {
			t.Errorf("nameParts(%q) = %q, %q", name, f, l)
		}
	}
}

// extensionPost posts an extension app login body.
func extensionPost(t *testing.T, s *Server, body any) result {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := newRequest(t, http.MethodPost, s.URL+PathExtensionApp, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return do(t, s.Client(), req)
}

func TestExtensionApp(t *testing.T) {
	clock := newFakeClock()
	s, logs := startLogged(t, Options{Now: clock.Now})
	key := newApp(t, s, "ext-app")
	userKey := newUser(t, s, "bot")
	good := sign(t, key, "ext-app", clock.Now().Add(4*time.Minute))

	r := extensionPost(t, s, extensionAppRequest{AppToken: "app-token-1", AuthToken: good})
	var a extensionAppTokens
	if err := json.Unmarshal([]byte(r.body), &a); err != nil || r.status != http.StatusOK {
		t.Fatalf("extension app: %d %s", r.status, r.body)
	}
	if a.AppID != "ext-app" || a.AppToken != "app-token-1" || len(a.SymphonyToken) < 32 ||
		a.ExpireAt != clock.Now().Add(time.Hour).UnixMilli() {
		t.Errorf("answer = %+v", a)
	}
	for _, k := range []string{`"appId"`, `"appToken"`, `"symphonyToken"`, `"expireAt"`} {
		if !strings.Contains(r.body, k) {
			t.Errorf("answer lacks %s: %s", k, r.body)
		}
	}
	logs.waitLine(t, `extension app login ok: app "ext-app"`)
	r2 := extensionPost(t, s, extensionAppRequest{AppToken: "app-token-2", AuthToken: good})
	if strings.Contains(r2.body, a.SymphonyToken) {
		t.Error("two logins answered the same symphonyToken")
	}

	for _, tt := range []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"no appToken", extensionAppRequest{AuthToken: good}, 400, "appToken is required"},
		{"no authToken", extensionAppRequest{AppToken: "x"}, 401, "has no token"},
		{"unknown app", extensionAppRequest{AppToken: "x", AuthToken: sign(t, key, "other", clock.Now().Add(time.Minute))}, 401, `unknown app "other"`},
		{"wrong key", extensionAppRequest{AppToken: "x", AuthToken: sign(t, userKey, "ext-app", clock.Now().Add(time.Minute))}, 401, "signature does not verify"},
		{"a user's JWT", extensionAppRequest{AppToken: "x", AuthToken: sign(t, userKey, "bot", clock.Now().Add(time.Minute))}, 401, `unknown app "bot"`},
		{"not an object", []string{"x"}, 400, `{"appToken":"…","authToken":"<jwt>"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, extensionPost(t, s, tt.body), tt.status, tt.msg)
			logs.waitLine(t, "refused POST "+PathExtensionApp+": ")
		})
	}
	for _, line := range logs.all() {
		if strings.Contains(line, a.SymphonyToken) || strings.Contains(line, good) {
			t.Fatalf("log line holds a token: %s", line)
		}
	}
}

func TestNewPathsCountAndFault(t *testing.T) {
	s := start(t, Options{})
	for _, path := range []string{PathAppLogin, PathCertAppLogin, PathIDMTokens, PathExtensionApp, PathPodCert, PathOBOUser(7), PathCertOBOUsername("x y")} {
		s.InjectFault(path, Fault{Status: http.StatusTooManyRequests, Times: 1})
		req := newRequest(t, http.MethodPost, s.URL+path, nil)
		if r := do(t, s.Client(), req); r.status != http.StatusTooManyRequests {
			t.Errorf("%s: fault not applied: %d", path, r.status)
		}
		if r := do(t, s.Client(), newRequest(t, http.MethodPost, s.URL+path, nil)); r.status == http.StatusTooManyRequests {
			t.Errorf("%s: fault applied twice", path)
		}
		if n := s.Calls(path); n != 2 {
			t.Errorf("Calls(%s) = %d", path, n)
		}
	}
}
