package extapp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/symauth/symauth/extapp"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

// A user identity JWT exactly as a real pod writes it (PROTOCOL.md, from BDK
// Java's JwtHelperTest: "sub" a JSON number), with companyId a string, a
// number or null, verifies and names the user.
func TestVerifyUserJWTAsPodsWriteIt(t *testing.T) {
	podKey := testkit.RSAKey()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "pod"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &podKey.PublicKey, podKey)
	if err != nil {
		t.Fatal(err)
	}
	pod := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"certificate": string(testkit.PEM("CERTIFICATE", der))})
	}))
	pod.TLS = &tls.Config{Certificates: []tls.Certificate{testkit.LocalhostCertificate(t)}}
	pod.StartTLS()
	t.Cleanup(pod.Close)
	appKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	app, err := extapp.New(extapp.Config{PodURL: pod.URL, AppID: "my-app", PrivateKey: appKey, HTTPClient: pod.Client()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		companyID any
		want      string
	}{{"10175", "10175"}, {10175, "10175"}, {nil, ""}} {
		payload := `{"iss":"Symphony Communication Services LLC.","sub":699220675788807,"aud":"my-app",` +
			`"user":{"id":699220675788807,"emailAddress":"jane.doe@acme.com","firstName":"Jane","lastName":"Doe",` +
			`"displayName":"Jane Doe","company":"Acme","companyId":` + mustJSON(t, tc.companyID) + `,"username":"jane.doe",` +
			`"avatarUrl":"https://acme.symphony.com/avatars/150.png","avatarSmallUrl":"https://acme.symphony.com/avatars/50.png"},` +
			`"exp":` + mustJSON(t, time.Now().Add(5*time.Minute).Unix()) + `}`
		var claims jwt.MapClaims
		if err := json.Unmarshal([]byte(payload), &claims); err != nil {
			t.Fatal(err)
		}
		signed, err := jwt.NewWithClaims(jwt.SigningMethodRS512, claims).SignedString(podKey)
		if err != nil {
			t.Fatal(err)
		}
		user, err := app.VerifyUserJWT(context.Background(), signed)
		if err != nil {
			t.Fatalf("companyId %v: %v; want the pod's own JWT to verify", tc.companyID, err)
		}
		if user.ID != 699220675788807 || user.Username != "jane.doe" || user.CompanyID != tc.want || user.DisplayName != "Jane Doe" {
			t.Fatalf("companyId %v: user %+v", tc.companyID, user)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// podCertServer serves, at /pod/v1/podcert, the certificate of the key that
// current returns, and counts the fetches; hold, if not nil, holds each
// fetch until it is closed.
type podCertServer struct {
	*httptest.Server
	fetches atomic.Int32
}

func newPodCertServer(t *testing.T, current func() *rsa.PrivateKey, hold <-chan struct{}) *podCertServer {
	t.Helper()
	p := &podCertServer{}
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		key := current()
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "pod"},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Error(err)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"certificate": string(testkit.PEM("CERTIFICATE", der))})
	}))
	p.TLS = &tls.Config{Certificates: []tls.Certificate{testkit.LocalhostCertificate(t)}}
	p.StartTLS()
	t.Cleanup(p.Close)
	return p
}

func identityJWT(t *testing.T, key *rsa.PrivateKey, appID string) string {
	t.Helper()
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS512, jwt.MapClaims{
		"sub": 699220675788807, "aud": appID, "exp": time.Now().Add(5 * time.Minute).Unix(),
		"user": map[string]any{"id": 699220675788807, "username": "jane.doe"},
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// A caller with a short deadline does not wait for a slow certificate fetch;
// one fetch serves every caller.
func TestPodCertificateHonoursEachCallersContext(t *testing.T) {
	hold := make(chan struct{})
	pod := newPodCertServer(t, testkit.RSAKey, hold)
	app, err := extapp.New(extapp.Config{PodURL: pod.URL, AppID: "my-app", PrivateKey: testkit.RSAKey(), HTTPClient: pod.Client()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := app.PodCertificate(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want the caller's deadline", err)
	}
	close(hold)
	if _, err := app.PodCertificate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := app.PodCertificate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := pod.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches; want 1, shared and cached", n)
	}
}

// A pod certificate rotation needs no restart: a signature that does not
// verify fetches the certificate again, once (and at most once a minute).
func TestPodCertificateRotation(t *testing.T) {
	oldKey, newKey := testkit.RSAKey(), mustKey(t)
	var current atomic.Pointer[rsa.PrivateKey]
	current.Store(oldKey)
	pod := newPodCertServer(t, current.Load, nil)
	app, err := extapp.New(extapp.Config{PodURL: pod.URL, AppID: "my-app", PrivateKey: testkit.RSAKey(), HTTPClient: pod.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.VerifyUserJWT(context.Background(), identityJWT(t, oldKey, "my-app")); err != nil {
		t.Fatal(err)
	}
	current.Store(newKey) // the pod rotates its certificate
	if _, err := app.VerifyUserJWT(context.Background(), identityJWT(t, newKey, "my-app")); err != nil {
		t.Fatalf("after the rotation: %v; want the new certificate fetched", err)
	}
	forged := identityJWT(t, mustKey(t), "my-app")
	for range 3 {
		if _, err := app.VerifyUserJWT(context.Background(), forged); err == nil {
			t.Fatal("a forged JWT verified")
		}
	}
	if n := pod.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches; want 2 (the first, one after the rotation; forged JWTs fetch nothing more)", n)
	}
}

func mustKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sharedStore is a TokenStore two replicas share, as a database would be.
type sharedStore struct {
	mu    sync.Mutex
	pairs map[string]extapp.Tokens
}

func (s *sharedStore) Save(_ context.Context, t extapp.Tokens) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pairs[t.AppToken] = t
	return nil
}

func (s *sharedStore) Load(_ context.Context, appToken string) (extapp.Tokens, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.pairs[appToken]
	return t, ok, nil
}

// Two backend replicas behind a load balancer share their token pairs
// through a TokenStore: a pair one obtained validates at the other.
func TestTokenStoreSharedByReplicas(t *testing.T) {
	srv := newOBOPod(t)
	store := &sharedStore{pairs: map[string]extapp.Tokens{}}
	replica := func() *extapp.App {
		app, err := extapp.New(extapp.Config{PodURL: srv.URL, AppID: appID, PrivateKey: appKey(), HTTPClient: srv.Client(), Store: store})
		if err != nil {
			t.Fatal(err)
		}
		return app
	}
	one, two := replica(), replica()
	tokens, err := one.Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !two.ValidateTokens(tokens.AppToken, tokens.SymphonyToken) {
		t.Fatal("the other replica does not validate the pair")
	}
	if two.ValidateTokens(tokens.AppToken, "another symphony token") {
		t.Fatal("a wrong pair validated")
	}
}

// A pair whose expiry the pod did not give is kept an hour, not for ever.
func TestPairWithoutExpiryIsPruned(t *testing.T) {
	srv := newOBOPod(t)
	srv.InjectFault(symauthtest.PathExtensionApp, symauthtest.Fault{Status: http.StatusOK, Body: `{"appId":"test-app","symphonyToken":"symphony-token"}`, Times: 1})
	app := newApp(t, srv)
	clock := testkit.NewClock()
	extapp.SetClock(app, clock.Now)
	tokens, err := app.Authenticate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !tokens.ExpireAt.IsZero() || !app.ValidateTokens(tokens.AppToken, "symphony-token") {
		t.Fatalf("tokens %v: want a pair without expiry that validates", tokens)
	}
	clock.Advance(61 * time.Minute)
	if app.ValidateTokens(tokens.AppToken, "symphony-token") {
		t.Fatal("a pair without expiry is kept after an hour")
	}
}
