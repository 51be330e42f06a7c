package symauthtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
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

// grant is what a live token stands for.
type grant struct {
	user   *user
	issued time.Time
	skd    bool // the session token carries canUseSimplifiedKeyDelivery
}

// tokenStore holds the issued tokens of both kinds. A token ends when
// RevokeSessions runs, and is not live while its grant is older than the
// current lifetime (checked lazily at use). Safe for concurrent use.
type tokenStore struct {
	mu        sync.Mutex
	lifetime  time.Duration // <= 0: tokens never end by age
	live      [2]map[string]grant
	sweepSize [2]int // prune aged grants when a map reaches this size
}

// minSweep is the smallest map size at which aged grants are pruned.
const minSweep = 1024

func (t *tokenStore) init(lifetime time.Duration) {
	t.lifetime = lifetime
	for k := range t.live {
		t.live[k] = make(map[string]grant)
		t.sweepSize[k] = minSweep
	}
}

// aged reports whether g is past the lifetime at now. Call with mu held.
func (t *tokenStore) aged(g grant, now time.Time) bool {
	return t.lifetime > 0 && !now.Before(g.issued.Add(t.lifetime))
}

// add records token as live. Call it with a token nobody else has. It prunes
// aged grants once the map has doubled since the last prune, so a long-running
// emulator with a lifetime does not grow without bound.
func (t *tokenStore) add(kind tokenKind, token string, g grant, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.live[kind]
	m[token] = g
	if len(m) < t.sweepSize[kind] {
		return
	}
	for tok, old := range m {
		if t.aged(old, now) {
			delete(m, tok)
		}
	}
	t.sweepSize[kind] = max(minSweep, 2*len(m))
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
		t.sweepSize[k] = minSweep
	}
	return n
}

func (t *tokenStore) setLifetime(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lifetime = d
}

// RevokeSessions ends every live session token and key manager token now, as
// an administrator ending all sessions would: the next pod or agent call with
// one of them answers 401. It returns how many session tokens were live (key
// manager tokens are ended too but not counted). Safe for concurrent use.
func (s *Server) RevokeSessions() int {
	return s.tokens.revoke(s.now())
}

// SetSessionLifetime changes how long session and key manager tokens live
// after their login; d <= 0 means forever. It applies to tokens already
// issued too: a token is live while Options.Now is before its issue time plus
// the current lifetime, so moving an injected clock past the lifetime ends
// it, and lengthening the lifetime revives it (unless the server has
// forgotten it: once more than 1024 tokens are live, tokens past the
// lifetime may be pruned at a login). Safe for concurrent use.
func (s *Server) SetSessionLifetime(d time.Duration) {
	s.tokens.setLifetime(d)
}

// issue makes a new token of kind for u and records it as live.
//
// A session token is shaped like a real pod's: an RS512 JWT signed with a
// server-owned key, claims sub, userId, sessionId, iat and, with simplified
// key delivery, canUseSimplifiedKeyDelivery. A key manager token is 128
// random hex characters.
func (s *Server) issue(kind tokenKind, u *user) (string, error) {
	now := s.now()
	g := grant{user: u, issued: now}
	var token string
	if kind == keyManagerKind {
		var err error
		if token, err = randomHex(64); err != nil {
			return "", err
		}
	} else {
		key, err := s.signer()
		if err != nil {
			return "", err
		}
		sessionID, err := randomHex(16)
		if err != nil {
			return "", err
		}
		claims := jwt.MapClaims{
			"sub":       u.name,
			"userId":    u.id,
			"sessionId": sessionID,
			"iat":       now.Unix(),
		}
		if s.skd {
			claims["canUseSimplifiedKeyDelivery"] = true
			g.skd = true
		}
		if token, err = jwt.NewWithClaims(jwt.SigningMethodRS512, claims).SignedString(key); err != nil {
			return "", fmt.Errorf("sign session token: %w", err)
		}
	}
	s.tokens.add(kind, token, g, now)
	return token, nil
}

// generateSigningKey makes the RSA key that signs a server's session tokens.
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
