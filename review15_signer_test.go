package symauth_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// panickingSigner is an HSM binding with a bug: its Sign panics.
type panickingSigner struct{ key *rsa.PrivateKey }

func (s panickingSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s panickingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	panic("hsm binding bug")
}

// Behaviour 14: a panic in code plugged into a login (here the user's
// crypto.Signer, called by the RSA source) reaches the caller as an error
// carrying the panic's value; the process goes on. In a child process, so a
// crash shows as one.
func TestReview15SignerPanicIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  func(t *testing.T, srv *symauthtest.Server) symauth.TokenSource
	}{
		{"bot", func(t *testing.T, srv *symauthtest.Server) symauth.TokenSource {
			cfg := rsaConfig(srv)
			cfg.PrivateKey = panickingSigner{botKey()}
			return symauth.NewSession(newRSA(t, cfg))
		}},
		{"obo app", func(t *testing.T, srv *symauthtest.Server) symauth.TokenSource {
			obo := newOBO(t, symauth.OBOConfig{PodURL: srv.URL, AppID: "app", PrivateKey: panickingSigner{botKey()},
				HTTPClient: srv.Client(), Retry: fastRetry})
			return oboUserID(t, obo, 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inChild(t, func(t *testing.T) {
				srv := newPod(t)
				_, err := tc.src(t, srv).Token(context.Background())
				if err == nil || !strings.Contains(err.Error(), "hsm binding bug") {
					t.Fatalf("err = %v; want an error carrying the signer's panic", err)
				}
			})
		})
	}
}

// countingSigner is an HSM session that must not be used by two goroutines
// at once (a PKCS#11 session handle): it records the most Sign calls in
// flight together. The first Sign waits until another starts, or gives up
// after a while, so that a second Sign started while it runs shows.
type countingSigner struct {
	key      *rsa.PrivateKey
	inFlight atomic.Int32
	most     atomic.Int32
	calls    atomic.Int32
	second   chan struct{} // closed by the second Sign
}

func (s *countingSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s *countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for m := s.most.Load(); n > m && !s.most.CompareAndSwap(m, n); m = s.most.Load() {
	}
	switch s.calls.Add(1) {
	case 1:
		select {
		case <-s.second:
		case <-time.After(2 * time.Second):
		}
	case 2:
		close(s.second)
	}
	return s.key.Sign(r, digest, opts)
}

// shedding is a user's load-shedding layer in the login client: while the
// pod is known to be overloaded it answers 503 itself, at once, closing the
// request's body unread, as a RoundTripper may.
type shedding struct {
	next http.RoundTripper
	shed atomic.Int32 // requests still to shed
}

func (s *shedding) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.shed.Add(-1) >= 0 {
		if r.Body != nil {
			r.Body.Close()
		}
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	}
	return s.next.RoundTrip(r)
}

// One login signs one JWT at a time: when the first attempt's answer comes
// back before its body was read (here a 503 from a layer of the user's
// login client), the retry must not sign while the first signature is still
// being made on the background goroutine. Before the change a login never
// called the Signer twice at once.
func TestReview15RetryDoesNotSignConcurrently(t *testing.T) {
	srv := newPod(t)
	signer := &countingSigner{key: botKey(), second: make(chan struct{})}
	shed := &shedding{next: srv.Client().Transport}
	shed.shed.Store(1)
	cfg := rsaConfig(srv)
	cfg.PrivateKey = signer
	cfg.SkipKeyManager = true
	cfg.HTTPClient = &http.Client{Transport: shed}
	if _, err := newRSA(t, cfg).Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := signer.most.Load(); got != 1 {
		t.Errorf("%d Sign calls in flight at once in one login; want 1", got)
	}
}

// slowFailingSigner is an HSM that takes a while to fail (a device timeout),
// or to return a signature one byte short.
type slowFailingSigner struct {
	key   *rsa.PrivateKey
	short bool
}

func (s slowFailingSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s slowFailingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	time.Sleep(300 * time.Millisecond) // the HSM's latency, not a wait for an event
	if s.short {
		sig, err := s.key.Sign(r, digest, opts)
		return sig[1:], err
	}
	return nil, errHSM
}

// The claim: "a signature failure or wrong-length signature ends the login
// without retries", with an error that says so. Over HTTP/2 the pod's 503
// to the first attempt comes back before the first signature has failed:
// the login then retries, signs again, and the signer's failure is lost —
// the caller sees the pod's 503 (or, for a short signature, a JWT with a
// bad signature is sent and rejected).
func TestReview15SignerFailureAfterThePodAnswered(t *testing.T) {
	for _, short := range []bool{false, true} {
		t.Run(map[bool]string{false: "failure", true: "short signature"}[short], func(t *testing.T) {
			srv := newPod(t)
			srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: 503, Times: 1})
			cfg := rsaConfig(srv)
			cfg.PrivateKey = slowFailingSigner{key: botKey(), short: short}
			cfg.SkipKeyManager = true
			cfg.HTTPClient = &http.Client{Transport: trustingTransport(t, srv)} // HTTP/2
			_, err := newRSA(t, cfg).Token(context.Background())
			if !short && !errors.Is(err, errHSM) {
				t.Errorf("err = %v; want it to wrap the signer's error", err)
			}
			if short && (err == nil || !strings.Contains(err.Error(), "unexpected length")) {
				t.Errorf("err = %v; want the signature of unexpected length", err)
			}
			if n := srv.Calls(symauthtest.PathLogin); n != 1 {
				t.Errorf("%d login calls reached the pod; want 1 (no retry signs better)", n)
			}
		})
	}
}
