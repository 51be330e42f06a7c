package symauthtest

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/symauth/symauth/internal/transport"
)

// DefaultAgentVersion is what GET /agent/v1/info reports when
// Options.AgentVersion is empty. It is recent enough (>= 24.12) for
// simplified key delivery.
const DefaultAgentVersion = "Agent-25.10.1-1042"

// Server is a fake Symphony deployment — pod, key manager, session auth and
// agent — on one HTTPS listener. Start one with NewServer or Start, register
// users with NewUser, RegisterUser or IssueClientCertificate, and apps with
// RegisterApp or IssueAppCertificate, point a client at URL, and Close it at
// the end.
//
// All methods are safe for concurrent use, including while requests are being
// served.
type Server struct {
	// URL is the base URL, "https://127.0.0.1:PORT"; the pod, key manager,
	// session auth and agent all live here, under their usual base paths
	// (/pod, /login, /relay, /sessionauth, /keyauth, /agent).
	URL string

	now          func() time.Time
	logfn        func(format string, args ...any)
	agentVersion string
	skd          atomic.Bool // session tokens allow simplified key delivery; see SetSimplifiedKeyDelivery

	ca     *authority
	srv    *http.Server
	client *http.Client

	users  userStore
	apps   appStore
	tokens tokenStore
	faults faultTable

	// handlers holds the handlers registered with Handle; anyHandlers is
	// set once one is, so that until then no request pays for the
	// ServeMux's matching.
	handlers    *http.ServeMux
	anyHandlers atomic.Bool

	streams       streamStore
	feeds         datafeedStore
	readWait      time.Duration // of a datafeed read; <= 0: none
	strictStreams bool          // see Options.StrictStreams
	readWaiting   func(string)  // see Options.readWaiting

	// bearerLife is the lifetime of Common JWT bearer tokens, a
	// time.Duration; see SetBearerLifetime.
	bearerLife atomic.Int64

	// signer is the server's RSA key: it signs user identity JWTs (and,
	// with Options.RS512Tokens, session and bearer tokens); generated on
	// first use.
	signer func() (*rsa.PrivateKey, error)

	// tokenSigner signs session and bearer tokens; see tokensign.go.
	tokenSigner tokenSigner

	// podCert is the PEM certificate of signer's public key, for
	// GET /pod/v1/podcert; made on first use.
	podCert func() (string, error)

	// life guards the lifecycle: closed, conns and every wg.Add after the
	// serve goroutine started.
	life   sync.Mutex
	closed bool
	done   chan struct{} // closed by Close: releases handlers waiting in faults
	conns  map[net.Conn]bool
	wg     sync.WaitGroup // the serve goroutine, open connections, running handlers

	// logMu guards logDone; held for reading while Logf runs, so that Close
	// can wait for the calls in progress.
	logMu   sync.RWMutex
	logDone bool
}

// Options configures a Server started with Start. The zero value is valid.
type Options struct {
	// Addr is the listen address; "" means "127.0.0.1:0" (a free loopback port).
	Addr string

	// SessionLifetime ends sessions (and their key manager tokens) this long
	// after login, per Now (see there before moving an injected clock); 0
	// means never. It applies to user, app and on-behalf-of sessions alike.
	// Whatever it is, a user holds at most MaxSessionsPerUser sessions. See
	// SetSessionLifetime.
	SessionLifetime time.Duration

	// BearerLifetime is the lifetime of Common JWT bearer tokens (the
	// authorizationToken of a login answer and the access_token of
	// /login/idm/tokens); 0 means 5 minutes. See SetBearerLifetime.
	BearerLifetime time.Duration

	// Now is the clock for login JWT checks, session and bearer token
	// lifetimes and the timestamps in answers, messages, events and issued
	// JWTs; nil means time.Now. Fault delays, datafeed read waits and TLS
	// certificate validity use the real clock.
	//
	// The login JWT's exp is checked with this same clock. So moving it past
	// the session lifetime to end sessions also makes the server refuse, as
	// expired, the next login JWT of a client that signs with the real clock
	// (exp at most 5 minutes after time.Now): the client's re-login fails
	// with 401 and the test with it. To end sessions under a client that
	// uses the real clock, call RevokeSessions (it ends them now, as a
	// session end on a real pod). Move an injected clock only when the
	// client under test signs its login JWTs with that same clock.
	Now func() time.Time

	// Logf receives one line per login (of a user or an app, on-behalf-of
	// steps and bearer tokens included) and per refused call, with the
	// reason, and the server's own errors (such as failed TLS handshakes); nil means
	// silent. A line never contains a token, a JWT or a key. Logf may be called
	// from several goroutines at once (testing.T.Logf is fine) and is never
	// called after Close returns.
	Logf func(format string, args ...any)

	// AgentVersion is what GET /agent/v1/info reports; "" means
	// DefaultAgentVersion.
	AgentVersion string

	// SimplifiedKeyDelivery makes user session tokens carry the claim
	// "canUseSimplifiedKeyDelivery": true, and lets the agent accept calls
	// without a keyManagerToken for such sessions. (On-behalf-of sessions
	// never need a keyManagerToken.)
	SimplifiedKeyDelivery bool

	// DatafeedReadWait is how long a datafeed read
	// (POST /agent/v5/datafeeds/{id}/read) waits for an event before it
	// answers an empty list; 0 means DefaultDatafeedReadWait (30 s, like a
	// real agent), and a negative value answers at once. It is measured
	// with the real clock, not Options.Now. Tests use short waits.
	DatafeedReadWait time.Duration

	// StrictStreams makes POST /agent/v4/stream/{sid}/message/create refuse
	// a stream id the server does not know (400), as a real agent does.
	// Without it (the zero value, for tests written before the server knew
	// streams), a message to an unknown stream id is accepted as the fake
	// always did: it is not checked as MessageML, and is answered with the
	// message echoed in "message" (a real agent answers PresentationML, as
	// the server does for the streams it knows); it is kept for Messages
	// and delivered to the sender's own datafeeds, as in a stream whose
	// only member is the sender. Messages to the streams made with
	// CreateIM, CreateRoom or POST /pod/v1/im/create are checked either
	// way: malformed MessageML gets 400, a sender who is not a member 403.
	StrictStreams bool

	// RS512Tokens signs session tokens and Common JWT bearer tokens RS512
	// with the server's RSA-2048 key, like a real pod: they verify with the
	// certificate of GET /pod/v1/podcert. Without it (the zero value) they
	// are signed HS512 with a random key of the server's own: the same JWT
	// form and claims, a payload clients decode as a real pod's (the SKD
	// claim, the bearer's exp), a signature only this server makes and
	// checks. Clients never verify these tokens, so only a test that checks
	// their alg or signature needs RS512Tokens; it costs two RSA private-key
	// operations per user login, which caps the server at about 1 000
	// logins/s on 2 cores instead of several thousand. User identity JWTs
	// are RS512 either way.
	RS512Tokens bool

	// CACertPEM and CAKeyPEM, when both are set, are the certificate
	// authority to use instead of a new one: a CA certificate and its
	// private key (PKCS #8), in PEM form, as CACertPEM and CAKeyPEM of an
	// earlier Server return them. Start fails if they do not make a valid
	// CA.
	CACertPEM, CAKeyPEM []byte

	// readWaiting, if not nil, is called each time a datafeed read starts
	// to wait for events; for tests.
	readWaiting func(datafeedID string)
}

// NewServer starts a Server with the zero Options on a free loopback port, like
// httptest.NewServer. It panics if the server cannot start; use Start to get an
// error instead.
func NewServer() *Server { return mustStart(Options{}) }

func mustStart(opts Options) *Server {
	s, err := Start(opts)
	if err != nil {
		panic(err.Error())
	}
	return s
}

// Start listens on opts.Addr and serves HTTPS (HTTP/1.1 and HTTP/2) in the
// background until Close. It generates a fresh certificate authority (unless
// opts gives one) and a server certificate valid for 127.0.0.1, ::1, localhost and the host of
// opts.Addr. Client certificates are requested but optional, so RSA clients
// connect without one.
func Start(opts Options) (*Server, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("symauthtest: bad listen address %q: %w", addr, err)
	}
	ca, err := opts.authority()
	if err != nil {
		return nil, err
	}
	serverCert, err := ca.serverCertificate(host)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("symauthtest: listen: %w", err)
	}

	s := &Server{
		URL:          "https://" + dialAddr(ln.Addr()),
		now:          opts.Now,
		logfn:        opts.Logf,
		agentVersion: opts.AgentVersion,
		ca:           ca,
		done:         make(chan struct{}),
		conns:        make(map[net.Conn]bool),
		signer:       sync.OnceValues(generateSigningKey),
		tokenSigner:  newTokenSigner(opts.RS512Tokens),
		handlers:     http.NewServeMux(),
	}
	s.podCert = sync.OnceValues(s.makePodCert)
	if s.now == nil {
		s.now = time.Now
	}
	s.skd.Store(opts.SimplifiedKeyDelivery)
	if s.agentVersion == "" {
		s.agentVersion = DefaultAgentVersion
	}
	s.tokens.init(opts.SessionLifetime)
	s.users.init()
	s.apps.init()
	s.SetBearerLifetime(opts.BearerLifetime)
	s.faults.init()
	s.streams.init()
	s.feeds.init()
	s.strictStreams = opts.StrictStreams
	s.readWaiting = opts.readWaiting
	switch {
	case opts.DatafeedReadWait == 0:
		s.readWait = DefaultDatafeedReadWait
	case opts.DatafeedReadWait > 0:
		s.readWait = opts.DatafeedReadWait
	}

	s.client = &http.Client{Transport: newClientTransport(ca.pool())}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ConnState:         s.trackConn,
		ErrorLog:          log.New(logWriter{s}, "", 0),
		ReadHeaderTimeout: 30 * time.Second,
		TLSConfig: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{serverCert},
			ClientAuth:   tls.VerifyClientCertIfGiven,
			ClientCAs:    ca.pool(),
		},
	}
	s.srv.Protocols = new(http.Protocols)
	s.srv.Protocols.SetHTTP1(true)
	s.srv.Protocols.SetHTTP2(true)

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		// ServeTLS always returns an error; after Close it is
		// http.ErrServerClosed, and before Close the listener is ours alone.
		_ = s.srv.ServeTLS(ln, "", "")
	}()
	return s, nil
}

// newClientTransport returns a transport built like http.DefaultTransport, without
// a proxy, that trusts roots and presents no client certificate.
func newClientTransport(roots *x509.CertPool) *http.Transport {
	t := transport.New()
	t.Proxy = nil // the server is local: never send its traffic to a proxy
	t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots}
	return t
}

// dialAddr turns a listener address into one a client can dial: an
// unspecified IP (":0", "0.0.0.0", "::") becomes 127.0.0.1.
func dialAddr(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok || tcp.IP == nil || tcp.IP.IsUnspecified() {
		_, port, err := net.SplitHostPort(a.String())
		if err != nil {
			return a.String()
		}
		return net.JoinHostPort("127.0.0.1", port)
	}
	return a.String()
}

// Close stops the listener, closes every connection (idle, active or held in
// a fault), releases handlers waiting in a Delay or Hold, and waits for all of
// the server's goroutines to end. It also closes the idle connections of
// Client. Calling Close more than once is harmless.
func (s *Server) Close() {
	s.life.Lock()
	if s.closed {
		s.life.Unlock()
		return
	}
	s.closed = true
	close(s.done)
	s.life.Unlock()

	// Close closes the listener and every tracked connection. Its only
	// error is the listener's, which does not matter any more.
	_ = s.srv.Close()
	s.wg.Wait()
	s.client.CloseIdleConnections()

	// Lines from handlers that ended during Close were logged; stragglers
	// (such as a connection accepted while Close ran) are dropped from now.
	s.logMu.Lock()
	s.logDone = true
	s.logMu.Unlock()
}

// SetSimplifiedKeyDelivery changes, for the sessions issued from now on,
// whether session tokens carry "canUseSimplifiedKeyDelivery": true (see
// Options.SimplifiedKeyDelivery). Safe for concurrent use.
func (s *Server) SetSimplifiedKeyDelivery(on bool) { s.skd.Store(on) }

// Client returns an HTTP client that trusts the server's CA and presents no
// client certificate (use IssueClientCertificate for one). It is the same
// client on every call and safe for concurrent use; Close closes its idle
// connections.
func (s *Server) Client() *http.Client { return s.client }

// CertPool returns a new pool holding the server's CA certificate, for
// tls.Config.RootCAs. The caller may modify it.
func (s *Server) CertPool() *x509.CertPool { return s.ca.pool() }

// CACertPEM returns the server's CA certificate in PEM form, for example to
// write an emulator's ca.pem. The caller may modify the returned slice.
func (s *Server) CACertPEM() []byte { return append([]byte(nil), s.ca.certPEM...) }

// trackConn is the http.Server ConnState hook: it counts open connections in
// wg so that Close can wait for their goroutines, like httptest does. It runs
// on the serve goroutine (StateNew) or the connection's goroutine, so wg's
// counter is positive whenever it adds.
func (s *Server) trackConn(c net.Conn, state http.ConnState) {
	s.life.Lock()
	defer s.life.Unlock()
	switch state {
	case http.StateNew:
		s.conns[c] = true
		s.wg.Add(1)
		if s.closed {
			// Accepted while Close ran: http.Server may not close it.
			_ = c.Close()
		}
	case http.StateHijacked, http.StateClosed:
		if s.conns[c] {
			delete(s.conns, c)
			s.wg.Done()
		}
	}
}

// enter registers a running handler; it reports false once Close has begun,
// and the handler must then not serve. Every true must be paired with
// s.wg.Done.
func (s *Server) enter() bool {
	s.life.Lock()
	defer s.life.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// logf calls Options.Logf unless it is nil or Close has returned.
func (s *Server) logf(format string, args ...any) {
	if s.logfn == nil {
		return
	}
	s.logMu.RLock()
	defer s.logMu.RUnlock()
	if s.logDone {
		return
	}
	s.logfn("symauthtest: "+format, args...)
}

// logWriter sends http.Server's own error lines (TLS handshake failures,
// mostly) to Logf.
type logWriter struct{ s *Server }

func (w logWriter) Write(p []byte) (int, error) {
	if len(p) > 0 && p[len(p)-1] == '\n' {
		w.s.logf("%s", p[:len(p)-1])
	} else {
		w.s.logf("%s", p)
	}
	return len(p), nil
}
