package symauthtest

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

func TestPodSessionInfo(t *testing.T) {
	s, logs := startLogged(t, Options{})
	key := newUser(t, s, "bot")
	id, _ := s.RegisterUser("bot", &key.PublicKey)
	st, kt := loginBoth(t, s, key, "bot")

	r := get(t, s, PathSessionInfo, st, "")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("sessioninfo: %d %v %s", r.status, r.header, r.body)
	}
	var u userV2
	if err := json.Unmarshal([]byte(r.body), &u); err != nil {
		t.Fatal(err)
	}
	if u.ID != id || u.Username != "bot" || u.DisplayName == "" || u.EmailAddress != "bot@example.com" ||
		u.AccountType != "SYSTEM" || len(u.Roles) == 0 {
		t.Errorf("sessioninfo user = %+v", u)
	}

	wantError(t, get(t, s, PathSessionInfo, "", ""), http.StatusUnauthorized, "Invalid session")
	logs.waitLine(t, "refused GET /pod/v2/sessioninfo: no sessionToken header")
	wantError(t, get(t, s, PathSessionInfo, kt, ""), http.StatusUnauthorized, "Invalid session")
	logs.waitLine(t, "the session token is unknown or has ended")
	wantError(t, get(t, s, "/pod/v1/nothing", "", ""), http.StatusUnauthorized, "Invalid session")
	wantError(t, get(t, s, "/pod/v1/nothing", st, ""), http.StatusNotFound, "does not serve GET /pod/v1/nothing")
	wantError(t, do(t, s.Client(), withTokens(newRequest(t, http.MethodPost, s.URL+PathSessionInfo, nil), st, "")),
		http.StatusMethodNotAllowed, "use GET")

	// An e-mail style username is its own address.
	key2 := newUser(t, s, "bot2@acme.com")
	st2, _ := loginBoth(t, s, key2, "bot2@acme.com")
	if r := get(t, s, PathSessionInfo, st2, ""); !strings.Contains(r.body, `"emailAddress":"bot2@acme.com"`) {
		t.Errorf("sessioninfo: %s", r.body)
	}
}

func withTokens(req *http.Request, session, km string) *http.Request {
	setTokens(req, session, km)
	return req
}

func TestAgentTokenChecks(t *testing.T) {
	s, logs := startLogged(t, Options{})
	key := newUser(t, s, "bot")
	st, kt := loginBoth(t, s, key, "bot")
	otherKey := newUser(t, s, "other")
	ost, okt := loginBoth(t, s, otherKey, "other")

	if r := get(t, s, PathDatafeeds, st, kt); r.status != http.StatusOK || strings.TrimSpace(r.body) != "[]" {
		t.Fatalf("datafeeds: %d %s", r.status, r.body)
	}
	if r := get(t, s, PathDatafeeds, ost, okt); r.status != http.StatusOK {
		t.Fatalf("datafeeds of other: %d %s", r.status, r.body)
	}
	refusals := []struct {
		name, session, km, reason string
	}{
		{"no tokens", "", "", "no sessionToken header"},
		{"no key manager token", st, "", "no keyManagerToken header, and the session cannot use simplified key delivery"},
		{"session token as key manager token", st, st, "the key manager token is unknown or has ended"},
		{"key manager token as session token", kt, kt, "the session token is unknown or has ended"},
		{"tokens of two users", st, okt, `the key manager token belongs to user "other", the session token to user "bot"`},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{PathDatafeeds, "/agent/v9/unknown"} {
				wantError(t, get(t, s, path, tt.session, tt.km), http.StatusUnauthorized, "Invalid session")
				logs.waitLine(t, "refused GET "+path+": "+tt.reason)
			}
		})
	}
	wantError(t, get(t, s, "/agent/v9/unknown", st, kt), http.StatusNotFound, "does not serve")
	wantError(t, do(t, s.Client(), withTokens(newRequest(t, http.MethodPut, s.URL+PathDatafeeds, nil), st, kt)),
		http.StatusMethodNotAllowed, "use GET, POST")
	for _, line := range logs.all() {
		for _, tok := range []string{st, kt, ost, okt} {
			if strings.Contains(line, tok) {
				t.Fatalf("log line holds a token: %s", line)
			}
		}
	}
}

func TestAgentPublicEndpoints(t *testing.T) {
	s := start(t, Options{})
	r := get(t, s, PathAgentInfo, "", "")
	var info agentInfo
	if err := json.Unmarshal([]byte(r.body), &info); err != nil || r.status != http.StatusOK {
		t.Fatalf("info: %d %s %v", r.status, r.body, err)
	}
	if info.Version != DefaultAgentVersion || info.URL != s.URL+"/agent" {
		t.Errorf("info = %+v", info)
	}
	s2 := start(t, Options{AgentVersion: "Agent-24.6.1-200"})
	if r := get(t, s2, PathAgentInfo, "", ""); !strings.Contains(r.body, `"version":"Agent-24.6.1-200"`) {
		t.Errorf("info with AgentVersion: %s", r.body)
	}

	r = get(t, s, PathHealth, "", "")
	var h struct {
		Status   string
		Version  string
		Services map[string]struct{ Status string }
		Users    map[string]struct{ Status, AuthType string }
	}
	if err := json.Unmarshal([]byte(r.body), &h); err != nil || r.status != http.StatusOK {
		t.Fatalf("health: %d %s %v", r.status, r.body, err)
	}
	if h.Status != "UP" || h.Version != "25.10.1-1042" || h.Services["pod"].Status != "UP" ||
		h.Services["key_manager"].Status != "UP" || h.Users["agentservice"].AuthType != "RSA" {
		t.Errorf("health = %+v", h)
	}
	if r := get(t, s, pathHealthV3, "", ""); r.status != http.StatusOK || !strings.Contains(r.body, `"status":"UP"`) {
		t.Errorf("v3 health: %d %s", r.status, r.body)
	}
	wantError(t, do(t, s.Client(), newRequest(t, http.MethodDelete, s.URL+PathAgentInfo, nil)), http.StatusMethodNotAllowed, "use GET")
}

func TestSimplifiedKeyDelivery(t *testing.T) {
	s := start(t, Options{SimplifiedKeyDelivery: true})
	key := newUser(t, s, "bot")
	st, kt := loginBoth(t, s, key, "bot")

	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(st, claims); err != nil {
		t.Fatal(err)
	}
	if claims["canUseSimplifiedKeyDelivery"] != true {
		t.Fatalf("session token claims %v lack canUseSimplifiedKeyDelivery", claims)
	}
	if r := get(t, s, PathDatafeeds, st, ""); r.status != http.StatusOK {
		t.Errorf("SKD session without key manager token: %d %s", r.status, r.body)
	}
	if r := get(t, s, PathDatafeeds, st, kt); r.status != http.StatusOK {
		t.Errorf("SKD session with key manager token: %d %s", r.status, r.body)
	}
	wantError(t, get(t, s, PathDatafeeds, st, "bogus"), http.StatusUnauthorized, "Invalid session")
}

// multipartBody builds a message create body from field pairs.
func multipartBody(t *testing.T, fields ...string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for i := 0; i+1 < len(fields); i += 2 {
		if err := mw.WriteField(fields[i], fields[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return &buf, mw.FormDataContentType()
}

func TestMessageCreate(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Options{Now: clock.Now})
	key := newUser(t, s, "bot")
	id, _ := s.RegisterUser("bot", &key.PublicKey)
	st, kt := loginBoth(t, s, key, "bot")
	url := s.URL + "/agent/v4/stream/abc-DEF_123/message/create"
	send := func(url, contentType string, body *bytes.Buffer, session, km string) result {
		req := newRequest(t, http.MethodPost, url, body)
		req.Header.Set("Content-Type", contentType)
		return do(t, s.Client(), withTokens(req, session, km))
	}

	body, ct := multipartBody(t, "message", "<messageML>Hello</messageML>", "data", `{"a":1}`)
	r := send(url, ct, body, st, kt)
	if r.status != http.StatusOK {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var m v4Message
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatal(err)
	}
	if m.MessageID == "" || m.Timestamp != clock.Now().UnixMilli() || m.Message != "<messageML>Hello</messageML>" ||
		m.Data != `{"a":1}` || m.Stream.StreamID != "abc-DEF_123" || m.User.UserID != id || m.User.Username != "bot" {
		t.Errorf("message = %+v", m)
	}

	body, ct = multipartBody(t, "message", "<messageML>Hi</messageML>")
	if r := send(url, ct, body, st, kt); !strings.Contains(r.body, `"data":"{}"`) {
		t.Errorf("create without data: %s", r.body)
	}
	body, ct = multipartBody(t, "message", "x")
	wantError(t, send(url, ct, body, st, ""), http.StatusUnauthorized, "Invalid session")
	body, ct = multipartBody(t, "data", "{}")
	wantError(t, send(url, ct, body, st, kt), http.StatusBadRequest, "message field is required")
	wantError(t, send(url, "application/json", bytes.NewBufferString(`{"message":"x"}`), st, kt),
		http.StatusUnsupportedMediaType, "multipart/form-data")
	wantError(t, send(url, "multipart/form-data; boundary=zz", bytes.NewBufferString("garbage"), st, kt),
		http.StatusBadRequest, "malformed multipart")
	body, ct = multipartBody(t, "message", strings.Repeat("x", maxMessageBody))
	wantError(t, send(url, ct, body, st, kt), http.StatusRequestEntityTooLarge, "too large")
	wantError(t, get(t, s, "/agent/v4/stream/abc/message/create", st, kt), http.StatusMethodNotAllowed, "use POST")
	for _, bad := range []string{"/agent/v4/stream//message/create", "/agent/v4/stream/a/b/message/create", "/agent/v4/stream/a/message/update"} {
		body, ct = multipartBody(t, "message", "x")
		wantError(t, send(s.URL+bad, ct, body, st, kt), http.StatusNotFound, "does not serve")
	}
}

func TestUnknownPaths(t *testing.T) {
	s, logs := startLogged(t, Options{})
	for _, path := range []string{"/", "/login/v1/unknown", "/podx", "/relay"} {
		wantError(t, get(t, s, path, "", ""), http.StatusNotFound, "does not serve GET "+path)
		logs.waitLine(t, "refused GET "+path+": no such endpoint")
	}
}
