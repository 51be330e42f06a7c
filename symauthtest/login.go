package symauthtest

import (
	"encoding/json"
	"errors"
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

// loginAnswer is the body of a successful login.
type loginAnswer struct {
	Name  string `json:"name"`
	Token string `json:"token"`
}

// handleRSALogin serves POST /login/pubkey/authenticate and
// /relay/pubkey/authenticate: body {"token":"<jwt>"}.
func (s *Server) handleRSALogin(w http.ResponseWriter, r *http.Request, kind tokenKind) {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != contentTypeJSON {
		s.refuse(r, "Content-Type is not application/json")
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxLoginBody)).Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.refuse(r, "request body larger than 64 KiB")
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		s.refuse(r, "request body is not a JSON object")
		writeError(w, http.StatusBadRequest, `request body must be a JSON object {"token":"<jwt>"}`)
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

// handleCertLogin serves POST /sessionauth/v1/authenticate and
// /keyauth/v1/authenticate: the TLS client certificate's CN is the username.
// The listener has already verified the certificate against the CA.
func (s *Server) handleCertLogin(w http.ResponseWriter, r *http.Request, kind tokenKind) {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		s.refuse(r, certRequired)
		writeError(w, http.StatusUnauthorized, certRequired)
		return
	}
	cn := r.TLS.PeerCertificates[0].Subject.CommonName
	u := s.users.lookup(cn)
	if u == nil || !u.certLogin {
		s.refuse(r, "user "+shown(cn)+" is not registered for certificate login")
		writeError(w, http.StatusForbidden, certNotAllowed)
		return
	}
	s.answerLogin(w, r, kind, u, "certificate")
}

// answerLogin issues a token of kind to u and answers 200 with it.
func (s *Server) answerLogin(w http.ResponseWriter, r *http.Request, kind tokenKind, u *user, how string) {
	token, err := s.issue(kind, u)
	if err != nil {
		s.logf("login failed: user %s on %s: %v", shown(u.name), r.URL.Path, err)
		writeError(w, http.StatusInternalServerError, "symauthtest: cannot issue a token")
		return
	}
	s.logf("login ok: user %s (id %d) on %s (%s, %s)", shown(u.name), u.id, r.URL.Path, how, kind.name())
	writeJSON(w, http.StatusOK, loginAnswer{Name: kind.name(), Token: token})
}
