package symauthtest

import (
	"encoding/json"
	"mime"
	"net/http"
)

// Limits and fixed messages of the login endpoints.
const (
	maxLoginBody    = 64 << 10 // bytes read from a login request body
	certNotAllowed  = "certificate authentication is not allowed for the requested user"
	certRequired    = "client certificate required"
	contentTypeJSON = "application/json"
)

// loginAnswer is the body of a successful login: the login API's Token.
// AuthorizationToken, "Bearer <jwt>", comes with user sessions only.
type loginAnswer struct {
	Name               string `json:"name"`
	Token              string `json:"token"`
	AuthorizationToken string `json:"authorizationToken,omitempty"`
}

// handleRSALogin serves POST /login/pubkey/authenticate and
// /relay/pubkey/authenticate: body {"token":"<jwt>"}.
func (s *Server) handleRSALogin(w http.ResponseWriter, r *http.Request, kind tokenKind) {
	var body tokenRequest
	if !s.readLoginBody(w, r, &body, tokenRequestShape) {
		return
	}
	u, err := s.verifyLoginJWT(body.Token)
	if err != nil {
		s.refuse(r, err.Error())
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	s.answerLogin(w, r, kind, u, "RSA")
}

// tokenRequest is the body of an RSA login: the login API's
// AuthenticateRequest.
type tokenRequest struct {
	Token string `json:"token"`
}

// tokenRequestShape describes tokenRequest in a 400 answer.
const tokenRequestShape = `{"token":"<jwt>"}`

// readLoginBody checks that r is a POST of a JSON object, at most 64 KiB,
// and decodes it into body. On failure it logs, answers (405, 415, 413 or 400,
// the 400 naming shape) and returns false.
func (s *Server) readLoginBody(w http.ResponseWriter, r *http.Request, body any, shape string) bool {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(w, r, http.MethodPost)
		return false
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != contentTypeJSON {
		s.refuse(r, "Content-Type is not application/json")
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBody)).Decode(body); err != nil {
		s.refuseBody(w, r, err, "64 KiB", "request body is not a JSON object", "request body must be a JSON object "+shape)
		return false
	}
	return true
}

// handleCertLogin serves POST /sessionauth/v1/authenticate and
// /keyauth/v1/authenticate: the TLS client certificate's CN is the username.
// The listener has already verified the certificate against the CA.
func (s *Server) handleCertLogin(w http.ResponseWriter, r *http.Request, kind tokenKind) {
	var u *user
	allowed := func(cn string) bool { u = s.users.lookup(cn); return u != nil && u.certLogin }
	if s.certLogin(w, r, "user", allowed) {
		s.answerLogin(w, r, kind, u, "certificate")
	}
}

// certLogin checks a certificate login: a POST whose verified client
// certificate's CN is allowed. what ("user", "app") names the CN in the
// refusal. On failure it logs, answers and returns false.
func (s *Server) certLogin(w http.ResponseWriter, r *http.Request, what string, allowed func(cn string) bool) bool {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(w, r, http.MethodPost)
		return false
	}
	cn, ok := s.clientCN(w, r)
	if !ok {
		return false
	}
	if !allowed(cn) {
		s.refuse(r, what+" "+shown(cn)+" is not registered for certificate login")
		writeError(w, http.StatusForbidden, certNotAllowed)
		return false
	}
	return true
}

// clientCN returns the common name of the request's TLS client certificate,
// which the listener has verified against the CA. Without a certificate it
// logs, answers 401 and returns false.
func (s *Server) clientCN(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		s.refuse(r, certRequired)
		writeError(w, http.StatusUnauthorized, certRequired)
		return "", false
	}
	return r.TLS.PeerCertificates[0].Subject.CommonName, true
}

// answerLogin issues a token of kind to u and answers 200 with it; a session
// token comes with a Common JWT bearer token for the new session.
func (s *Server) answerLogin(w http.ResponseWriter, r *http.Request, kind tokenKind, u *user, how string) {
	answer := loginAnswer{Name: kind.name()}
	var err error
	if kind == sessionKind {
		answer, err = s.userSessionAnswer(grant{user: u})
	} else {
		answer.Token, err = s.issueKeyManager(u)
	}
	if err != nil {
		s.logf("login failed: user %s on %s: %v", shown(u.name), r.URL.Path, err)
		writeError(w, http.StatusInternalServerError, "symauthtest: cannot issue a token")
		return
	}
	s.logf("login ok: user %s (id %d) on %s (%s, %s)", shown(u.name), u.id, r.URL.Path, how, kind.name())
	writeJSON(w, http.StatusOK, answer)
}

// userSessionAnswer issues a session for g's user (g.app set: on behalf of
// that app) and returns the login answer with its token and its bearer
// token.
func (s *Server) userSessionAnswer(g grant) (loginAnswer, error) {
	token, g, err := s.issueSession(g)
	if err != nil {
		return loginAnswer{}, err
	}
	bearer, _, err := s.issueBearer(g)
	if err != nil {
		return loginAnswer{}, err
	}
	return loginAnswer{Name: sessionKind.name(), Token: token, AuthorizationToken: bearerPrefix + bearer}, nil
}
