package symauthtest

import (
	"crypto/rand"
	"encoding/base64"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Header names of the tokens on pod and agent calls.
const (
	headerSessionToken    = "sessionToken"
	headerKeyManagerToken = "keyManagerToken"
	invalidSession        = "Invalid session"
	maxMessageBody        = 8 << 20 // bytes read from a message create request
)

// userV2 is the pod's UserV2, as GET /pod/v2/sessioninfo and GET
// /pod/v3/users answer it.
type userV2 struct {
	ID           int64    `json:"id"`
	EmailAddress string   `json:"emailAddress"`
	FirstName    string   `json:"firstName,omitempty"`
	LastName     string   `json:"lastName,omitempty"`
	DisplayName  string   `json:"displayName"`
	Company      string   `json:"company"`
	Username     string   `json:"username"`
	AccountType  string   `json:"accountType"`
	Roles        []string `json:"roles"`
}

// userV2Of describes u as the pod does.
func userV2Of(u *user) userV2 {
	first, last := nameParts(u.name)
	return userV2{
		ID:           u.id,
		EmailAddress: emailOf(u),
		FirstName:    first,
		LastName:     last,
		DisplayName:  u.name,
		Company:      identityCompany,
		Username:     u.name,
		AccountType:  "SYSTEM",
		Roles:        []string{"INDIVIDUAL"},
	}
}

// handlePod serves every path under /pod/ (but PathPodCert) after checking
// the session.
func (s *Server) handlePod(w http.ResponseWriter, r *http.Request) {
	g, ok := s.authorize(w, r, false)
	if !ok {
		return
	}
	switch r.URL.Path {
	case PathSessionInfo:
		s.getOnly(w, r, func() any { return userV2Of(g.user) })
	case PathUsers:
		if r.Method != http.MethodGet {
			s.methodNotAllowed(w, r, http.MethodGet)
			return
		}
		s.searchUsers(w, r)
	case PathIMCreate:
		s.handleIMCreate(w, r, g)
	default:
		s.notFound(w, r)
	}
}

// emailOf returns u's e-mail address: an e-mail style username is its own
// address, and other names are at example.com.
func emailOf(u *user) string {
	if strings.Contains(u.name, "@") {
		return u.name
	}
	return u.name + "@example.com"
}

// handleAgent serves every path under /agent/. The info and health endpoints
// need no token (their specs declare none: a client asks the agent version
// before deciding whether to log in to the key manager); the others need a
// live user session and key manager token of the same user (see authorize).
func (s *Server) handleAgent(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case PathAgentInfo:
		s.getOnly(w, r, s.agentInfo)
		return
	case PathHealth:
		s.getOnly(w, r, s.extendedHealth)
		return
	case pathHealthV3:
		s.getOnly(w, r, func() any { return healthStatus{Status: "UP"} })
		return
	}
	g, ok := s.authorize(w, r, true)
	if !ok {
		return
	}
	if r.URL.Path == PathDatafeeds || strings.HasPrefix(r.URL.Path, datafeedPrefix) {
		s.handleDatafeeds(w, r, g)
		return
	}
	if sid, ok := streamID(r.URL.Path); ok {
		s.createMessage(w, r, g, sid)
		return
	}
	s.notFound(w, r)
}

// getOnly answers a GET with 200 and answer(), any other method with 405.
func (s *Server) getOnly(w http.ResponseWriter, r *http.Request, answer func() any) {
	if r.Method != http.MethodGet {
		s.methodNotAllowed(w, r, http.MethodGet)
		return
	}
	writeJSON(w, http.StatusOK, answer())
}

// authorize checks the request's tokens: a live user session, named by the
// sessionToken header or by an Authorization: Bearer token, and, for the
// agent, a live key manager token of the same user (absent only for a session
// that can use simplified key delivery, or an on-behalf-of session). On
// failure it logs the reason and answers 401. On success it plays the
// path's AfterAuth fault, if any, and reports false if that answered.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, agent bool) (grant, bool) {
	g, reason := s.checkTokens(r, agent)
	if reason != "" {
		s.refuse(r, reason)
		writeError(w, http.StatusUnauthorized, invalidSession)
		return grant{}, false
	}
	if s.afterAuth(w, r, r.URL.Path) {
		return grant{}, false
	}
	return g, true
}

// checkTokens returns the session's grant, or why the tokens are refused.
func (s *Server) checkTokens(r *http.Request, agent bool) (grant, string) {
	now := s.now()
	g, reason := s.session(r, now)
	if reason != "" {
		return grant{}, reason
	}
	if g.user == nil {
		// What real pods allow an app session is not documented; none of
		// the endpoints this fake serves is meant for one.
		return grant{}, "the session token is an app session; the pod and agent APIs here need a user session"
	}
	if !agent {
		return g, ""
	}
	kt := r.Header.Get(headerKeyManagerToken)
	if kt == "" {
		if g.skd || g.obo() {
			return g, ""
		}
		return grant{}, "no keyManagerToken header, and the session cannot use simplified key delivery and is not on behalf of a user"
	}
	kg, ok := s.tokens.lookup(keyManagerKind, kt, now)
	if !ok {
		return grant{}, "the key manager token is unknown or has ended"
	}
	if kg.user.name != g.user.name {
		return grant{}, "the key manager token belongs to user " + shown(kg.user.name) +
			", the session token to user " + shown(g.user.name)
	}
	return g, ""
}

// session returns the grant of the request's session: the sessionToken
// header's or, when there is none, the one an Authorization: Bearer token
// belongs to (as BDK's Common JWT mode sends instead of sessionToken).
func (s *Server) session(r *http.Request, now time.Time) (grant, string) {
	if r.Header.Get(headerSessionToken) != "" {
		return s.sessionFromHeader(r, now)
	}
	auth := r.Header.Get(headerAuthorization)
	if auth == "" {
		return grant{}, "no sessionToken header and no Authorization header"
	}
	raw, ok := bearerToken(auth)
	if !ok {
		return grant{}, "the Authorization header is not a Bearer token"
	}
	return s.checkBearer(raw, now)
}

// sessionFromHeader returns the grant of the live session token in the
// sessionToken header (of a user, an app or on-behalf-of), or why there is
// none.
func (s *Server) sessionFromHeader(r *http.Request, now time.Time) (grant, string) {
	st := r.Header.Get(headerSessionToken)
	if st == "" {
		return grant{}, "no sessionToken header"
	}
	g, ok := s.tokens.lookup(sessionKind, st, now)
	if !ok {
		return grant{}, "the session token is unknown or has ended"
	}
	return g, ""
}

// streamID extracts sid from /agent/v4/stream/{sid}/message/create.
func streamID(path string) (string, bool) {
	rest, ok := strings.CutPrefix(path, pathStreamBase)
	if !ok {
		return "", false
	}
	sid, ok := strings.CutSuffix(rest, pathCreateTail)
	if !ok || sid == "" || strings.Contains(sid, "/") {
		return "", false
	}
	return sid, true
}

// createMessage serves POST /agent/v4/stream/{sid}/message/create: a
// multipart/form-data body with a message field (MessageML) and an optional
// data field (EntityJSON), answered with the V4Message posted (see post).
// For a stream the server does not know, without Options.StrictStreams, the
// answer's message is the MessageML as sent, as the fake always answered
// before it knew streams; otherwise it is the PresentationML.
func (s *Server) createMessage(w http.ResponseWriter, r *http.Request, g grant, sid string) {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "multipart/form-data" {
		s.refuse(r, "Content-Type is not multipart/form-data")
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be multipart/form-data")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxMessageBody)
	// maxMemory equals the body cap, so no part goes to a temporary file.
	err := r.ParseMultipartForm(maxMessageBody)
	if r.MultipartForm != nil {
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	}
	if err != nil {
		s.refuseBody(w, r, err, "8 MiB", "malformed multipart body", "malformed multipart/form-data body")
		return
	}
	message := r.MultipartForm.Value["message"]
	if len(message) == 0 || message[0] == "" {
		s.refuse(r, "no message field")
		writeError(w, http.StatusBadRequest, "the message field is required")
		return
	}
	data := ""
	if d := r.MultipartForm.Value["data"]; len(d) > 0 {
		data = d[0]
	}
	var attachments []Attachment
	for _, fh := range r.MultipartForm.File["attachment"] {
		attachments = append(attachments, Attachment{ID: newMessageID(), Name: fh.Filename, Size: fh.Size})
	}
	m, st, perr := s.post(g.user, sid, message[0], strings.TrimSpace(data), attachments, s.strictStreams)
	if perr != nil {
		s.refuse(r, perr.msg)
		writeError(w, perr.status, perr.msg)
		return
	}
	answer := v4MessageOf(m, g.user, st, false)
	if st == nil {
		answer.Message = m.MessageML
	}
	writeJSON(w, http.StatusOK, answer)
}

// newMessageID returns a message id shaped like Symphony's: 16 random bytes
// in URL-safe base64 without padding.
func newMessageID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// agentInfo is the agent's AgentInfo.
type agentInfo struct {
	IPAddress  string `json:"ipAddress"`
	Hostname   string `json:"hostname"`
	ServerFqdn string `json:"serverFqdn"`
	Version    string `json:"version"`
	URL        string `json:"url"`
	OnPrem     bool   `json:"onPrem"`
	MT         bool   `json:"mt"`
	CommitID   string `json:"commitId"`
}

func (s *Server) agentInfo() any {
	return agentInfo{
		IPAddress:  "127.0.0.1",
		Hostname:   "localhost",
		ServerFqdn: "localhost",
		Version:    s.agentVersion,
		URL:        s.URL + "/agent",
		OnPrem:     true,
		CommitID:   "0000000",
	}
}

// healthStatus is the agent's V3Health and V3HealthComponent (both have a
// status; the rest is optional).
type healthStatus struct {
	Status   string                  `json:"status"`
	AuthType string                  `json:"authType,omitempty"`
	Version  string                  `json:"version,omitempty"`
	Services map[string]healthStatus `json:"services,omitempty"`
	Users    map[string]healthStatus `json:"users,omitempty"`
}

func (s *Server) extendedHealth() any {
	version := strings.TrimPrefix(s.agentVersion, "Agent-")
	return healthStatus{
		Status:  "UP",
		Version: version,
		Services: map[string]healthStatus{
			"pod":         {Status: "UP", Version: version},
			"key_manager": {Status: "UP", Version: version},
			"datafeed":    {Status: "UP", Version: "2.11.6"},
		},
		Users: map[string]healthStatus{
			"agentservice": {Status: "UP", AuthType: "RSA"},
			"ceservice":    {Status: "UP", AuthType: "RSA"},
		},
	}
}
