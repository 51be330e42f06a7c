package bench_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/symauth/symauth/bench"
	"github.com/symauth/symauth/symauthtest"
)

// fakeLoginParallelism is b.SetParallelism of BenchmarkFakeLoginCapacity:
// that many goroutines per GOMAXPROCS keep the server busy while others wait
// on loopback.
const fakeLoginParallelism = 32

// fakeLoginFloorAnswer is what the floor's handler answers: a login answer's
// shape and about its length (a session token, a bearer token).
var fakeLoginFloorAnswer = `{"name":"sessionToken","token":"` + strings.Repeat("s", 330) +
	`","authorizationToken":"Bearer ` + strings.Repeat("b", 380) + `"}` + "\n"

// BenchmarkFakeLoginCapacity measures symauthtest's login capacity: RSA pod
// logins (POST /login/pubkey/authenticate) per second, from
// GOMAXPROCS×32 goroutines over one loopback TLS HTTP/2 connection, client
// and server in one process on the same cores. The client's share is kept
// small: the login JWT is signed once before timing and sent again and again
// (symauthtest checks its signature, sub and exp window, and keeps no jti),
// and the answer is read but not decoded. So the figure is the fake pod's
// own cost plus a minimal HTTP/2 client.
//
//   - floor: a net/http/httptest TLS HTTP/2 server whose handler reads the
//     body and answers a fixed login-shaped JSON: the physical limit, one bare
//     HTTP/2 POST exchange on this setup.
//   - default: symauthtest with the zero Options.
//   - emulator: the Options of `symauth emulator` that touch a login: a Logf
//     (one line per login, to io.Discard here) and StrictStreams.
//   - rs512: Options.RS512Tokens, session and bearer tokens signed RS512 with
//     the server's RSA-2048 key, like a real pod: two RSA private-key
//     operations per login.
func BenchmarkFakeLoginCapacity(b *testing.B) {
	b.Run("floor", func(b *testing.B) {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, fakeLoginFloorAnswer)
		}))
		srv.EnableHTTP2 = true
		srv.StartTLS()
		defer srv.Close()
		pool := x509.NewCertPool()
		pool.AddCert(srv.Certificate())
		benchLogins(b, srv.URL+symauthtest.PathLogin, pool, "x")
	})
	discard := log.New(io.Discard, "", log.Ltime|log.Lmicroseconds)
	for _, c := range []struct {
		name string
		opts symauthtest.Options
	}{
		{"default", symauthtest.Options{}},
		{"emulator", symauthtest.Options{Logf: discard.Printf, StrictStreams: true}},
		{"rs512", symauthtest.Options{RS512Tokens: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			srv, err := symauthtest.Start(c.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer srv.Close()
			k := key(b, 2048)
			if _, err := srv.RegisterUser(bench.BotUsername, &k.PublicKey); err != nil {
				b.Fatal(err)
			}
			// exp 4 minutes ahead: valid for the whole run, within the
			// 5 minutes the pod allows.
			claims := jwt.RegisteredClaims{Subject: bench.BotUsername, ExpiresAt: jwt.NewNumericDate(time.Now().Add(4 * time.Minute))}
			loginJWT, err := jwt.NewWithClaims(jwt.SigningMethodRS512, claims).SignedString(k)
			if err != nil {
				b.Fatal(err)
			}
			benchLogins(b, srv.URL+symauthtest.PathLogin, srv.CertPool(), loginJWT)
		})
	}
}

// benchLogins posts {"token":loginJWT} to url from parallel goroutines over
// one HTTP/2 connection trusting roots, and reports logins/s. Every answer
// must be 200.
func benchLogins(b *testing.B, url string, roots *x509.CertPool, loginJWT string) {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	body := `{"token":"` + loginJWT + `"}`
	login := func() error {
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := tr.RoundTrip(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("login answered %d", resp.StatusCode)
		}
		if resp.ProtoMajor != 2 {
			return fmt.Errorf("login answered over %s, not HTTP/2", resp.Proto)
		}
		return nil
	}
	if err := login(); err != nil { // the connection, and the server's lazy setup
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(fakeLoginParallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := login(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
}
