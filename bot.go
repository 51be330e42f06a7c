package symauth

import (
	"context"
	"errors"

	"github.com/symauth/symauth/internal/login"
)

// botLogin is what the RSA and certificate logins of a bot share: the session
// and key manager calls, simplified key delivery (SKD) and Common JWT. It is
// safe for concurrent use.
type botLogin struct {
	caller     loginCaller
	workflow   string        // "rsa" or "certificate", for LoginEvent
	user       string        // the bot's username, for LoginEvent
	session    login.Request // the session login call, without its body
	keyManager login.Request // the key manager login call; URL "" when SkipKeyManager
	skd        *keyDelivery  // nil when SkipKeyManager
	commonJWT  *commonJWT    // nil unless Common JWT is enabled
	origins    *origins      // where the tokens may go; nil: not known

	// newBody returns the body maker of one login (RSA: one JWT shared by the
	// first attempts, fresh ones for retries); nil for a certificate login.
	newBody func() (func(attempt int) ([]byte, error), *login.Deferred)
}

// token logs in. The first login, and any after one to which simplified key
// delivery (SKD) applied, logs in to the session first and to the key
// manager only if SKD does not apply: with SKD, no request reaches the key
// manager. Once a login needed the key manager, the next ones call both at
// the same time.
func (b *botLogin) token(ctx context.Context) (*Token, error) {
	if b.caller.Caller == nil {
		return nil, errors.New("symauth: a zero RSA or Cert: make it with NewRSA or NewCert")
	}
	report := login.ReportOf(ctx)
	report.SetSource(b.workflow, b.user, "")
	report.SetRenewal(false) // a renewal refused, then this login
	session, keyManager := b.session, b.keyManager
	if b.newBody != nil { // the calls dial while the JWT is being signed
		body, first := b.newBody()
		session.Body, keyManager.Body = body, body
		session.First, keyManager.First = first, first
	}
	switch {
	case keyManager.URL == "":
		return b.sessionLogin(ctx, session)
	case b.skd.knownNotToApply():
		return b.loginBoth(ctx, session, keyManager)
	default: // the first login, or SKD applied to the last one
		return b.sessionThenKeyManager(ctx, session, keyManager)
	}
}

func (b *botLogin) sessionLogin(ctx context.Context, session login.Request) (*Token, error) {
	resp, err := b.caller.login(ctx, session)
	if err != nil {
		return nil, err
	}
	return b.sessionToken(resp)
}

// sessionThenKeyManager logs in to the session, then to the key manager only
// if SKD does not apply.
func (b *botLogin) sessionThenKeyManager(ctx context.Context, session, keyManager login.Request) (*Token, error) {
	tok, err := b.sessionLogin(ctx, session)
	if err != nil || b.skd.applies(ctx, tok.SessionToken) {
		return tok, err
	}
	km, err := b.caller.login(ctx, keyManager)
	if err != nil {
		return nil, err
	}
	tok.KeyManagerToken = km.Value()
	return tok, nil
}

// loginBoth sends the session and key manager login calls concurrently. When
// the session is logged in and SKD applies, the key manager call is cancelled
// and its result ignored. A session failure cancels the key manager call.
func (b *botLogin) loginBoth(ctx context.Context, session, keyManager login.Request) (*Token, error) {
	kmCtx, cancelKM := context.WithCancel(ctx)
	defer cancelKM()
	type result struct {
		token string
		err   error
	}
	kmDone := make(chan result, 1)
	go func() {
		resp, err := b.caller.login(kmCtx, keyManager)
		if err != nil {
			kmDone <- result{err: err}
			return
		}
		kmDone <- result{token: resp.Value()}
	}()
	tok, err := b.sessionLogin(ctx, session)
	if err != nil || b.skd.applies(ctx, tok.SessionToken) {
		cancelKM()
		<-kmDone // the call has ended: nothing outlives the login
		return tok, err
	}
	km := <-kmDone
	if km.err != nil {
		return nil, km.err
	}
	tok.KeyManagerToken = km.token
	return tok, nil
}

// sessionToken makes the token of a session login answer: with Common JWT,
// the bearer token is required and sets the expiry.
func (b *botLogin) sessionToken(resp *login.Response) (*Token, error) {
	tok := &Token{SessionToken: resp.Value(), AuthorizationToken: resp.AuthorizationToken}
	if b.commonJWT == nil {
		return tok, nil
	}
	if tok.AuthorizationToken == "" {
		return nil, &AuthError{Endpoint: b.session.Endpoint,
			Message: "Common JWT is enabled but the pod answered no authorizationToken: is Common JWT enabled on this pod?"}
	}
	tok.AuthorizationToken = withBearerPrefix(tok.AuthorizationToken)
	tok.CommonJWT = true
	tok.Expiry = bearerExpiry(tok.AuthorizationToken)
	return tok, nil
}

// refresh renews old: with Common JWT, its bearer token through the pod's
// /login/idm/tokens, or by a new login if the pod refuses the session there;
// otherwise by a new login.
func (b *botLogin) refresh(ctx context.Context, old *Token) (*Token, error) {
	if b.commonJWT == nil || old == nil || !old.CommonJWT {
		return b.token(ctx)
	}
	report := login.ReportOf(ctx)
	report.SetSource(b.workflow, b.user, "")
	report.SetRenewal(true)
	tok, err := b.commonJWT.renew(ctx, b.caller, old)
	if isUnauthorized(err) {
		return b.token(ctx)
	}
	return tok, err
}
