package symauthtest

import (
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"sync"
)

// app is one registered application: an on-behalf-of (OBO) app, an extension
// app, or both, as on a real pod. Values are never modified after they are
// stored, so an *app read under the lock may be used without it.
type app struct {
	id        string
	rsaKey    *rsa.PublicKey // nil: no RSA app login
	certLogin bool           // certificate app login allowed
	installed map[int64]bool // ids of the users who installed the app; never modified once stored
}

// appStore holds the registered apps. Apps are never removed. Safe for
// concurrent use.
type appStore struct {
	mu   sync.RWMutex
	byID map[string]*app
}

func (a *appStore) init() {
	a.byID = make(map[string]*app)
}

// lookup returns the app whose id is id, or nil.
func (a *appStore) lookup(id string) *app {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.byID[id]
}

// update applies change to a copy of id's record (a new record if there is
// none), stores the copy and returns it. change must not modify the old
// record's installed map: it replaces it with a new one.
func (a *appStore) update(id string, change func(*app)) *app {
	a.mu.Lock()
	defer a.mu.Unlock()
	next := app{id: id}
	if old := a.byID[id]; old != nil {
		next = *old
	}
	change(&next)
	a.byID[id] = &next
	return &next
}

// RegisterApp registers the application appID with an RSA public key
// (*rsa.PublicKey): it can then log in on PathAppLogin (the first step of
// on-behalf-of authentication) and on PathExtensionApp, with JWTs whose sub is
// appID. Apps and users are separate: an app id may equal a username.
// Registering the same app again replaces the key and keeps its certificate
// login and installations; sessions already issued stay live. It fails for an
// empty appID or a key that is not an RSA public key. Safe for concurrent use.
func (s *Server) RegisterApp(appID string, pub crypto.PublicKey) error {
	if appID == "" {
		return errors.New("symauthtest: RegisterApp: empty app id")
	}
	key, err := rsaPublicKey(pub)
	if err != nil {
		return fmt.Errorf("symauthtest: RegisterApp: %w", err)
	}
	s.apps.update(appID, func(a *app) { a.rsaKey = key })
	return nil
}

// IssueAppCertificate returns a client certificate signed by the server's
// CA, with CN = appID, an ECDSA P-256 key, ExtKeyUsageClientAuth and Leaf
// set, and registers appID (if it is not already) for certificate app login
// on PathCertAppLogin with any certificate from this CA whose CN is appID. An
// RSA key registered for the app stays registered. Safe for concurrent use.
func (s *Server) IssueAppCertificate(appID string) (tls.Certificate, error) {
	if appID == "" {
		return tls.Certificate{}, errors.New("symauthtest: IssueAppCertificate: empty app id")
	}
	cert, err := s.ca.clientCertificate(appID)
	if err != nil {
		return tls.Certificate{}, err
	}
	s.apps.update(appID, func(a *app) { a.certLogin = true })
	return cert, nil
}

// InstallApp records that the users called usernames have installed the
// registered app appID, which lets the app act on their behalf: the
// on-behalf-of step for another user answers 403. Installing twice is
// harmless. It fails, installing nothing, if the app or one of the users is
// not registered. OBO sessions already issued are not affected by later
// changes. Safe for concurrent use.
func (s *Server) InstallApp(appID string, usernames ...string) error {
	if s.apps.lookup(appID) == nil {
		return fmt.Errorf("symauthtest: InstallApp: unknown app %s", shown(appID))
	}
	ids := make([]int64, 0, len(usernames))
	for _, name := range usernames {
		u := s.users.lookup(name)
		if u == nil {
			return fmt.Errorf("symauthtest: InstallApp: unknown user %s", shown(name))
		}
		ids = append(ids, u.id)
	}
	// Apps are never removed, so appID is still registered here.
	s.apps.update(appID, func(a *app) {
		installed := maps.Clone(a.installed)
		if installed == nil {
			installed = make(map[int64]bool, len(ids))
		}
		for _, id := range ids {
			installed[id] = true
		}
		a.installed = installed
	})
	return nil
}

// rsaPublicKey returns a copy of pub if it is a usable *rsa.PublicKey.
func rsaPublicKey(pub crypto.PublicKey) (*rsa.PublicKey, error) {
	key, ok := pub.(*rsa.PublicKey)
	if !ok || key == nil || key.N == nil {
		if _, private := pub.(*rsa.PrivateKey); private {
			return nil, errors.New("got an *rsa.PrivateKey; pass its Public()")
		}
		return nil, fmt.Errorf("want an *rsa.PublicKey, got %T", pub)
	}
	copied := *key
	return &copied, nil
}
