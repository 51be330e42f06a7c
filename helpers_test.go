package symauth_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const botName = testkit.BotName

// Shared helpers of the module's tests, under this package's short names.
var (
	botKey               = testkit.RSAKey
	get                  = testkit.Get
	localhostCertificate = testkit.LocalhostCertificate
	newPod               = testkit.NewPod
	loginCalls           = testkit.LoginCalls
	oboUsername          = testkit.OBOUsername
	closedAddr           = testkit.ClosedAddr
)

// fastRetry keeps retried login calls quick in tests.
var fastRetry = symauth.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}

// rsaConfig is a valid RSAConfig for botName against srv.
func rsaConfig(srv *symauthtest.Server) symauth.RSAConfig {
	return symauth.RSAConfig{
		PodURL:     srv.URL,
		Username:   botName,
		PrivateKey: botKey(),
		HTTPClient: srv.Client(),
		Retry:      fastRetry,
	}
}

// withAgent is cfg with api as the agent: a Symphony origin, whose
// requests get the tokens.
func withAgent(cfg symauth.RSAConfig, api *recordingServer) symauth.RSAConfig {
	cfg.AgentURL = api.URL
	return cfg
}

func newRSA(t testing.TB, cfg symauth.RSAConfig) *symauth.RSA {
	t.Helper()
	auth, err := symauth.NewRSA(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return auth
}

// newBotClient returns an http.Client authenticated as botName against srv,
// and the Session behind it.
func newBotClient(t testing.TB, srv *symauthtest.Server) (*http.Client, *symauth.Session) {
	t.Helper()
	sess := symauth.NewSession(newRSA(t, rsaConfig(srv)))
	return &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}, sess
}

// recordingServer is an https server for 127.0.0.1 and localhost that records
// the headers of every request and answers with handler (nil: 200 "ok").
type recordingServer struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
	hosts   []string
}

func newRecordingServer(t testing.TB, handler http.HandlerFunc) *recordingServer {
	t.Helper()
	rs := unstartedRecordingServer(handler)
	rs.TLS = &tls.Config{Certificates: []tls.Certificate{localhostCertificate(t)}}
	rs.StartTLS()
	t.Cleanup(rs.Close)
	return rs
}

// newPlainRecordingServer is a plain-http recordingServer answering 200 "ok".
func newPlainRecordingServer(t testing.TB) *recordingServer {
	t.Helper()
	rs := unstartedRecordingServer(nil)
	rs.Start()
	t.Cleanup(rs.Close)
	return rs
}

func unstartedRecordingServer(handler http.HandlerFunc) *recordingServer {
	rs := &recordingServer{}
	rs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rs.mu.Lock()
		rs.headers = append(rs.headers, r.Header.Clone())
		rs.hosts = append(rs.hosts, r.Host)
		rs.mu.Unlock()
		if handler != nil {
			handler(w, r)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	return rs
}

func (rs *recordingServer) requests() ([]http.Header, []string) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]http.Header(nil), rs.headers...), append([]string(nil), rs.hosts...)
}

// localhostURL is rs.URL with the host name "localhost" instead of 127.0.0.1:
// the same server under another host name.
func (rs *recordingServer) localhostURL() string {
	_, port, _ := net.SplitHostPort(rs.Listener.Addr().String())
	return "https://localhost:" + port
}

// trustingTransport returns an http.Transport trusting srv's CA and the given
// servers' certificates, closed at the end of the test.
func trustingTransport(t testing.TB, srv *symauthtest.Server, others ...*recordingServer) *http.Transport {
	t.Helper()
	pool := srv.CertPool().Clone()
	for _, o := range others {
		pool.AddCert(o.TLS.Certificates[0].Leaf)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// closeRecorder is a request body that records whether it was closed.
type closeRecorder struct {
	io.Reader
	mu     sync.Mutex
	closed bool
}

func (c *closeRecorder) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return nil
}

func (c *closeRecorder) wasClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// usersSource hides the Symphony origins of the source it wraps, as a user's
// own TokenSource (a decorator) does.
type usersSource struct{ src symauth.TokenSource }

func (u usersSource) Token(ctx context.Context) (*symauth.Token, error) { return u.src.Token(ctx) }
