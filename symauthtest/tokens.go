package symauthtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// tokenKind says which service issued a token.
type tokenKind int

const (
	sessionKind    tokenKind = iota // pod session token, header "sessionToken"
	keyManagerKind                  // key manager token, header "keyManagerToken"
)

// name is the token's header name, as the login answer's "name" field says.
func (k tokenKind) name() string {
	if k == keyManagerKind {
		return "keyManagerToken"
	}
	return "sessionToken"
}

// grant is what a live token stands for. A session token stands for a
// user's session (user set, app empty), an app's session (user nil, app set)
// or an on-behalf-of session of app for user (both set).
type grant struct {
	user      *user
	app       string // the app id of an app session or an on-behalf-of session
	sessionID string // the sessionId claim of a session token; "" for a key manager token
	issued    time.Time
	skd       bool // the session token carries canUseSimplifiedKeyDelivery
}

// obo reports whether g is an on-behalf-of session: a user's session opened
// by an app, which the agent accepts without a key manager token.
func (g grant) obo() bool { return g.user != nil && g.app != "" }

// MaxSessionsPerUser is how many live tokens of each kind (session tokens,
// key manager tokens) one user, or one app, holds at most, like a real pod's
// limit on concurrent sessions. A login beyond it ends the owner's oldest
// token of that kind: the next call with it answers 401. On-behalf-of
// sessions count among their user's sessions. With it, the server's memory
// stays bounded under a sustained login load even when sessions never end
// by age (SessionLifetime 0).
const MaxSessionsPerUser = 1000

// tokenStore holds the issued tokens of both kinds. A token ends when
// RevokeSessions runs, when its owner logs in more than perOwner times
// after it, and is not live while its grant is older than the current
// lifetime (checked lazily at use; aged tokens are pruned in sweeps). Session
// tokens are also indexed by session id, for bearer tokens. Safe for
// concurrent use.
type tokenStore struct {
	mu        sync.Mutex
	lifetime  time.Duration // <= 0: tokens never end by age
	live      [2]map[string]grant
	sweepSize [2]int            // prune aged grants when a map reaches this size
	bySession map[string]string // session id -> session token, for every session token in live

	// perOwner is the most tokens of a kind one owner holds (see
	// MaxSessionsPerUser); owned lists each owner's tokens of a kind, oldest
	// first. A token pruned or revoked may stay listed until it is the
	// oldest; a list never holds more than perOwner tokens.
	perOwner int
	owned    [2]map[string][]string
}

// minSweep is the smallest map size at which aged grants are pruned.
const minSweep = 1024

func (t *tokenStore) init(lifetime time.Duration) {
	t.lifetime = lifetime
	t.perOwner = MaxSessionsPerUser
	t.bySession = make(map[string]string)
	for k := range t.live {
		t.live[k] = make(map[string]grant)
		t.owned[k] = make(map[string][]string)
		t.sweepSize[k] = minSweep
	}
}

// ownerOf names whose token g is: its user's (for an on-behalf-of session
// too) or, for an app session, its app's.
func ownerOf(g grant) string {
	if g.user != nil {
		return "user " + strconv.FormatInt(g.user.id, 10)
	}
	return "app " + g.app
}

// remove forgets token, a token of kind. Call with mu held.
func (t *tokenStore) remove(kind tokenKind, token string) {
	g, ok := t.live[kind][token]
	if !ok {
		return
	}
	delete(t.live[kind], token)
	if g.sessionID != "" && t.bySession[g.sessionID] == token {
		delete(t.bySession, g.sessionID)
	}
}

// aged reports whether g is past the lifetime at now. Call with mu held.
func (t *tokenStore) aged(g grant, now time.Time) bool {
	return t.lifetime > 0 && !now.Before(g.issued.Add(t.lifetime))
}

// add records token as live. Call it with a token nobody else has. It ends
// the owner's oldest tokens of kind beyond perOwner, and prunes aged grants
// once the map has doubled since the last prune, so that a long-running
// emulator does not grow without bound, with a lifetime or without.
func (t *tokenStore) add(kind tokenKind, token string, g grant, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.live[kind]
	m[token] = g
	if g.sessionID != "" {
		t.bySession[g.sessionID] = token
	}
	owner := ownerOf(g)
	q := append(t.owned[kind][owner], token)
	for len(q) > t.perOwner {
		t.remove(kind, q[0])
		q[0] = "" // let the string go
		q = q[1:]
	}
	t.owned[kind][owner] = q
	if len(m) < t.sweepSize[kind] {
		return
	}
	for tok, old := range m {
		if t.aged(old, now) {
			t.remove(kind, tok)
		}
	}
	t.sweepSize[kind] = max(minSweep, 2*len(m))
}

// size returns how many tokens of kind the store holds, live or aged but not
// yet pruned, and how many entries its indexes hold; for tests.
func (t *tokenStore) size(kind tokenKind) (tokens, indexed int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, q := range t.owned[kind] {
		indexed += len(q)
	}
	if kind == sessionKind {
		indexed += len(t.bySession)
	}
	return len(t.live[kind]), indexed
}

// lookup returns the grant of a live token.
func (t *tokenStore) lookup(kind tokenKind, token string, now time.Time) (grant, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g, ok := t.live[kind][token]
	if !ok || t.aged(g, now) {
		return grant{}, false
	}
	return g, true
}

// lookupSession returns the grant of the live session token whose session id
// is id.
func (t *tokenStore) lookupSession(id string, now time.Time) (grant, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	token, ok := t.bySession[id]
	if !ok {
		return grant{}, false
	}
	g, ok := t.live[sessionKind][token]
	if !ok || t.aged(g, now) {
		return grant{}, false
	}
	return g, true
}

// revoke ends every token and returns how many session tokens were still live.
func (t *tokenStore) revoke(now time.Time) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, g := range t.live[sessionKind] {
		if !t.aged(g, now) {
			n++
		}
	}
	for k := range t.live {
		clear(t.live[k])
		clear(t.owned[k])
		t.sweepSize[k] = minSweep
	}
	clear(t.bySession)
	return n
}

func (t *tokenStore) setLifetime(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lifetime = d
}

// RevokeSessions ends every live session token and key manager token now, as
// an administrator ending all sessions would: the next pod or agent call with
// one of them, or with a bearer token of one of the sessions, answers 401.
// App sessions and on-behalf-of sessions end too. It returns how many session
// tokens (of users, apps and on-behalf-of) were live (key manager tokens are
// ended too but not counted). Safe for concurrent use.
func (s *Server) RevokeSessions() int {
	return s.tokens.revoke(s.now())
}

// SetSessionLifetime changes how long session and key manager tokens live
// after their login (user, app and on-behalf-of sessions alike); d <= 0 means
// forever. It applies to tokens already
// issued too: a token is live while Options.Now is before its issue time plus
// the current lifetime, so moving an injected clock past the lifetime ends
// it (and refuses login JWTs signed with the real clock: see Options.Now),
// and lengthening the lifetime revives it (unless the server has
// forgotten it: once more than 1024 tokens are live, tokens past the
// lifetime may be pruned at a login). Whatever the lifetime, a user holds at
// most MaxSessionsPerUser tokens of each kind. Safe for concurrent use.
func (s *Server) SetSessionLifetime(d time.Duration) {
	s.tokens.setLifetime(d)
}

// issueKeyManager makes a new key manager token for u, 128 random hex
// characters, and records it as live.
func (s *Server) issueKeyManager(u *user) (string, error) {
	token, err := randomHex(64)
	if err != nil {
		return "", err
	}
	now := s.now()
	s.tokens.add(keyManagerKind, token, grant{user: u, issued: now}, now)
	return token, nil
}

// issueSession makes a new session token for g's user or app (g.user, g.app)
// and records it as live; it returns the token and the completed grant.
//
// The token is shaped like a real pod's: a JWT with claims sub (the
// username, or the app id of an app session), userId (not for an app
// session), sessionId, iat and, for a user with simplified key delivery,
// canUseSimplifiedKeyDelivery. It is signed HS512 with the server's own key,
// or RS512 with its RSA key, like a real pod's, with Options.RS512Tokens (see
// tokensign.go). The server never verifies it: a session token is live while
// the store holds it.
func (s *Server) issueSession(g grant) (string, grant, error) {
	var err error
	if g.sessionID, err = randomHex(16); err != nil {
		return "", grant{}, err
	}
	now := s.now()
	g.issued = now
	claims := &tokenClaims{SessionID: g.sessionID}
	claims.IssuedAt = jwt.NewNumericDate(now)
	if g.user == nil {
		claims.Subject = g.app
	} else {
		claims.Subject = g.user.name
		claims.UserID = g.user.id
		g.skd = s.skd.Load()
		claims.SKD = g.skd
	}
	token, err := s.signToken("session", claims)
	if err != nil {
		return "", grant{}, err
	}
	s.tokens.add(sessionKind, token, g, now)
	return token, g, nil
}

// generateSigningKey makes the RSA key that signs a server's user identity
// JWTs (and, with Options.RS512Tokens, its session and bearer tokens).
func generateSigningKey() (*rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate session signing key: %w", err)
	}
	return key, nil
}

// randomHex returns n random bytes in hex.
func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}
