// Package symauth authenticates Symphony Messaging bots: an http.RoundTripper
// that makes any http.Client — hand-written, or generated from Symphony's
// OpenAPI specs — carry valid Symphony session tokens.
//
// # Setup
//
//	key, err := symauth.ParsePrivateKey(pemBytes)
//	auth, err := symauth.NewRSA(symauth.RSAConfig{PodURL: "https://acme.symphony.com", Username: "my-bot", PrivateKey: key})
//	client := &http.Client{Transport: symauth.NewTransport(auth, nil)}
//
// The client can then call the Pod API (https://acme.symphony.com/pod/…) and
// the Agent API (https://agent.acme.com/agent/…). A bot that logs in with a
// client certificate uses NewCert instead of NewRSA; ParsePKCS12 and ParsePEM read
// its certificate.
//
// # Login flow
//
// RSA: the bot signs a short-lived RS512 JWT (sub = username, exp = now + 240 s)
// with its private key and POSTs it to the pod's /login/pubkey/authenticate and
// the key manager's /relay/pubkey/authenticate (the first login asks the
// session first, since simplified key delivery may make the key manager
// unneeded; later ones call both concurrently); they answer with
// the session token and the key manager token. Certificate: the bot POSTs to
// /sessionauth/v1/authenticate and /keyauth/v1/authenticate over mutual TLS.
// Login calls are retried with exponential backoff and jitter after network
// errors, 429 and 5xx (a server's Retry-After is honoured, capped), never
// after 400, 401 or 403; a retry signs a fresh JWT; redirects are not followed.
//
// # What is cached, and when the network is touched
//
// A Session caches the last token. Nothing touches the network until the first
// request. Afterwards each request reads the cached token with one atomic load:
// no lock, no allocation. Symphony does not tell clients when a session ends,
// so a token is kept until the server answers 401 (or until its Expiry, in the
// rare case the pod gives one).
//
// # The 401 rule
//
//	request ──► Transport ──► Session.Token ──(cached: one atomic load)──► send with tokens
//	                               │ no token                                   │
//	                               ▼                                            ▼
//	                     one login, on its own goroutine,                 401? ──no──► response
//	                     shared by every waiting caller                     │yes
//	                               ▲                                        ▼
//	                               └──── Invalidate(the token sent) ◄── body replayable?
//	                                     then replay once                   │no
//	                                                                        ▼
//	                                                              the 401, untouched
//
// After a 401 the Transport invalidates the token it sent and asks the Session
// for a new one. However many requests saw that 401, exactly one login runs and
// they all share its result: a token is only forgotten if it is still the one
// that was rejected, so a late 401 for an old token never causes a second
// login. The request is then replayed once, if its body is nil, http.NoBody or
// can be re-obtained through GetBody (http.NewRequest sets GetBody for
// bytes.Buffer, bytes.Reader and strings.Reader bodies); the replay's answer is
// returned as it is, 401 or not, so there is never a loop. A request whose body
// cannot be replayed gets its 401 back untouched, and the next request uses a
// fresh token.
//
// An endpoint that refuses every token (a firewall, a missing entitlement) is
// told apart from a session that ended again: when a fresh token's replay is
// refused too, one session check (the pod's session info, or the agent's
// datafeed list for Agent API calls) decides, and if the session is alive
// that endpoint's 401s come back as they are, without a login, for a minute.
//
// After a failed login, new logins wait out a growing delay (1 s doubling to
// 30 s, reset by a success); requests in that window fail at once with the last
// error instead of hammering the pod.
//
// A Session over a source that caches too — your decorator around a Session,
// a Session over a Session — reaches its cache: the login after a rejection
// carries the rejected token in its context, and every Session it meets drops
// that token. Code that sees a session end outside HTTP calls Session.Reject.
//
// # Concurrency
//
// Session, Transport, RSA and Cert are safe for concurrent use by any number of
// goroutines. A caller waiting for a shared login stops waiting when its own
// context ends; the login itself runs detached from the callers' contexts,
// under its own timeout (SessionOptions.LoginTimeout), so one impatient caller
// never fails the others. The login keeps the callers' context values (trace
// ids), not their httptrace hooks; a caller whose context has ended gets its
// error at once. A panic or runtime.Goexit in a TokenSource or OnLogin ends
// the login with an error for every waiting caller, never the process.
//
// # Security
//
//   - The sources of this package know their Symphony origins: sessionToken
//     goes only to the pod and the agent, keyManagerToken only to the agent's
//     Agent API paths. A request to any other origin (a link from a chat
//     message) is sent without token headers, and logged once per origin.
//   - Tokens go only over https, or plain http straight to a loopback host
//     (not through a proxy), and on a redirect only while every hop has the
//     first request's scheme, host and port.
//   - A login answer whose token no header can carry (control characters,
//     more than 16 KiB) is a failed login, never a cached token.
//   - The caller's *http.Request is never modified; the copy that carries the
//     tokens is not reachable from the returned response.
//   - sessionToken and keyManagerToken headers set by the caller are replaced
//     (generated clients send an empty one when given zero-valued parameters);
//     keyManagerToken is only sent to Agent API paths, and only when there is one.
//   - Tokens, JWTs and key material never appear in errors, String, %v, %+v,
//     %#v, JSON or slog output: Token and the configurations redact
//     themselves in every one of them.
//
// # Logs and metrics
//
// Nothing is logged by default. SessionOptions.Logger (or the Logger of
// RSAConfig, CertConfig, OBOConfig) gets one line per login, per failed login
// and, at Debug, per request replayed after a 401 and per retried login call;
// SessionOptions.OnLogin gets a LoginEvent per login — cause (first, rejected,
// expiry, manual), workflow, who logged in, each call's status, attempts and
// duration, error — to feed any metrics system; OnLoginStart, OnReplay and
// OnBackoff make traces and the signals of an on-call engineer (module
// github.com/symauth/symauth/otel turns them into OpenTelemetry), and
// TraceID sends the X-Trace-Id that Symphony support asks for. None ever
// sees a token. Session.Token returns the
// raw tokens for code that needs them (a websocket, a datafeed loop), and
// Session.Refresh forces a login when such code learns that the session ended.
//
// # Beyond a bot's own login
//
// NewOBO acts on behalf of users. Simplified key delivery is automatic;
// Common JWT is opt-in (RSAConfig.CommonJWT). Two other packages build on
// this one: github.com/symauth/symauth/bdkconfig reads the BDK configuration
// file a bot already has and makes its Session and http.Client, and
// github.com/symauth/symauth/extapp is the backend of an extension app (the
// circle of trust and user identity JWTs). A bot configured in Go code
// imports only this package.
//
// # Errors
//
// A failed login is an *AuthError with the login endpoint, the HTTP status and
// the server's message; http.Client wraps it in a *url.Error, which errors.As
// sees through. A server's answer is always returned as a response, never with
// an error.
//
// # Testing
//
// Package symauthtest runs a fake pod, key manager and agent over TLS, for this
// package's tests and for yours.
package symauth
