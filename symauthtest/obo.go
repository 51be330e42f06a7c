package symauthtest

import (
	"net/http"
	"strconv"
)

// oboCertAnswer is the authenticator API's OboAuthResponse, the answer of the
// certificate variant of the on-behalf-of step.
type oboCertAnswer struct {
	SessionToken string `json:"sessionToken"`
}

// handleOBO serves the on-behalf-of step, POST
// /login/pubkey/app/{user/{userId}|username/{username}}/authenticate (RSA
// variant) and /sessionauth/v1/app/… (certificate variant): header
// sessionToken holds a live app session, and the answer is a session of the
// named user on behalf of the app. No body is read. The certificate variant
// needs no client certificate on this step: the app session token is the
// credential.
func (s *Server) handleOBO(w http.ResponseWriter, r *http.Request, step oboStep) {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	variant := "RSA"
	if step.cert {
		variant = "certificate"
	}
	g, reason := s.sessionFromHeader(r, s.now())
	if reason == "" && g.user != nil {
		reason = "the session token is a user session, not an app session"
	}
	if reason != "" {
		s.refuse(r, reason+" (on-behalf-of needs the app session token)")
		writeError(w, http.StatusUnauthorized, invalidSession)
		return
	}
	// Apps are never removed: the app of a live app session is registered.
	a := s.apps.lookup(g.app)

	var u *user
	var named string
	if step.byID {
		u = s.users.lookupID(step.id)
		named = "user id " + strconv.FormatInt(step.id, 10)
	} else {
		u = s.users.lookup(step.name)
		named = "username " + shown(step.name)
	}
	if u == nil {
		s.refuse(r, "app "+shown(a.id)+" asked for unknown "+named)
		if step.cert {
			// The certificate variant's spec declares 404 for an unknown user.
			writeError(w, http.StatusNotFound, named+" not found")
		} else {
			// The RSA variant's spec declares no 404; its 401 covers "invalid user".
			writeError(w, http.StatusUnauthorized, "unknown "+named)
		}
		return
	}
	if !a.installed[u.id] {
		// Real pods refuse this, but with which status and message is not
		// documented; 403 is what both variants' specs list for "forbidden".
		msg := "user " + shown(u.name) + " has not installed app " + shown(a.id)
		s.refuse(r, msg)
		writeError(w, http.StatusForbidden, msg)
		return
	}

	// The RSA variant answers the login API's Token, with a bearer token;
	// the certificate variant's OboAuthResponse has room for none.
	g = grant{user: u, app: a.id}
	var answer any
	var err error
	if step.cert {
		var token string
		token, _, err = s.issueSession(g)
		answer = oboCertAnswer{SessionToken: token}
	} else {
		answer, err = s.userSessionAnswer(g)
	}
	if err != nil {
		s.logf("on-behalf-of failed: app %s for user %s on %s: %v", shown(a.id), shown(u.name), r.URL.Path, err)
		writeError(w, http.StatusInternalServerError, "symauthtest: cannot issue a token")
		return
	}
	s.logf("on-behalf-of ok: app %s acts for user %s (id %d) on %s (%s, sessionToken)",
		shown(a.id), shown(u.name), u.id, r.URL.Path, variant)
	writeJSON(w, http.StatusOK, answer)
}
