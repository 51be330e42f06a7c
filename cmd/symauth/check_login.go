package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/symauth/symauth"
)

// The login steps and the API steps.
//
// symauth's RSA and Cert make the session and key manager calls concurrently
// and return the first failure, which cancels the other call. To report each
// endpoint on its own, the session login step logs in with SkipKeyManager
// (the session endpoint alone), and the key manager step, run only once that
// passed, then runs the complete login exactly as token and whoami build it
// (loginFlags.newLogin): the session endpoint has just answered, so a failure
// there is, as its AuthError.Endpoint tells anyway, the key manager's. This
// costs one more session login than a check strictly needs, and in return no
// step's result is ever "unknown".
//
// With --config the logins are the Config's, which has no session-only
// variant: the session login step runs the complete login once, through
// cfg.Session(), and the two steps report it by the failed endpoint. The
// session call ends before the key manager's result is used (symauth's login
// waits for it), so a key manager failure means that the session login passed;
// a session failure skips the key manager step, which the login did not reach.
// The API steps then go through cfg.HTTPClient(), with that login's tokens.

// keyManagerEndpoints are the key manager login paths, as
// AuthError.Endpoint names them.
var keyManagerEndpoints = map[string]bool{"/relay/pubkey/authenticate": true, "/keyauth/v1/authenticate": true}

// checkSessionLogin logs in at the pod (RSA) or session auth (certificate)
// only, and keeps the session token for the session info step. With
// --config, it runs the complete login.
func (c *checker) checkSessionLogin(ctx context.Context) outcome {
	if c.cfg != nil {
		src, err := c.cfg.Session()
		if err != nil {
			return failed(err.Error(), "fix the key named above")
		}
		if c.fullToken, c.loginErr = src.Token(ctx); c.loginErr != nil && !keyManagerFailure(c.loginErr) {
			return c.loginFailure(c.loginErr)
		}
		return passed("session token received for %q", c.username())
	}
	src, err := c.sessionOnlyLogin()
	if err != nil {
		return setupFailure(err)
	}
	tok, err := src.Token(ctx)
	if err != nil {
		return c.loginFailure(err)
	}
	c.sessionToken = tok
	return passed("session token received for %q", c.username())
}

// sessionOnlyLogin is the login newLogin builds, with SkipKeyManager, from
// what the file steps read, in a Session that reports it to c.logins.
func (c *checker) sessionOnlyLogin() (symauth.TokenSource, error) {
	f := c.flags
	var src symauth.TokenSource
	if f.usesCert() {
		auth, err := symauth.NewCert(symauth.CertConfig{
			SessionAuthURL: f.sessionAuth, Certificate: c.cert, RootCAs: c.roots, SkipKeyManager: true,
		})
		if err != nil {
			return nil, err
		}
		src = auth
	} else {
		auth, err := symauth.NewRSA(symauth.RSAConfig{
			PodURL: f.pod, Username: f.user, PrivateKey: c.key, SkipKeyManager: true,
			HTTPClient: &http.Client{Transport: httpTransport(c.roots)},
		})
		if err != nil {
			return nil, err
		}
		src = auth
	}
	return symauth.NewSessionWithOptions(src, symauth.SessionOptions{LoginTimeout: f.timeout, OnLogin: c.logins.record}), nil
}

// checkKeyManagerLogin runs the complete login, session and key manager, as
// token and whoami do, and keeps its tokens for the agent step; with
// --config, it reports the login the session login step ran. The login
// makes no key manager call when simplified key delivery applies.
func (c *checker) checkKeyManagerLogin(ctx context.Context) outcome {
	if c.cfg == nil {
		l, err := c.flags.newLogin()
		if err != nil {
			return setupFailure(err)
		}
		c.logins = l.events
		c.fullToken, c.loginErr = l.source.Token(ctx)
	}
	if c.loginErr != nil {
		return c.loginFailure(c.loginErr)
	}
	if tok := c.fullToken; tok.KeyManagerToken == "" {
		return passed("not needed: the session may use simplified key delivery, which the agent (if any) supports")
	}
	return passed("key manager token received for %q", c.username())
}

// keyManagerFailure reports whether err is a failed key manager login.
func keyManagerFailure(err error) bool {
	var ae *symauth.AuthError
	return errors.As(err, &ae) && keyManagerEndpoints[ae.Endpoint]
}

// setupFailure explains a login that could not even be built: a flag the
// root package refuses.
func setupFailure(err error) outcome {
	return failed(flagNames.Replace(err.Error()), "fix the flag named above")
}

// loginFailure explains a failed login from its *AuthError: the endpoint, the
// HTTP status and the server's message, or the network failure.
func (c *checker) loginFailure(err error) outcome {
	var ae *symauth.AuthError
	if !errors.As(err, &ae) {
		return failed(flagNames.Replace(err.Error()), "check the flags and this machine's network")
	}
	role := rolePod
	switch {
	case keyManagerEndpoints[ae.Endpoint]:
		role = roleKeyManager
	case c.certLogin():
		role = roleSessionAuth
	}
	if ae.StatusCode == 0 {
		t := c.hostFor[role].netTarget()
		t.clientCert = c.certLogin() // the login presents it, whether or not the host step did
		o := c.netFailure(ae.Endpoint, ae.Err, t)
		o.detail += c.retried()
		return o
	}
	detail := fmt.Sprintf("%s: HTTP %d %s", ae.Endpoint, ae.StatusCode, http.StatusText(ae.StatusCode))
	if ae.Message != "" {
		detail += ": " + ae.Message
	}
	return failed(detail+c.retried(), c.loginAdvice(ae, role)...)
}

// retried says, to end a failed login's detail, how many attempts the login
// made when it retried; "" when it did not.
func (c *checker) retried() string {
	if ev, ok := c.logins.failed(); ok && ev.Attempts > len(ev.Endpoints) {
		return fmt.Sprintf(" (after %s, retries included)", plural(ev.Attempts, "attempt"))
	}
	return ""
}

// loginAdvice says what to do about a login endpoint of role answering
// ae.StatusCode, with ae.Message.
func (c *checker) loginAdvice(ae *symauth.AuthError, role string) []string {
	status, user, cert := ae.StatusCode, c.username(), c.certLogin()
	switch {
	case status >= 300 && status < 400:
		return []string{"the URL points at a page that redirects: use the base URL of the pod (https://acme.symphony.com; " +
			"for certificate login the session auth URL, often https://acme-api.symphony.com:8444)"}
	case status == http.StatusUnauthorized && cert:
		return []string{"the certificate was not accepted: it must be issued by a CA registered in the pod, and its CN must be the bot's username"}
	case status == http.StatusUnauthorized && role == roleKeyManager:
		return []string{"the key manager refused the login the pod accepted: check that --km belongs to the same deployment as --pod"}
	case status == http.StatusUnauthorized:
		return c.rsaRefusalAdvice(ae.Message)
	case status == http.StatusForbidden && cert:
		return []string{fmt.Sprintf("certificate authentication is not allowed for user %q: check in the Admin Console that the account "+
			"exists with the certificate's CN as username, is active, and may log in with a certificate", user)}
	case status == http.StatusForbidden:
		return []string{fmt.Sprintf("the account %q is disabled, or not allowed to log in this way: check in the Admin Console "+
			"that it is an active service account with RSA authentication", user)}
	case status == http.StatusBadRequest && c.hostFor[role].url.Scheme == "http":
		return []string{"the server refused the plain http request: if it serves HTTPS on this port, use https:// in " + c.hostFor[role].what}
	case status == http.StatusBadRequest:
		return []string{"the server refused the request as malformed: check that the URL is the base URL; " +
			"for certificate login, that no proxy between here and the server drops the client certificate"}
	case status == http.StatusNotFound:
		return []string{"there is no login endpoint at this URL: use the base URL (pod: https://acme.symphony.com; " +
			"session auth and key manager for certificates: often https://acme-api.symphony.com:8444)"}
	case status == http.StatusTooManyRequests || status >= 500:
		return []string{fmt.Sprintf("the %s is unavailable or overloaded: try again later; if it lasts, tell your Symphony administrator", role)}
	case status >= 200 && status < 300:
		return []string{"the answer is not a login token: the URL may point at something other than Symphony (a web page, a proxy's sign-in page)"}
	}
	return []string{"unexpected answer: check the URL"}
}

// The phrases by which a pod's refusal of an RSA login says what it refused.
// PROTOCOL.md: a pod answers 401 to an unknown user as to a key that does not
// verify, and its message texts are not documented. These are the phrases of
// symauthtest, which the emulator serves, and the plain wordings of the same;
// a message with none of them, or with phrases of both kinds, gets the advice
// for both.
var (
	unknownUserPhrases = []string{"unknown user", "user not found", "no such user", "user does not exist"}
	wrongKeyPhrases    = []string{"signature", "public key", "key not registered"}
)

// rsaRefusalAdvice says what to do about a pod's 401 to an RSA login, from its
// message: the user, or the key, or, when the message does not tell which,
// both, and the clock.
func (c *checker) rsaRefusalAdvice(message string) []string {
	user := c.username()
	msg := strings.ToLower(message)
	has := func(phrases []string) bool {
		return slices.ContainsFunc(phrases, func(p string) bool { return strings.Contains(msg, p) })
	}
	userAdvice := fmt.Sprintf("the pod knows no user %q: check that --user %q is the bot's username as the Admin Console shows it "+
		"(the service account's username, not its display name or email address)", user, user)
	file, cmdFile := c.keySource()
	keyAdvice := fmt.Sprintf("the pod holds no public key for %q that matches %s: upload its public half "+
		"(openssl pkey -in %s -pubout -out bot-public.pem) in the Admin Console, or give the private key whose public half is registered", user, file, cmdFile)
	var compare []string
	if c.key != nil {
		compare = []string{fmt.Sprintf("the public half of %s has the fingerprint %s; compare it with the registered public key's "+
			"(what follows SHA256:): %s", file, fingerprint(&c.key.PublicKey), fingerprintCommand)}
	}
	switch isUser, isKey := has(unknownUserPhrases), has(wrongKeyPhrases); {
	case isUser && !isKey:
		return []string{userAdvice}
	case isKey && !isUser:
		return append([]string{keyAdvice}, compare...)
	}
	return append(append([]string{"the pod's answer does not tell whether it refused the key or the user", "the key: " + keyAdvice}, compare...),
		fmt.Sprintf("the user: check that --user %q is the bot's username as the Admin Console shows it", user),
		"the clock: the login's JWT is valid for 240 s from this machine's time: check that its clock is right")
}

// keySource names the private key the RSA login signs with, for advice: the
// --key flag and its file (with --config, the configuration's key), and the
// file alone for a command line ("KEY" when the configuration holds the key
// inline).
func (c *checker) keySource() (named, file string) {
	if c.cfg == nil {
		return "--key " + c.flags.keyFile, c.flags.keyFile
	}
	if k := c.cfg.Bot.PrivateKey; !k.Inline {
		return "bot.privateKey " + k.Path, k.Path
	}
	return "bot.privateKey.content", "KEY"
}

// checkSessionInfo asks the pod who the session from the session login step
// (with --config, the complete login) belongs to, and checks that it is the
// bot.
func (c *checker) checkSessionInfo(ctx context.Context) outcome {
	var info sessionInfo
	const path = "/pod/v2/sessioninfo"
	if status, err := c.apiGet(ctx, c.sessionToken, c.podURL, path, &info); err != nil {
		return c.apiFailure(path, status, err, c.hostFor[rolePod])
	}
	if want := c.username(); info.Username != want {
		return failed(fmt.Sprintf("the session is user %q (id %d), not %q", info.Username, info.ID, want),
			"these credentials belong to another account: use the bot's own key or certificate, or fix --user")
	}
	return passed("%q (user id %d)", info.Username, info.ID)
}

// checkAgent asks the agent its version, with the tokens of the key manager
// login step.
func (c *checker) checkAgent(ctx context.Context) outcome {
	var info struct {
		Version string `json:"version"`
	}
	const path = "/agent/v1/info"
	if status, err := c.apiGet(ctx, c.fullToken, c.agentURL, path, &info); err != nil {
		return c.apiFailure(path, status, err, c.hostFor[roleAgent])
	}
	return passed("version %q", info.Version)
}

// fixedToken is a TokenSource that yields a token an earlier step obtained,
// so that the API steps use its session instead of logging in again.
type fixedToken struct{ tok *symauth.Token }

func (f fixedToken) Token(context.Context) (*symauth.Token, error) { return f.tok, nil }

// maxAPIAnswer caps how much of an API answer is read.
const maxAPIAnswer = 1 << 20

// apiGet GETs base+path through symauth's Transport with tok (with
// --config, through the Config's client and its login), without following
// redirects, and decodes a 200 answer into v. status is the HTTP status, 0
// when no answer came.
func (c *checker) apiGet(ctx context.Context, tok *symauth.Token, base, path string, v any) (status int, err error) {
	client := &http.Client{Transport: symauth.NewTransport(fixedToken{tok}, httpTransport(c.roots))}
	if c.cfg != nil {
		if client, err = c.cfg.HTTPClient(); err != nil {
			return 0, err
		}
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	defer client.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+path, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("HTTP %s", resp.Status)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxAPIAnswer)).Decode(v); err != nil {
		return resp.StatusCode, errors.New("the answer is not the expected JSON")
	}
	return resp.StatusCode, nil
}

// apiFailure explains a failed API call to path on host h.
func (c *checker) apiFailure(path string, status int, err error, h *hostTarget) outcome {
	detail := path + ": " + err.Error()
	switch {
	case status == 0:
		return c.netFailure(path, err, h.netTarget())
	case status >= 300 && status < 400:
		return failed(detail, "the URL points at a page that redirects: give "+h.what+" as the service's base URL")
	case status == http.StatusUnauthorized:
		return failed(detail, "the tokens the login returned are refused here: check that "+h.what+" belongs to the same deployment as the login URLs")
	case status == http.StatusNotFound:
		return failed(detail, h.what+" is not the service's base URL: "+path+" is not found there")
	case status == http.StatusTooManyRequests || status >= 500:
		return failed(detail, "the service is unavailable or overloaded: try again later")
	case status == http.StatusOK:
		return failed(detail, h.what+" may point at a web page rather than the Symphony API")
	}
	return failed(detail, "unexpected answer: check "+h.what)
}
