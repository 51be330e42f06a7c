package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// ServerDelay is how long the pod and the key manager each take to answer a
// login in BenchmarkRelogin.
const serverDelay = 50 * time.Millisecond

// BenchmarkRelogin is one login when the pod and the key manager each take
// 50 ms to answer: symauth's (both calls at once, one JWT) against the
// official SDKs' sequential one (sign, POST the pod, then POST the key
// manager). The ideal ratio is 0.5.
func BenchmarkRelogin(b *testing.B) {
	f := newFixture(b, nil, 1)
	ctx := testContext(b)
	if _, err := f.Sequential().Token(ctx); err != nil { // the server makes its signing key
		b.Fatal(err)
	}
	f.Server.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Delay: serverDelay})
	f.Server.InjectFault(symauthtest.PathRelay, symauthtest.Fault{Delay: serverDelay})
	rsaLogin, err := f.RSA(nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		login symauth.TokenSource
	}{{"symauth", rsaLogin}, {"sequential", f.Sequential()}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if tok, err := c.login.Token(ctx); err != nil || tok.KeyManagerToken == "" {
					b.Fatalf("login: %v", err)
				}
			}
		})
	}
}

// TestLoginCallsOverlap shows, without timing, that symauth's two login
// calls are in flight together: the key manager call reaches the server
// while the pod call is still held there.
func TestLoginCallsOverlap(t *testing.T) {
	f := newFixture(t, nil, 1)
	hold := make(chan struct{})
	podReached, relayReached := make(chan struct{}, 1), make(chan struct{}, 1)
	login, err := f.RSA(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	// The first login asks the session first (simplified key delivery may
	// make the key manager unneeded); once it was needed, logins overlap.
	if _, err := login.Token(ctx); err != nil {
		t.Fatal(err)
	}
	f.Server.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Hold: hold, Reached: podReached, Times: 1})
	f.Server.InjectFault(symauthtest.PathRelay, symauthtest.Fault{Reached: relayReached, Times: 1})
	errc := make(chan error, 1)
	go func() {
		_, err := login.Token(ctx)
		errc <- err
	}()
	for _, reached := range []chan struct{}{podReached, relayReached} {
		select {
		case <-reached:
		case <-ctx.Done():
			close(hold)
			<-errc
			t.Fatal("the key manager call did not reach the server while the pod call was held")
		}
	}
	close(hold)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestSequentialLogin checks that the peer's login yields tokens the server
// accepts.
func TestSequentialLogin(t *testing.T) {
	f := newFixture(t, nil, 1)
	tok, err := f.Sequential().Token(testContext(t))
	if err != nil {
		t.Fatal(err)
	}
	rt := symauth.NewTransport(staticSource{tok}, f.Conns)
	if status := getStatus(t, context.Background(), rt, f.Server.URL+symauthtest.PathDatafeeds); status != 200 {
		t.Fatalf("datafeeds with the sequential login's tokens: %d", status)
	}
	if got := f.Server.Calls(symauthtest.PathLogin) + f.Server.Calls(symauthtest.PathRelay); got != 2 {
		t.Errorf("login calls: %d, want 2", got)
	}
}
