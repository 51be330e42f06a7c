package symauth_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// gatedSigner signs with key once gate is closed, or after wait: a slow HSM.
type gatedSigner struct {
	key  *rsa.PrivateKey
	gate <-chan struct{}
	wait time.Duration
	// gated is sent true when gate opened first, false when wait ran out.
	gated chan<- bool
}

func (s gatedSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s gatedSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	select {
	case <-s.gate:
		s.gated <- true
	case <-time.After(s.wait):
		s.gated <- false
	}
	return s.key.Sign(r, digest, opts)
}

// A login dials the pod while its JWT is being signed: the signature waits
// for the login client's dial here, and with a login that dials only once
// it has signed, it would wait in vain.
func TestRSALoginDialsWhileSigning(t *testing.T) {
	srv := newPod(t)
	dialed := make(chan struct{})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: srv.CertPool()}, ForceAttemptHTTP2: true}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		select {
		case <-dialed:
		default:
			close(dialed)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	t.Cleanup(tr.CloseIdleConnections)
	gated := make(chan bool, 4)
	cfg := rsaConfig(srv)
	cfg.HTTPClient = &http.Client{Transport: tr}
	cfg.PrivateKey = gatedSigner{key: botKey(), gate: dialed, wait: 5 * time.Second, gated: gated}
	tok, err := newRSA(t, cfg).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.SessionToken == "" || tok.KeyManagerToken == "" {
		t.Fatal("no session or key manager token")
	}
	if !<-gated {
		t.Error("the login dialled only after its JWT was signed")
	}
	if n := srv.Calls(symauthtest.PathLogin); n != 1 {
		t.Errorf("%d pod logins; want 1", n)
	}
}

// failingSigner fails every signature, or returns one of the wrong length.
type failingSigner struct {
	key   *rsa.PrivateKey
	short bool
}

var errHSM = errors.New("hsm: device not ready")

func (s failingSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	if s.short {
		return []byte("short"), nil
	}
	return nil, errHSM
}

// A signature that fails, or has not the key's length, ends the login at
// once: one attempt, an *AuthError naming the pod login and, for a failure,
// wrapping the signer's error.
func TestRSALoginSignerFailure(t *testing.T) {
	for _, short := range []bool{false, true} {
		srv := newPod(t)
		cfg := rsaConfig(srv)
		cfg.PrivateKey = failingSigner{key: botKey(), short: short}
		var attempts int
		cfg.Retry = symauth.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond}
		sess := symauth.NewSessionWithOptions(newRSA(t, cfg), symauth.SessionOptions{OnLogin: func(ev symauth.LoginEvent) { attempts = ev.Attempts }})
		_, err := sess.Token(context.Background())
		var authErr *symauth.AuthError
		if !errors.As(err, &authErr) || authErr.Endpoint != symauthtest.PathLogin {
			t.Fatalf("short=%v: err = %v; want an *AuthError of the pod login", short, err)
		}
		if !short && !errors.Is(err, errHSM) {
			t.Errorf("the error does not wrap the signer's: %v", err)
		}
		if short && !strings.Contains(err.Error(), "unexpected length") {
			t.Errorf("the error does not say what is wrong: %v", err)
		}
		if attempts != 1 {
			t.Errorf("short=%v: %d attempts; want 1 (no retry signs better)", short, attempts)
		}
	}
}

// brokenSigner panics, or calls runtime.Goexit, as a broken HSM library
// or a t.FailNow in a test's signer does.
type brokenSigner struct {
	key    *rsa.PrivateKey
	goexit bool
}

func (s brokenSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s brokenSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	if s.goexit {
		runtime.Goexit()
	}
	panic("hsm: segfault in the vendor library")
}

// A signer that panics or exits its goroutine while the login's request is
// already on its way fails the login with an error; the process goes on. In
// a child process, since a panic there would end it.
func TestRSALoginSignerPanicIsAnError(t *testing.T) {
	inChild(t, func(t *testing.T) {
		for _, goexit := range []bool{false, true} {
			srv := newPod(t)
			cfg := rsaConfig(srv)
			cfg.PrivateKey = brokenSigner{key: botKey(), goexit: goexit}
			_, err := symauth.NewSession(newRSA(t, cfg)).Token(context.Background())
			if err == nil || !strings.Contains(err.Error(), "signer") {
				t.Errorf("goexit=%v: err = %v; want the signer's failure", goexit, err)
			}
		}
	})
}
