package symauthtest

import (
	"net/http"
	"time"
)

// extensionAppLifetime is how long an extension app's tokens are said to
// last (the answer's expireAt).
const extensionAppLifetime = time.Hour

// extensionAppRequest is the login API's AuthenticateExtensionAppRequest.
type extensionAppRequest struct {
	AppToken  string `json:"appToken"`
	AuthToken string `json:"authToken"`
}

// extensionAppTokens is the login API's ExtensionAppTokens.
type extensionAppTokens struct {
	AppID         string `json:"appId"`
	AppToken      string `json:"appToken"`
	SymphonyToken string `json:"symphonyToken"`
	ExpireAt      int64  `json:"expireAt"` // Unix milliseconds
}

// handleExtensionApp serves POST /login/v1/pubkey/app/authenticate/extensionApp,
// the circle-of-trust login of an extension app: body
// {"appToken":"…","authToken":"<jwt>"}, where authToken is checked as an app
// login JWT. It answers the app id, the appToken echoed, a new random
// symphonyToken and expireAt, an hour ahead in Unix milliseconds. The
// symphonyToken is not recorded: nothing in the fake checks it later.
func (s *Server) handleExtensionApp(w http.ResponseWriter, r *http.Request) {
	var body extensionAppRequest
	if !s.readLoginBody(w, r, &body, `{"appToken":"…","authToken":"<jwt>"}`) {
		return
	}
	if body.AppToken == "" {
		s.refuse(r, "the request has no appToken")
		writeError(w, http.StatusBadRequest, "appToken is required")
		return
	}
	a, err := s.verifyAppJWT(body.AuthToken)
	if err != nil {
		s.refuse(r, err.Error())
		writeError(w, http.StatusUnauthorized, err.Error())
		return
	}
	symphonyToken, err := randomHex(64)
	if err != nil {
		s.logf("extension app login failed: app %s on %s: %v", shown(a.id), r.URL.Path, err)
		writeError(w, http.StatusInternalServerError, "symauthtest: cannot issue a token")
		return
	}
	s.logf("extension app login ok: app %s on %s", shown(a.id), r.URL.Path)
	writeJSON(w, http.StatusOK, extensionAppTokens{
		AppID:         a.id,
		AppToken:      body.AppToken,
		SymphonyToken: symphonyToken,
		ExpireAt:      s.now().Add(extensionAppLifetime).UnixMilli(),
	})
}
