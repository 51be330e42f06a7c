package symauthtest

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Common JWT: short-lived bearer tokens bound to a user's session.
const (
	defaultBearerLifetime = 5 * time.Minute
	headerAuthorization   = "Authorization"
	bearerPrefix          = "Bearer "
)

// idmToken is the login API's JwtToken, as POST /login/idm/tokens answers it.
type idmToken struct {
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	AccessToken string `json:"access_token"`
}

// SetBearerLifetime changes the lifetime of the Common JWT bearer tokens
// issued from now on (the authorizationToken of login answers and the
// access_token of PathIDMTokens); d <= 0 means 5 minutes. A bearer token's
// expiry is fixed when it is issued. Safe for concurrent use.
func (s *Server) SetBearerLifetime(d time.Duration) {
	if d <= 0 {
		d = defaultBearerLifetime
	}
	s.bearerLife.Store(int64(d))
}

// issueBearer signs a bearer token for the user session g (HS512 with the
// server's own key, or RS512 with its RSA key with Options.RS512Tokens: see
// tokensign.go), claims sub (the username), userId, sessionId (g's), iat,
// exp (now + the bearer lifetime) and a random jti, so that two bearer
// tokens are never equal. It returns the JWT, without the "Bearer " prefix,
// and its lifetime.
func (s *Server) issueBearer(g grant) (string, time.Duration, error) {
	jti, err := randomHex(16)
	if err != nil {
		return "", 0, err
	}
	life := time.Duration(s.bearerLife.Load())
	now := s.now()
	token, err := s.signToken("bearer", &tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Subject:   g.user.name,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(life)),
			ID:        jti,
		},
		UserID:    g.user.id,
		SessionID: g.sessionID,
	})
	if err != nil {
		return "", 0, err
	}
	return token, life, nil
}

// checkBearer returns the grant of the live user session that the bearer
// token raw (without "Bearer ") belongs to, or why it is refused: it must be
// a JWT signed by this server as it signs its bearer tokens (HS512 with its
// own key, or RS512 with Options.RS512Tokens; no other alg), with an exp
// after Options.Now, naming a session that is still live.
func (s *Server) checkBearer(raw string, now time.Time) (grant, string) {
	key, err := s.tokenVerifyKey()
	if err != nil {
		return grant{}, "the server has no signing key: " + err.Error()
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{s.tokenSigner.method.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }),
	)
	claims := jwt.MapClaims{}
	_, err = parser.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return key, nil })
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return grant{}, "bearer token expired"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return grant{}, "the bearer token has no exp claim (a session token is not a bearer token)"
	case err != nil:
		return grant{}, "the bearer token is not a valid JWT signed by this server"
	}
	sid, _ := claims["sessionId"].(string)
	if sid == "" {
		return grant{}, "the bearer token names no session"
	}
	g, ok := s.tokens.lookupSession(sid, now)
	if !ok {
		return grant{}, "the bearer token's session is unknown or has ended"
	}
	return g, ""
}

// bearerToken returns the token of an "Authorization: Bearer <token>" header
// value; the scheme is case-insensitive.
func bearerToken(header string) (string, bool) {
	if len(header) < len(bearerPrefix) || !strings.EqualFold(header[:len(bearerPrefix)], bearerPrefix) {
		return "", false
	}
	token := strings.TrimSpace(header[len(bearerPrefix):])
	return token, token != ""
}

// handleIDMTokens serves POST /login/idm/tokens: header sessionToken (a live
// user session) → a new bearer token for that session. The scope query
// parameter is ignored.
func (s *Server) handleIDMTokens(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		s.methodNotAllowed(w, r, http.MethodPost)
		return
	}
	g, reason := s.sessionFromHeader(r, s.now())
	if reason == "" && g.user == nil {
		reason = "the session token is an app session; bearer tokens are for user sessions"
	}
	if reason != "" {
		s.refuse(r, reason)
		writeError(w, http.StatusUnauthorized, invalidSession)
		return
	}
	token, life, err := s.issueBearer(g)
	if err != nil {
		s.logf("bearer token failed: user %s on %s: %v", shown(g.user.name), r.URL.Path, err)
		writeError(w, http.StatusInternalServerError, "symauthtest: cannot issue a token")
		return
	}
	s.logf("bearer token issued: user %s (id %d) on %s", shown(g.user.name), g.user.id, r.URL.Path)
	writeJSON(w, http.StatusOK, idmToken{TokenType: "Bearer", ExpiresIn: int64(life / time.Second), AccessToken: token})
}
