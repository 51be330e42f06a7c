package symauthtest

import (
	"net/url"
	"strconv"
	"strings"
)

// URL paths the Server serves, for InjectFault and Calls. The pod, key
// manager, session auth and agent all live on Server.URL.
const (
	PathLogin       = "/login/pubkey/authenticate"   // RSA login, answers a session token
	PathRelay       = "/relay/pubkey/authenticate"   // RSA login, answers a key manager token
	PathSessionAuth = "/sessionauth/v1/authenticate" // certificate login, answers a session token
	PathKeyAuth     = "/keyauth/v1/authenticate"     // certificate login, answers a key manager token
	PathSessionInfo = "/pod/v2/sessioninfo"          // GET: the session's user; needs a session token
	PathAgentInfo   = "/agent/v1/info"               // GET: the agent version; needs no token
	PathHealth      = "/agent/v3/health/extended"    // GET: agent health; needs no token
	PathDatafeeds   = "/agent/v5/datafeeds"          // GET: the user's datafeeds, POST: create one; needs agent tokens
	PathUsers       = "/pod/v3/users"                // GET: find users by uid, email or username; needs a session token
	PathIMCreate    = "/pod/v1/im/create"            // POST: the IM (or MIM) of the caller and the listed user ids; needs a session token

	PathAppLogin     = "/login/pubkey/app/authenticate"                 // RSA app login, answers an app session token
	PathCertAppLogin = "/sessionauth/v1/app/authenticate"               // certificate app login (deprecated API), answers an app session token
	PathIDMTokens    = "/login/idm/tokens"                              // Common JWT: a bearer token for a session token
	PathExtensionApp = "/login/v1/pubkey/app/authenticate/extensionApp" // extension app login (circle of trust)
	PathPodCert      = "/pod/v1/podcert"                                // GET: the certificate that verifies the pod's JWTs; needs no token
)

// PathOBOUser returns the path of the RSA on-behalf-of step for the user with
// this id: "/login/pubkey/app/user/{userId}/authenticate".
func PathOBOUser(userID int64) string {
	return oboRSABase + oboByID + strconv.FormatInt(userID, 10) + oboTail
}

// PathOBOUsername returns the path of the RSA on-behalf-of step for the user
// called username: "/login/pubkey/app/username/{username}/authenticate",
// with username path-escaped. Requests that escape the username differently
// (or not at all, where that is unambiguous) count under this same path in
// Calls and InjectFault.
func PathOBOUsername(username string) string {
	return oboRSABase + oboByName + url.PathEscape(username) + oboTail
}

// PathCertOBOUser returns the path of the certificate on-behalf-of step
// (deprecated API) for the user with this id:
// "/sessionauth/v1/app/user/{uid}/authenticate".
func PathCertOBOUser(userID int64) string {
	return oboCertBase + oboByID + strconv.FormatInt(userID, 10) + oboTail
}

// PathCertOBOUsername returns the path of the certificate on-behalf-of step
// (deprecated API) for the user called username:
// "/sessionauth/v1/app/username/{username}/authenticate", with username
// path-escaped as in PathOBOUsername.
func PathCertOBOUsername(username string) string {
	return oboCertBase + oboByName + url.PathEscape(username) + oboTail
}

// Unexported paths.
const (
	podPrefix      = "/pod/"
	agentPrefix    = "/agent/"
	pathStreamBase = "/agent/v4/stream/" // + {sid} + pathCreateTail
	pathCreateTail = "/message/create"   // POST multipart/form-data: send a message
	pathHealthV3   = "/agent/v3/health"  // GET: simple agent health; needs no token

	oboRSABase  = "/login/pubkey/app/"   // + oboByID or oboByName + … + oboTail
	oboCertBase = "/sessionauth/v1/app/" // + oboByID or oboByName + … + oboTail
	oboByID     = "user/"
	oboByName   = "username/"
	oboTail     = "/authenticate"
)

// oboStep is an on-behalf-of request, as its path names it.
type oboStep struct {
	cert bool   // the certificate variant, under /sessionauth
	byID bool   // the user is named by id, else by username
	id   int64  // when byID
	name string // when !byID: the unescaped username
	path string // the path for Calls and InjectFault
}

// parseOBO reports whether u is the path of an on-behalf-of step, and which.
// It splits the escaped path, so that a username may hold any character,
// "/" included. A user id that is not an integer does not match, as a real
// pod's typed path parameter would not (it answers 404).
func parseOBO(u *url.URL) (oboStep, bool) {
	escaped := u.EscapedPath()
	var step oboStep
	rest, ok := strings.CutPrefix(escaped, oboRSABase)
	if !ok {
		if rest, ok = strings.CutPrefix(escaped, oboCertBase); !ok {
			return oboStep{}, false
		}
		step.cert = true
	}
	mid, ok := strings.CutSuffix(rest, oboTail)
	if !ok {
		return oboStep{}, false
	}
	if idText, ok := strings.CutPrefix(mid, oboByID); ok {
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil {
			return oboStep{}, false
		}
		step.byID, step.id, step.path = true, id, u.Path
		return step, true
	}
	raw, ok := strings.CutPrefix(mid, oboByName)
	if !ok || raw == "" || strings.Contains(raw, "/") {
		return oboStep{}, false
	}
	name, err := url.PathUnescape(raw)
	if err != nil || name == "" {
		return oboStep{}, false
	}
	step.name = name
	if step.cert {
		step.path = PathCertOBOUsername(name)
	} else {
		step.path = PathOBOUsername(name)
	}
	return step, true
}
