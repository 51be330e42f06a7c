package extapp

import (
	"context"
	"sync"
	"time"
)

// TokenStore keeps the (app token, Symphony token) pairs that Authenticate
// obtained, for ValidateTokens. The default keeps them in memory; several
// backend replicas behind a load balancer share theirs through a store of
// their own (a database, Redis), as BDK Java's ExtensionAppTokensRepository
// does. Implementations must be safe for concurrent use.
type TokenStore interface {
	// Save keeps t until t.ExpireAt (or, when it is zero, for a while).
	Save(ctx context.Context, t Tokens) error
	// Load returns the pair of appToken; ok is false when there is none,
	// or when it has expired.
	Load(ctx context.Context, appToken string) (t Tokens, ok bool, err error)
}

// pairWithoutExpiry is how long the memory store keeps a pair whose
// ExpireAt is zero (a pod that answered none).
const pairWithoutExpiry = time.Hour

// memoryStore is the default TokenStore. Expired pairs are pruned at each
// Save and Load.
type memoryStore struct {
	now   func() time.Time
	mu    sync.Mutex
	pairs map[string]storedPair
}

type storedPair struct {
	tokens Tokens
	until  time.Time
}

func newMemoryStore(now func() time.Time) *memoryStore {
	return &memoryStore{now: now, pairs: map[string]storedPair{}}
}

func (m *memoryStore) Save(_ context.Context, t Tokens) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	m.prune(now)
	until := t.ExpireAt
	if until.IsZero() {
		until = now.Add(pairWithoutExpiry)
	}
	m.pairs[t.AppToken] = storedPair{tokens: t, until: until}
	return nil
}

func (m *memoryStore) Load(_ context.Context, appToken string) (Tokens, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prune(m.now())
	p, ok := m.pairs[appToken]
	return p.tokens, ok, nil
}

// prune forgets expired pairs. m.mu is held.
func (m *memoryStore) prune(now time.Time) {
	for k, p := range m.pairs {
		if !now.Before(p.until) {
			delete(m.pairs, k)
		}
	}
}
