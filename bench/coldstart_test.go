package bench_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bench"
	"github.com/symauth/symauth/symauthtest"
)

// The cold start: a bot's first request, its login included, against its
// parts measured on their own in the same run. The parts are the physical
// limit: one JWT signature, the pod's login call, the key manager's (the
// first login asks them one after the other, as BDK does, since simplified
// key delivery may make the key manager unneeded) and the API call, each on
// a connection already open. What the cold start costs above their sum is
// dialling: TCP and TLS, paid by no part.

// freshTransport is a new http.Transport, with no connection yet, trusting
// the fixture's server, as a bot's first request finds it.
func freshTransport(f *bench.Fixture) *http.Transport {
	return &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: f.Server.CertPool()},
		ForceAttemptHTTP2: true,
	}
}

// BenchmarkColdStart is a bot's first request through a new Transport over
// new connection pools, login included, and the parts of it.
//
//   - cold/one-pool: the login client and the API base share one transport,
//     as with symauth's defaults (both on http.DefaultTransport): the call
//     reuses the connection the login opened.
//   - cold/two-pools: a login client of its own (an HTTPClient given, as
//     bdkconfig does): the login and the call dial each.
//   - part/…: a signature, the pod call, the key manager call and the API
//     call, each on an open connection; part/dial is one TLS connection,
//     for reference.
func BenchmarkColdStart(b *testing.B) {
	f := newFixture(b, nil, 1)
	ctx := testContext(b)
	url := f.Server.URL + symauthtest.PathSessionInfo
	if _, err := f.Sequential().Token(ctx); err != nil { // the server makes its signing key
		b.Fatal(err)
	}
	for _, mode := range []string{"one-pool", "two-pools"} {
		b.Run("cold/"+mode, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				login, api := freshTransport(f), freshTransport(f)
				if mode == "one-pool" {
					api = login
				}
				auth, err := symauth.NewRSA(symauth.RSAConfig{PodURL: f.Server.URL, Username: bench.BotUsername,
					PrivateKey: f.Key, HTTPClient: &http.Client{Transport: login}})
				if err != nil {
					b.Fatal(err)
				}
				if status := getStatus(b, ctx, symauth.NewTransport(auth, api), url); status != http.StatusOK {
					b.Fatalf("status %d", status)
				}
				login.CloseIdleConnections()
				api.CloseIdleConnections()
			}
		})
	}

	signed := func() []byte {
		claims := jwt.RegisteredClaims{Subject: bench.BotUsername, ExpiresAt: jwt.NewNumericDate(time.Now().Add(240 * time.Second))}
		jwtText, err := jwt.NewWithClaims(jwt.SigningMethodRS512, claims).SignedString(f.Key)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(map[string]string{"token": jwtText})
		return body
	}
	b.Run("part/sign", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			signed()
		}
	})
	warm := f.Client()
	body := signed()
	for _, p := range []struct{ name, path string }{{"pod", symauthtest.PathLogin}, {"keymanager", symauthtest.PathRelay}} {
		b.Run("part/"+p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if status := post(b, ctx, warm, f.Server.URL+p.path, body); status != http.StatusOK {
					b.Fatalf("status %d", status)
				}
			}
		})
	}
	b.Run("part/call", func(b *testing.B) {
		tr, err := f.Symauth()
		if err != nil {
			b.Fatal(err)
		}
		getStatus(b, ctx, tr, url) // logs in
		b.ReportAllocs()
		for b.Loop() {
			if status := getStatus(b, ctx, tr, url); status != http.StatusOK {
				b.Fatalf("status %d", status)
			}
		}
	})
	b.Run("part/dial", func(b *testing.B) {
		addr := strings.TrimPrefix(f.Server.URL, "https://")
		b.ReportAllocs()
		for b.Loop() {
			conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: f.Server.CertPool(), NextProtos: []string{"h2"}, ServerName: "127.0.0.1"})
			if err != nil {
				b.Fatal(err)
			}
			_ = conn.Close()
		}
	})
}

// post sends body to url as JSON through client and returns the status.
func post(tb testing.TB, ctx context.Context, client *http.Client, url string, body []byte) int {
	tb.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}
