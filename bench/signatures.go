package bench

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// CountingSigner is a crypto.Signer that counts the signatures it makes, as
// an HSM or a cloud KMS would bill them.
type CountingSigner struct {
	crypto.Signer
	n atomic.Int64
}

// Sign counts and signs with the wrapped signer.
func (c *CountingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.n.Add(1)
	return c.Signer.Sign(rand, digest, opts)
}

// Count returns how many signatures were made.
func (c *CountingSigner) Count() int64 { return c.n.Load() }

// SignatureCounts says how many JWT signatures symauth makes.
type SignatureCounts struct {
	LoginCalls        int   // login calls of the first request's login (pod and key manager)
	LoginSignatures   int64 // signatures of that login
	Requests          int   // further requests sent on the cached token
	RequestSignatures int64 // signatures those requests made
}

// CountSignatures sends one request through a symauth Transport whose RSA
// key is a CountingSigner — it logs in, with a call to the pod and one to
// the key manager — and then requests more on the cached token, and counts
// the signatures of each part.
func CountSignatures(ctx context.Context, requests int) (SignatureCounts, error) {
	f, err := NewFixture(ctx, nil, 1)
	if err != nil {
		return SignatureCounts{}, err
	}
	defer f.Close()
	signer := &CountingSigner{Signer: f.Key}
	login, err := f.RSA(signer)
	if err != nil {
		return SignatureCounts{}, err
	}
	rt := symauth.NewTransport(login, f.Conns)
	url := f.Server.URL + symauthtest.PathDatafeeds // an Agent call: needs both tokens
	if status, err := get(ctx, rt, url); err != nil || status != http.StatusOK {
		return SignatureCounts{}, fmt.Errorf("bench: first request: status %d, error %v", status, err)
	}
	c := SignatureCounts{
		LoginCalls:      f.Server.Calls(symauthtest.PathLogin) + f.Server.Calls(symauthtest.PathRelay),
		LoginSignatures: signer.Count(),
		Requests:        requests,
	}
	for range requests {
		if status, err := get(ctx, rt, url); err != nil || status != http.StatusOK {
			return SignatureCounts{}, fmt.Errorf("bench: request on the cached token: status %d, error %v", status, err)
		}
	}
	c.RequestSignatures = signer.Count() - c.LoginSignatures
	return c, nil
}
