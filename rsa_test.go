package symauth_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

func TestRSALogin(t *testing.T) {
	srv := newPod(t)
	tok, err := newRSA(t, rsaConfig(srv)).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.SessionToken == "" || tok.KeyManagerToken == "" || !tok.Expiry.IsZero() {
		t.Fatalf("token: %v; want session and key manager tokens, no expiry", tok)
	}
	if pod, km := loginCalls(srv); pod != 1 || km != 1 {
		t.Fatalf("logins: pod %d, key manager %d", pod, km)
	}
}

// Once a login needed the key manager, the next ones call the pod and the key
// manager concurrently: each is held until both have arrived. (The first
// login calls the key manager only after the session told whether simplified
// key delivery applies: behaviour 17.)
func TestRSALoginCallsRunConcurrently(t *testing.T) {
	srv := newPod(t)
	auth := newRSA(t, rsaConfig(srv))
	if _, err := auth.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	podReached, kmReached := make(chan struct{}, 1), make(chan struct{}, 1)
	srv.InjectFault("/login/pubkey/authenticate", symauthtest.Fault{Hold: release, Reached: podReached, Times: 1})
	srv.InjectFault("/relay/pubkey/authenticate", symauthtest.Fault{Hold: release, Reached: kmReached, Times: 1})
	done := make(chan error, 1)
	go func() {
		_, err := auth.Token(context.Background())
		done <- err
	}()
	waitFor(t, podReached, "the pod login")
	waitFor(t, kmReached, "the key manager login, while the pod login is held")
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A key that is only a crypto.Signer (as in an HSM or a cloud KMS) works.
func TestRSAWithOpaqueSigner(t *testing.T) {
	srv := newPod(t)
	cfg := rsaConfig(srv)
	cfg.PrivateKey = opaqueSigner{botKey()}
	if _, err := newRSA(t, cfg).Token(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type opaqueSigner struct{ key *rsa.PrivateKey }

func (s opaqueSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s opaqueSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(r, digest, opts)
}

// The login JWT: RS512, sub and exp = now + 240 s only; one signature shared by
// the pod and key manager calls; a fresh one for a retry.
func TestRSALoginJWT(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string][]string{}
	var podAttempts int
	login := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Token string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("login body: %v, content type %q", err, r.Header.Get("Content-Type"))
		}
		mu.Lock()
		bodies[r.URL.Path] = append(bodies[r.URL.Path], body.Token)
		first := r.URL.Path == "/login/pubkey/authenticate" && podAttempts == 0
		if r.URL.Path == "/login/pubkey/authenticate" {
			podAttempts++
		}
		mu.Unlock()
		if first {
			http.Error(w, "busy", http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, `{"name":"x","token":"t"}`)
	})
	srv := newPod(t) // only for its CA-trusting transport
	auth := newRSA(t, symauth.RSAConfig{
		PodURL: login.URL, Username: botName, PrivateKey: botKey(), Retry: fastRetry,
		HTTPClient: &http.Client{Transport: trustingTransport(t, srv, login)},
	})
	clock := testkit.NewClock()
	start := clock.Now().Truncate(time.Second)
	symauth.SetRSAClock(auth, func() time.Time { clock.Advance(10 * time.Second); return clock.Now() })
	if _, err := auth.Token(context.Background()); err != nil {
		t.Fatal(err)
	}

	pod, km := bodies["/login/pubkey/authenticate"], bodies["/relay/pubkey/authenticate"]
	if len(pod) != 2 || len(km) != 1 {
		t.Fatalf("login calls: pod %d, key manager %d; want 2 (one retry) and 1", len(pod), len(km))
	}
	if pod[0] != km[0] {
		t.Fatal("the pod and key manager calls carried different JWTs; want one signature for both")
	}
	if pod[1] == pod[0] {
		t.Fatal("the retry reused the first JWT; want a fresh one")
	}
	for i, raw := range []string{pod[0], pod[1]} {
		claims := jwt.MapClaims{}
		tok, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return botKey().Public(), nil },
			jwt.WithValidMethods([]string{"RS512"}), jwt.WithTimeFunc(clock.Now))
		if err != nil {
			t.Fatalf("JWT %d: %v", i, err)
		}
		exp, _ := claims.GetExpirationTime()
		wantExp := start.Add(time.Duration(10*(i+1))*time.Second + 240*time.Second)
		if len(claims) != 2 || claims["sub"] != botName || !exp.Equal(wantExp) {
			t.Fatalf("JWT %d claims %v (exp %v); want exactly sub=%s and exp=%v", i, claims, exp, botName, wantExp)
		}
		if tok.Header["alg"] != "RS512" {
			t.Fatalf("alg %v", tok.Header["alg"])
		}
	}
}

func TestNewRSAValidation(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	smallKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	valid := symauth.RSAConfig{PodURL: "https://acme.symphony.com", Username: "bot", PrivateKey: botKey()}
	for _, tc := range []struct {
		name   string
		mutate func(*symauth.RSAConfig)
		want   string
	}{
		{"no pod", func(c *symauth.RSAConfig) { c.PodURL = "" }, "RSAConfig.PodURL is missing"},
		{"bad scheme", func(c *symauth.RSAConfig) { c.PodURL = "ftp://acme" }, "RSAConfig.PodURL must start with https://"},
		{"no scheme", func(c *symauth.RSAConfig) { c.PodURL = "acme.symphony.com" }, "RSAConfig.PodURL"},
		{"unparsable", func(c *symauth.RSAConfig) { c.PodURL = "https://acme:port" }, "RSAConfig.PodURL is not a valid URL"},
		{"no host", func(c *symauth.RSAConfig) { c.PodURL = "https:///path" }, "RSAConfig.PodURL has no host"},
		{"plain http", func(c *symauth.RSAConfig) { c.PodURL = "http://acme.symphony.com" }, "RSAConfig.PodURL uses plain http"},
		{"query", func(c *symauth.RSAConfig) { c.PodURL = "https://acme.symphony.com/?x=1" }, "RSAConfig.PodURL must not have a query"},
		{"user info", func(c *symauth.RSAConfig) { c.PodURL = "https://u:p@acme.symphony.com" }, "RSAConfig.PodURL must not contain user info"},
		{"key manager", func(c *symauth.RSAConfig) { c.KeyManagerURL = "km.acme" }, "RSAConfig.KeyManagerURL"},
		{"agent", func(c *symauth.RSAConfig) { c.AgentURL = "http://agent.acme" }, "RSAConfig.AgentURL"},
		{"no username", func(c *symauth.RSAConfig) { c.Username = "" }, "RSAConfig.Username is missing"},
		{"spaced username", func(c *symauth.RSAConfig) { c.Username = "bot " }, "RSAConfig.Username has leading or trailing white space"},
		{"no key", func(c *symauth.RSAConfig) { c.PrivateKey = nil }, "RSAConfig.PrivateKey is missing"},
		{"EC key", func(c *symauth.RSAConfig) { c.PrivateKey = ecKey }, "RSAConfig.PrivateKey has a *ecdsa.PublicKey; Symphony needs an RSA key"},
		{"small key", func(c *symauth.RSAConfig) { c.PrivateKey = smallKey }, "RSAConfig.PrivateKey is a 1024-bit RSA key"},
		{"typed-nil key", func(c *symauth.RSAConfig) { c.PrivateKey = (*rsa.PrivateKey)(nil) }, "RSAConfig.PrivateKey: the *rsa.PrivateKey key is nil or unusable"},
		{"zero key", func(c *symauth.RSAConfig) { c.PrivateKey = &rsa.PrivateKey{} }, "RSAConfig.PrivateKey is an empty RSA key"},
		{"retry", func(c *symauth.RSAConfig) { c.Retry.MaxAttempts = -1 }, "RSAConfig.Retry.MaxAttempts"},
		{"retry interval", func(c *symauth.RSAConfig) { c.Retry.InitialInterval = -1 }, "RSAConfig.Retry.InitialInterval"},
		{"retry max", func(c *symauth.RSAConfig) { c.Retry.MaxInterval = -1 }, "RSAConfig.Retry.MaxInterval"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := valid
			tc.mutate(&cfg)
			_, err := symauth.NewRSA(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want it to contain %q", err, tc.want)
			}
		})
	}
	for _, ok := range []string{"http://127.0.0.1:8443", "http://localhost", "http://[::1]:80", "https://acme.symphony.com/context/"} {
		cfg := valid
		cfg.PodURL = ok
		if _, err := symauth.NewRSA(cfg); err != nil {
			t.Errorf("PodURL %s: %v", ok, err)
		}
	}
}

func TestParsePrivateKey(t *testing.T) {
	key := botKey()
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	pkcs8DER, _ := x509.MarshalPKCS8PrivateKey(key)
	pkcs8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8DER})
	for name, in := range map[string][]byte{
		"PKCS#1":              pkcs1,
		"PKCS#8":              pkcs8,
		"literal backslash-n": []byte(strings.ReplaceAll(string(pkcs8), "\n", `\n`)),
		"after other blocks":  append(pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{1}}), pkcs1...),
	} {
		got, err := symauth.ParsePrivateKey(in)
		if err != nil || !got.Equal(key) {
			t.Errorf("%s: %v", name, err)
		}
	}

	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPKCS8, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecSEC1, _ := x509.MarshalECPrivateKey(ecKey)
	pubDER, _ := x509.MarshalPKIXPublicKey(key.Public())
	secretDigits := key.D.String()[:24]
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "no PEM private key found"},
		{"garbage", []byte("not a key"), "no PEM private key found"},
		{"public key", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), "found a public key, not a private key"},
		{"EC PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecPKCS8}), "Symphony needs an RSA key"},
		{"EC SEC1", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecSEC1}), "Symphony needs an RSA key"},
		{"encrypted PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "encrypted"},
		{"encrypted PKCS#1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Headers: map[string]string{"Proc-Type": "4,ENCRYPTED"}, Bytes: []byte{1}}), "encrypted"},
		{"corrupt PKCS#1", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)[:100]}), "malformed PKCS#1"},
		{"corrupt PKCS#8", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8DER[:100]}), "malformed PKCS#8"},
	} {
		_, err := symauth.ParsePrivateKey(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v; want %q", tc.name, err, tc.want)
		}
		if err != nil && (strings.Contains(err.Error(), "MII") || strings.Contains(err.Error(), secretDigits)) {
			t.Errorf("%s: the error shows key material: %v", tc.name, err)
		}
	}
}

// Login failures: status, endpoint and message, never retried for 4xx.
func TestRSALoginFailures(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden} {
		srv := newPod(t)
		srv.InjectFault("/relay/pubkey/authenticate", symauthtest.Fault{Status: status, Body: `{"code":1,"message":"no\u0007 way"}`})
		_, err := newRSA(t, rsaConfig(srv)).Token(context.Background())
		var authErr *symauth.AuthError
		if !errors.As(err, &authErr) || authErr.StatusCode != status || authErr.Endpoint != "/relay/pubkey/authenticate" || authErr.Message != "no  way" {
			t.Fatalf("%d: err = %#v", status, err)
		}
		if calls := srv.Calls("/relay/pubkey/authenticate"); calls != 1 {
			t.Fatalf("%d was retried: %d calls", status, calls)
		}
	}
}
