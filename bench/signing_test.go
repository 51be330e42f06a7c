package bench_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/symauth/symauth/bench"
)

// BenchmarkSign signs one login JWT (RS512: SHA-512 and RSASSA-PKCS1-v1_5,
// the computation symauth asks of its crypto.Signer) with a 2048- and a
// 4096-bit key. symauth signs once per login, whatever the number of calls
// and requests (TestOneSignaturePerLogin).
func BenchmarkSign(b *testing.B) {
	for _, bits := range []int{2048, 4096} {
		k := key(b, bits)
		b.Run(strconv.Itoa(bits), func(b *testing.B) {
			for b.Loop() {
				claims := jwt.RegisteredClaims{Subject: bench.BotUsername, ExpiresAt: jwt.NewNumericDate(time.Now().Add(240 * time.Second))}
				if _, err := jwt.NewWithClaims(jwt.SigningMethodRS512, claims).SignedString(k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLogin is one whole symauth RSA login against symauthtest on
// loopback: the JWT, the pod and key manager calls at once, the server's
// checks and session token.
func BenchmarkLogin(b *testing.B) {
	for _, bits := range []int{2048, 4096} {
		b.Run(strconv.Itoa(bits), func(b *testing.B) {
			f := newFixture(b, key(b, bits), 1)
			login, err := f.RSA(nil)
			if err != nil {
				b.Fatal(err)
			}
			ctx := testContext(b)
			if _, err := login.Token(ctx); err != nil { // the server makes its signing key
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := login.Token(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestOneSignaturePerLogin counts the signatures of a login that makes two
// calls (one) and of 1000 requests on the cached token (none).
func TestOneSignaturePerLogin(t *testing.T) {
	c, err := bench.CountSignatures(testContext(t), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if c.LoginCalls != 2 || c.LoginSignatures != 1 || c.RequestSignatures != 0 {
		t.Errorf("login: %d calls, %d signatures (want 2 and 1); %d requests: %d signatures (want 0)",
			c.LoginCalls, c.LoginSignatures, c.Requests, c.RequestSignatures)
	}
}
