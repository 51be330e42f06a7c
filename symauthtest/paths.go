package symauthtest

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
	PathDatafeeds   = "/agent/v5/datafeeds"          // GET: the user's datafeeds (none); needs agent tokens
)

// Unexported paths.
const (
	podPrefix      = "/pod/"
	agentPrefix    = "/agent/"
	pathStreamBase = "/agent/v4/stream/" // + {sid} + pathCreateTail
	pathCreateTail = "/message/create"   // POST multipart/form-data: send a message
	pathHealthV3   = "/agent/v3/health"  // GET: simple agent health; needs no token
)
