package bench

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"sync"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// BotUsername is the bot that every Fixture registers.
const BotUsername = "bench-bot"

// Keys generated once per process: key generation is slow (4096 bits can
// take seconds) and its cost is not what is measured.
var (
	key2048 = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
	key4096 = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 4096) })
)

// Key returns this process's RSA key of 2048 or 4096 bits, generating it on
// first use. It is safe for concurrent use.
func Key(bits int) (*rsa.PrivateKey, error) {
	switch bits {
	case 2048:
		return key2048()
	case 4096:
		return key4096()
	}
	return nil, fmt.Errorf("bench: no %d-bit key (2048 or 4096)", bits)
}

// Fixture is a symauthtest server (pod, key manager and agent on one
// loopback HTTPS listener) with BotUsername registered for RSA login, and the
// connections every client of the benchmarks reaches it through.
type Fixture struct {
	Server *symauthtest.Server
	Key    *rsa.PrivateKey
	Conns  *ConnPool // carries every call to Server, logins included
	client *http.Client
}

// NewFixture starts a server, registers the bot with key (nil: Key(2048)),
// and opens enough HTTP/2 connections for inFlight requests at once. Close
// it.
func NewFixture(ctx context.Context, key *rsa.PrivateKey, inFlight int) (*Fixture, error) {
	if key == nil {
		var err error
		if key, err = Key(2048); err != nil {
			return nil, err
		}
	}
	srv, err := symauthtest.Start(symauthtest.Options{})
	if err != nil {
		return nil, err
	}
	f := &Fixture{Server: srv, Key: key, Conns: NewConnPool(srv.Client().Transport.(*http.Transport), ConnsFor(inFlight))}
	f.client = &http.Client{Transport: f.Conns}
	if _, err := srv.RegisterUser(BotUsername, &key.PublicKey); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Conns.Open(ctx, srv.URL+symauthtest.PathAgentInfo); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Close closes the connections and stops the server.
func (f *Fixture) Close() {
	f.Conns.CloseIdleConnections()
	f.Server.Close()
}

// Client is an HTTP client over Conns.
func (f *Fixture) Client() *http.Client { return f.client }

// RSA returns the bot's symauth RSA login (it logs in on every Token call)
// through Conns, with signer as its key (nil: f.Key).
func (f *Fixture) RSA(signer crypto.Signer) (*symauth.RSA, error) {
	if signer == nil {
		signer = f.Key
	}
	return symauth.NewRSA(symauth.RSAConfig{
		PodURL:     f.Server.URL,
		Username:   BotUsername,
		PrivateKey: signer,
		HTTPClient: f.client,
	})
}

// Symauth returns a symauth Transport for the bot over Conns: the client
// under test.
func (f *Fixture) Symauth() (*symauth.Transport, error) {
	login, err := f.RSA(nil)
	if err != nil {
		return nil, err
	}
	return symauth.NewTransport(login, f.Conns), nil
}

// Uncoordinated returns the SDK-style peer for the bot over Conns, logging
// in with the same symauth RSA login, so that the only difference from
// Symauth is how re-logins are coordinated.
func (f *Fixture) Uncoordinated() (*Uncoordinated, error) {
	login, err := f.RSA(nil)
	if err != nil {
		return nil, err
	}
	return &Uncoordinated{Login: login, Base: f.Conns}, nil
}

// Sequential returns the SDK-style sequential login of the bot through
// Conns.
func (f *Fixture) Sequential() *SequentialLogin {
	return &SequentialLogin{
		PodURL:        f.Server.URL,
		KeyManagerURL: f.Server.URL,
		Username:      BotUsername,
		Key:           f.Key,
		Client:        f.client,
	}
}
