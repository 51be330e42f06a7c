package symauth

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/symauth/symauth/internal/login"
)

// Common JWT (opt-in): API calls carry "Authorization: Bearer <jwt>" instead
// of the sessionToken header. The bearer token is short-lived: the Session
// renews it shortly before its exp through the pod's /login/idm/tokens, and
// logs in again when the pod refuses the session there.

const idmTokensPath = "/login/idm/tokens"

const bearerPrefix = "Bearer "

// commonJWT renews bearer tokens. It is safe for concurrent use.
type commonJWT struct {
	idmTokensURL string // pod + idmTokensPath
	now          func() time.Time
}

func newCommonJWT(podURL string) *commonJWT {
	return &commonJWT{idmTokensURL: podURL + idmTokensPath, now: time.Now}
}

// idmAnswer is the answer of /login/idm/tokens.
type idmAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"` // seconds
}

func (a *idmAnswer) Required() (string, string) { return a.AccessToken, "access_token" }

// renew returns a copy of old with a new bearer token and its expiry. A pod
// that refuses the session answers 401: see isUnauthorized.
func (c *commonJWT) renew(ctx context.Context, caller loginCaller, old *Token) (*Token, error) {
	var ans idmAnswer
	err := caller.call(ctx, login.Request{
		URL: c.idmTokensURL, Endpoint: idmTokensPath,
		Header: http.Header{canonicalSessionToken: {old.SessionToken}},
	}, &ans)
	if err != nil {
		return nil, err
	}
	tok := *old
	tok.AuthorizationToken = withBearerPrefix(ans.AccessToken)
	tok.Expiry = bearerExpiry(tok.AuthorizationToken)
	if tok.Expiry.IsZero() && ans.ExpiresIn > 0 {
		tok.Expiry = c.now().Add(time.Duration(ans.ExpiresIn) * time.Second)
	}
	return &tok, nil
}

// withBearerPrefix adds "Bearer " to a token that lacks it.
func withBearerPrefix(token string) string {
	if len(token) >= len(bearerPrefix) && strings.EqualFold(token[:len(bearerPrefix)], bearerPrefix) {
		return token
	}
	return bearerPrefix + token
}

// bearerExpiry reads the exp claim of a "Bearer <jwt>" value without verifying
// it; zero when there is none.
func bearerExpiry(bearer string) time.Time {
	var claims struct {
		Exp int64 `json:"exp"`
	}
	jwt := bearer
	if len(jwt) >= len(bearerPrefix) && strings.EqualFold(jwt[:len(bearerPrefix)], bearerPrefix) {
		jwt = jwt[len(bearerPrefix):]
	}
	if decodeJWTPayload(jwt, &claims) != nil || claims.Exp <= 0 {
		return time.Time{}
	}
	return time.Unix(claims.Exp, 0)
}
