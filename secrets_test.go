package symauth_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/symauth/symauth"
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
	values := []any{tok, *tok, sess, rsaAuth, certAuth, transport, rsaCfg, certCfg}
	var outputs []string
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			outputs = append(outputs, fmt.Sprintf(verb, v))
		}
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
