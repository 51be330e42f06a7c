package symauthtest

import "net/http"

// handleAppLogin serves POST /login/pubkey/app/authenticate, the RSA login of
// an app (the first step of on-behalf-of authentication): body
// {"token":"<jwt>"}, checked as a user's login JWT but with sub = app id and
// the app's key.
func (s *Server) handleAppLogin(w http.ResponseWriter, r *http.Request) {
	var body tokenRequest
	if !s.readLoginBody(w, r, &body, tokenRequestShape) {
		return
	}
	a, err := s.verifyAppJWT(body.Token)
	if err != nil {
		s.refuse(r, err.Error())
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	s.answerAppLogin(w, r, a, "RSA")
}

// handleCertAppLogin serves POST /sessionauth/v1/app/authenticate, the
// certificate login of an app (deprecated API): the TLS client
// certificate's CN is the app id. No body.
func (s *Server) handleCertAppLogin(w http.ResponseWriter, r *http.Request) {
	var a *app
	allowed := func(cn string) bool { a = s.apps.lookup(cn); return a != nil && a.certLogin }
	if s.certLogin(w, r, "app", allowed) {
		s.answerAppLogin(w, r, a, "certificate")
	}
}

// answerAppLogin issues an app session to a and answers 200 with it, as
// {"name":"sessionToken","token":…}. An app session carries no bearer token:
// bearer tokens stand for users.
func (s *Server) answerAppLogin(w http.ResponseWriter, r *http.Request, a *app, how string) {
	token, _, err := s.issueSession(grant{app: a.id})
	if err != nil {
		s.logf("app login failed: app %s on %s: %v", shown(a.id), r.URL.Path, err)
		writeError(w, http.StatusInternalServerError, "symauthtest: cannot issue a token")
		return
	}
	s.logf("app login ok: app %s on %s (%s, app session)", shown(a.id), r.URL.Path, how)
	writeJSON(w, http.StatusOK, loginAnswer{Name: sessionKind.name(), Token: token})
}
