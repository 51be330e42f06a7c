package symauth_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/extapp"
	"github.com/symauth/symauth/symauthtest"
)

// Behaviour 8: no exported type prints a token, a JWT or key material, with
// any of the usual verbs, and neither do the errors of failed logins.
func TestNothingPrintsSecrets(t *testing.T) {
	srv := newPod(t)
	rsaCfg := rsaConfig(srv)
	certCfg := certConfig(t, srv, "cert-bot")
	rsaAuth := newRSA(t, rsaCfg)
	certAuth := mustCert(t, certCfg)
	sess := symauth.NewSession(rsaAuth)
	tok, err := sess.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	transport := symauth.NewTransport(sess, nil)

	keyDER := x509.MarshalPKCS1PrivateKey(botKey())
	secrets := map[string]string{
		"session token":        tok.SessionToken,
		"key manager token":    tok.KeyManagerToken,
		"private exponent":     botKey().D.String()[:30],
		"private exponent hex": fmt.Sprintf("%x", botKey().D)[:30],
		"private key DER":      base64.StdEncoding.EncodeToString(keyDER)[60:100],
	}
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	edTemplate := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ed-bot"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	edDER, err := x509.CreateCertificate(rand.Reader, edTemplate, edTemplate, edPub, edKey)
	if err != nil {
		t.Fatal(err)
	}
	edCfg := symauth.CertConfig{SessionAuthURL: srv.URL, Certificate: tls.Certificate{Certificate: [][]byte{edDER}, PrivateKey: edKey}}
	secrets["Ed25519 key hex"] = fmt.Sprintf("%x", []byte(edKey))[:40]
	secrets["Ed25519 key bytes"] = strings.Trim(fmt.Sprint([]byte(edKey)[:12]), "[]")
	oboCfg := symauth.OBOConfig{PodURL: srv.URL, AppID: "app", PrivateKey: botKey()}
	appCfg := extapp.Config{PodURL: srv.URL, AppID: "app", PrivateKey: botKey()}
	appTokens := extapp.Tokens{AppID: "app", AppToken: "app-token-0123456789abcdef", SymphonyToken: "symphony-token-0123456789abcdef"}
	secrets["app token"], secrets["symphony token"] = appTokens.AppToken, appTokens.SymphonyToken

	values := []any{tok, *tok, sess, rsaAuth, certAuth, transport, rsaCfg, certCfg, edCfg, oboCfg, appCfg, appTokens}
	var outputs []string
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10.4v"} {
			outputs = append(outputs, fmt.Sprintf(verb, v))
		}
		for _, w := range []any{v, &v} {
			js, _ := json.Marshal(w)
			outputs = append(outputs, string(js))
		}
		var logs bytes.Buffer
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("value", "v", v)
		slog.New(slog.NewTextHandler(&logs, nil)).Info("value", "v", v)
		outputs = append(outputs, logs.String())
	}
	// Errors of failed logins.
	for _, status := range []int{http.StatusUnauthorized, http.StatusServiceUnavailable} {
		srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: status, Times: 5})
		_, err := rsaAuth.Token(context.Background())
		srv.ClearFaults()
		outputs = append(outputs, fmt.Sprintf("%v %+v %#v", err, err, err))
	}
	client := &http.Client{Transport: symauth.NewTransport(newRSA(t, rsaCfg), srv.Client().Transport)}
	srv.InjectFault(symauthtest.PathRelay, symauthtest.Fault{Status: http.StatusForbidden})
	_, err = client.Get(srv.URL + symauthtest.PathSessionInfo)
	outputs = append(outputs, fmt.Sprintf("%v %+v", err, err))

	for _, out := range outputs {
		for what, secret := range secrets {
			if strings.Contains(out, secret) {
				t.Errorf("output shows the %s: %.200s", what, out)
			}
		}
	}
}

// CloseIdleConnections reaches the base transport, so http.Client's does too.
func TestCloseIdleConnections(t *testing.T) {
	srv := newPod(t)
	base := &idleCloser{RoundTripper: srv.Client().Transport}
	client := &http.Client{Transport: symauth.NewTransport(newRSA(t, rsaConfig(srv)), base)}
	get(t, client, srv.URL+symauthtest.PathSessionInfo)
	client.CloseIdleConnections()
	if !base.closed.Load() {
		t.Fatal("CloseIdleConnections did not reach the base transport")
	}
	(&symauth.Transport{Base: roundTripFunc(nil)}).CloseIdleConnections() // a base without the method: nothing to do
}

type idleCloser struct {
	http.RoundTripper
	closed atomic.Bool
}

func (c *idleCloser) CloseIdleConnections() {
	c.closed.Store(true)
	c.RoundTripper.(*http.Transport).CloseIdleConnections()
}
