// Package symauthtest provides a fake Symphony Messaging deployment for tests,
// in the spirit of net/http/httptest: a pod, key manager, session auth and
// agent on one local HTTPS listener.
//
// The server checks logins as a real pod does. RSA login
// (POST /login/pubkey/authenticate and /relay/pubkey/authenticate) verifies an
// RS512 JWT signed with a registered user's key, whose exp is required, in
// the future and at most 5 minutes ahead. Certificate login
// (POST /sessionauth/v1/authenticate and /keyauth/v1/authenticate) accepts a
// client certificate issued by the server's CA for a user registered with
// IssueClientCertificate. Logins answer {"name":"sessionToken","token":…} or
// {"name":"keyManagerToken","token":…}; refusals answer
// {"code":401,"message":<reason>} (403 for certificate login of a user not
// allowed it).
//
// Apps registered with RegisterApp (an RSA key) or IssueAppCertificate log
// in on POST /login/pubkey/app/authenticate (RSA, a JWT whose sub is the app
// id) or /sessionauth/v1/app/authenticate (certificate) and get an app
// session. With it in the sessionToken header, an app acts on behalf of a
// user who installed it (InstallApp): POST
// /login/pubkey/app/user/{userId}/authenticate or
// …/username/{username}/authenticate (and the deprecated certificate
// variants under /sessionauth/v1/app/) answer a session of that user (a 403
// for a user who has not installed the app). Extension apps log in on POST
// /login/v1/pubkey/app/authenticate/extensionApp (circle of trust), and
// IssueUserIdentityJWT makes the user identity JWT a front end would get,
// verifiable with the certificate that GET /pod/v1/podcert serves.
//
// As a real pod does, the RSA on-behalf-of user step answers 401 for a user it
// does not know — the same status as for an app session that ended — and
// the certificate variant 404; a user who has not installed the app gets
// 403. User identity JWTs carry sub as a JSON number, as real pods write it.
//
// User login answers (and the RSA on-behalf-of answer) also carry a Common
// JWT "authorizationToken": "Bearer …", bound to the new session and valid
// for Options.BearerLifetime; POST /login/idm/tokens with a sessionToken
// header answers a fresh one.
//
// Session tokens and bearer tokens are JWTs with a real pod's claims (sub,
// userId, sessionId, canUseSimplifiedKeyDelivery when allowed; a bearer's
// exp), whose payload clients decode as they do a real pod's. A real pod
// signs them RS512; the server, by default, signs them HS512 with a key of
// its own, which nothing but the server itself checks (as nothing but a
// real pod checks its own), so that a login costs no RSA private-key
// operation and a load test of a client is not bound by its fake pod.
// Options.RS512Tokens signs them RS512, verifiable with the pod
// certificate, at two RSA signatures per login. User identity JWTs are
// RS512 either way.
//
// Pod calls (any path under /pod/ but /pod/v1/podcert) need a live user
// session: a sessionToken header, or an Authorization: Bearer token of a live
// session. Agent calls (under /agent/) need that and a live keyManagerToken
// of the same user, except for on-behalf-of sessions and sessions that can
// use simplified key delivery, and except GET /agent/v1/info and the health
// checks, which need no token. Refused tokens answer 401
// {"code":401,"message":"Invalid session"}. Sessions (of users, apps and
// on-behalf-of) end with RevokeSessions or after a session lifetime measured
// with an injectable clock (see Options.Now before moving it), and their
// bearer tokens with them; a user holds at most MaxSessionsPerUser of them,
// a login beyond ending the oldest.
//
// Past the token check, the server answers, as the agent and pod API specs
// describe them:
//
//   - GET /pod/v2/sessioninfo: the session's user (UserV2).
//   - GET /pod/v3/users?uid=…|email=…|username=…: the registered users found
//     (V2UserList), malformed entries in its errors, 204 when none is found,
//     400 unless exactly one list of at most 100 entries is given.
//   - POST /pod/v1/im/create with a JSON list of user ids: {"id": streamId},
//     the IM (MIM for more than two) of the caller and those users; the same
//     set of users always gets the same stream.
//   - POST /agent/v4/stream/{sid}/message/create (multipart/form-data,
//     message in MessageML, optional data in EntityJSON): the V4Message,
//     its message in PresentationML. Malformed MessageML (not well-formed
//     XML, root neither <messageML> nor <div>) answers 400, a stream the
//     sender is not a member of 403, and an unknown stream 400 with
//     Options.StrictStreams (without it, an unknown stream takes any message,
//     as earlier versions of this package did).
//   - POST /agent/v5/datafeeds (201, a V5Datafeed; 403 beyond
//     MaxDatafeedsPerUser), GET /agent/v5/datafeeds (the user's, by tag),
//     DELETE /agent/v5/datafeeds/{id} (204) and POST
//     /agent/v5/datafeeds/{id}/read with {"ackId": …}: a V5EventList of
//     MESSAGESENT events for the messages posted in the user's streams, the
//     user's own included (a real datafeed delivers a bot's own messages;
//     BDK filters them out). A read answers at once if events wait, else
//     when one arrives or after Options.DatafeedReadWait with none. Events
//     of an answer are delivered again until a read sends that answer's
//     ackId. A datafeed belongs to its user, not to a session: it outlives
//     RevokeSessions and the session lifetime, and after a new login the same
//     id goes on delivering; another user's datafeed id answers 400, as one
//     that no longer exists. At most MaxDatafeedEvents events wait in a
//     datafeed, the oldest dropped beyond.
//
// Other paths under /pod/ and /agent/ answer 404 after the token check,
// unless a test registers a handler for them with Handle: it then runs after
// the token check, learns the caller with UserFromContext, and gets the same
// faults and call counts.
//
// Test code plays the other users: it registers them (NewUser,
// RegisterUser), makes their conversations (CreateIM, CreateRoom), writes as
// them (SendMessage, so that the bot's datafeed sees the message), and reads
// back what the bot posted (Messages).
//
// Tests make the server misbehave with InjectFault (error statuses, delays,
// held requests, dropped connections; with Fault.AfterAuth, only for
// requests whose tokens are valid) and count requests with Calls.
//
// A Server is safe for concurrent use. Close releases everything it started;
// it is safe to use with go.uber.org/goleak.
//
// Typical use in a test:
//
//	srv := symauthtest.NewServer()
//	defer srv.Close()
//	key, err := srv.NewUser("my-bot")
//	if err != nil {
//		t.Fatal(err)
//	}
//	// Configure the client under test with srv.URL as pod, key manager and
//	// agent URL, "my-bot" and key, and srv.Client() or srv.CertPool().
//	srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: 503, Times: 1})
//	// … exercise the client, then check srv.Calls(symauthtest.PathLogin).
package symauthtest
