package symauthtest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// firstUserID is one less than the first user id handed out; ids look like a
// real pod's (15 digits, a tenant-specific prefix).
const firstUserID int64 = 349026222342000

// user is one registered account. Values are never modified after they are
// stored, so a *user read under the lock may be used without it.
type user struct {
	name      string
	id        int64
	rsaKey    *rsa.PublicKey // nil: no RSA login
	certLogin bool           // certificate login allowed
}

// userStore holds the registered users. Users are never removed, and a
// user's id never changes. Safe for concurrent use.
type userStore struct {
	mu     sync.RWMutex
	byName map[string]*user
	byID   map[int64]*user
	lastID int64
}

func (u *userStore) init() {
	u.byName = make(map[string]*user)
	u.byID = make(map[int64]*user)
	u.lastID = firstUserID
}

// lookup returns the user called name, or nil.
func (u *userStore) lookup(name string) *user {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.byName[name]
}

// lookupID returns the user whose id is id, or nil.
func (u *userStore) lookupID(id int64) *user {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return u.byID[id]
}

// lookupEmail returns the user whose e-mail address (see emailOf) is email,
// compared without case, or nil; of two such users ("bob" and
// "bob@example.com"), the one registered first.
func (u *userStore) lookupEmail(email string) *user {
	u.mu.RLock()
	defer u.mu.RUnlock()
	var found *user
	for _, x := range u.byName {
		if strings.EqualFold(emailOf(x), email) && (found == nil || x.id < found.id) {
			found = x
		}
	}
	return found
}

// update applies change to a copy of name's record (a new record, with a new
// id, if there is none), stores the copy and returns it.
func (u *userStore) update(name string, change func(*user)) *user {
	u.mu.Lock()
	defer u.mu.Unlock()
	var next user
	if old := u.byName[name]; old != nil {
		next = *old
	} else {
		u.lastID++
		next = user{name: name, id: u.lastID}
	}
	change(&next)
	u.byName[name] = &next
	u.byID[next.id] = &next
	return &next
}

// UserID returns the id of the registered user called username, as
// RegisterUser returned it, and whether there is such a user. Safe for
// concurrent use.
func (s *Server) UserID(username string) (int64, bool) {
	u := s.users.lookup(username)
	if u == nil {
		return 0, false
	}
	return u.id, true
}

// RegisterUser registers username with an RSA public key (*rsa.PublicKey) for
// RSA login on /login and /relay, and returns the user's id, which looks like
// a pod's (a large int64). Registering the same username again replaces the
// key and keeps the id and any certificate login; sessions already issued stay
// live. It fails for an empty username or a key that is not an RSA public key.
// Safe for concurrent use.
func (s *Server) RegisterUser(username string, pub crypto.PublicKey) (userID int64, err error) {
	if username == "" {
		return 0, errors.New("symauthtest: RegisterUser: empty username")
	}
	key, err := rsaPublicKey(pub)
	if err != nil {
		return 0, fmt.Errorf("symauthtest: RegisterUser: %w", err)
	}
	u := s.users.update(username, func(u *user) { u.rsaKey = key })
	return u.id, nil
}

// NewUser generates a 2048-bit RSA key, registers its public half for
// username (see RegisterUser) and returns the private key, ready to sign
// login JWTs. Safe for concurrent use.
func (s *Server) NewUser(username string) (*rsa.PrivateKey, error) {
	if username == "" {
		return nil, errors.New("symauthtest: NewUser: empty username")
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("symauthtest: NewUser: generate key: %w", err)
	}
	if _, err := s.RegisterUser(username, &key.PublicKey); err != nil {
		return nil, err
	}
	return key, nil
}

// IssueClientCertificate returns a client certificate signed by the server's
// CA, with CN = username, an ECDSA P-256 key, ExtKeyUsageClientAuth and Leaf
// set, and allows username to log in with any certificate from this CA on
// /sessionauth and /keyauth. An RSA key registered for the same username
// stays registered. Safe for concurrent use.
func (s *Server) IssueClientCertificate(username string) (tls.Certificate, error) {
	if username == "" {
		return tls.Certificate{}, errors.New("symauthtest: IssueClientCertificate: empty username")
	}
	cert, err := s.ca.clientCertificate(username)
	if err != nil {
		return tls.Certificate{}, err
	}
	s.users.update(username, func(u *user) { u.certLogin = true })
	return cert, nil
}
