package extapp_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/symauth/symauth/extapp"
	"github.com/symauth/symauth/internal/testkit"
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
