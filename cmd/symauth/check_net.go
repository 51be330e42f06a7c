package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/symauth/symauth/bdkconfig"
)

// The host steps, and the explanations of network and TLS failures that the
// login steps share.

// hostTimeout bounds the DNS lookup, connection and TLS handshake with one
// host, so that one host that does not answer leaves time for the others.
const hostTimeout = 10 * time.Second

// defaultPorts are the ports of URLs that give none.
var defaultPorts = map[string]string{"https": "443", "http": "80", "socks5": "1080"}

// hostTarget is one host:port among the URLs the login uses.
type hostTarget struct {
	addr       string   // host:port
	url        *url.URL // the first URL on it
	roles      []string // rolePod, roleKeyManager …
	what       string   // names it in advice: "the pod URL (--pod)"
	clientCert bool     // present the client certificate: a certificate login's session auth or key manager
	proxy      *url.URL // the proxy a configuration routes it through; nil: the environment's, if any
	proxyWhat  string   // names proxy in advice
}

// id is the host step's id.
func (h *hostTarget) id() string { return "host " + h.addr }

// where names h and its roles, to start a detail: "acme.symphony.com:443 (pod, key manager)".
func (h *hostTarget) where() string {
	return fmt.Sprintf("%s (%s)", h.addr, strings.Join(h.roles, ", "))
}

// netTarget describes h for explaining a failed connection to it.
func (h *hostTarget) netTarget() netTarget {
	return netTarget{addr: h.addr, what: h.what, clientCert: h.clientCert}
}

// checkHost checks that h's name resolves and that a TLS connection to it
// succeeds, trusting the system roots and --ca and presenting the client
// certificate where the login will. When the login would go through a proxy,
// the configuration's or the environment's, it checks the proxy instead.
func (c *checker) checkHost(ctx context.Context, h *hostTarget) outcome {
	ctx, cancel := context.WithTimeout(ctx, hostTimeout)
	defer cancel()
	where := h.where()
	if h.proxy != nil {
		return c.checkProxy(ctx, where, h.proxy, h.proxyWhat)
	}
	proxy, err := http.ProxyFromEnvironment(&http.Request{URL: h.url})
	if err != nil {
		return failed(fmt.Sprintf("%s: %v", where, err), "fix the proxy setting ($HTTPS_PROXY, $HTTP_PROXY)")
	}
	if proxy != nil {
		return c.checkProxy(ctx, where, proxy, "the proxy ($HTTPS_PROXY)")
	}
	resolved, err := resolve(ctx, h.url.Hostname())
	if err != nil {
		return c.netFailure(where, err, h.netTarget())
	}
	conn, req, err := c.dial(ctx, h)
	if err == nil {
		defer conn.Close()
	}
	switch {
	case req != nil && req.unfit != nil: // the handshake may have failed for want of the certificate
		return failed(fmt.Sprintf("%s: the server asked for a client certificate, but not one like --cert (%v)", where, req.unfit),
			"the server wants a certificate from another CA: ask your Symphony administrator which CA issues bot certificates")
	case err != nil:
		return c.netFailure(where, err, h.netTarget())
	}
	tlsConn, ok := conn.(*tls.Conn)
	if !ok {
		if speaksTLS(ctx, conn, h.url.Host) {
			https := *h.url
			https.Scheme = "https"
			return failed(where+": the server speaks HTTPS (TLS) on this port, not plain http",
				fmt.Sprintf("use https:// in %s: %s", h.what, strings.TrimRight(https.Redacted(), "/")))
		}
		return passed("%s: %sconnected (plain http)", where, resolved)
	}
	state := tlsConn.ConnectionState()
	leaf := state.PeerCertificates[0]
	server := fmt.Sprintf("%s, server certificate %q from %q", tls.VersionName(state.Version), nameOf(leaf.Subject), nameOf(leaf.Issuer))
	if !h.clientCert {
		return passed("%s: %s%s", where, resolved, server)
	}
	if o, bad := c.clientCertProblem(ctx, tlsConn, h, where, req); bad {
		return o
	}
	return passed("%s: %s%s; client certificate accepted", where, resolved, server)
}

// resolve looks host up, unless it is an IP address, and returns the
// addresses found as the start of a detail ("" for an IP address).
func resolve(ctx context.Context, host string) (string, error) {
	if _, err := netip.ParseAddr(host); err == nil {
		return "", nil
	}
	addrs, err := net.DefaultResolver.LookupHost(ctx, host)
	if err != nil {
		return "", err
	}
	if len(addrs) > maxNamesShown {
		addrs = append(addrs[:maxNamesShown], "...")
	}
	return "resolves to " + strings.Join(addrs, ", ") + "; ", nil
}

// clientCertRequest is what became of the client certificate in a handshake.
type clientCertRequest struct {
	asked bool  // the server asked for a client certificate
	unfit error // why the server would not take the certificate, as far as its request tells
}

// dial connects to h: TLS, trusting the checker's roots and, where the login
// presents it, offering the client certificate as the login's client would.
func (c *checker) dial(ctx context.Context, h *hostTarget) (net.Conn, *clientCertRequest, error) {
	if h.url.Scheme == "http" {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", h.addr)
		return conn, nil, err
	}
	cfg := &tls.Config{RootCAs: c.roots, MinVersion: tls.VersionTLS12}
	var req clientCertRequest
	if h.clientCert {
		// What crypto/tls does with Config.Certificates, as the login's
		// client has it: send the certificate if the request allows it, else
		// none.
		cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
			req.asked = true
			if req.unfit = cri.SupportsCertificate(&c.cert); req.unfit != nil {
				return &tls.Certificate{}, nil
			}
			return &c.cert, nil
		}
	}
	d := tls.Dialer{Config: cfg}
	conn, err := d.DialContext(ctx, "tcp", h.addr)
	return conn, &req, err
}

// clientCertProblem explains why the server, after a handshake in which it
// got the chance to ask for the client certificate, will not take it: it did
// not ask for one, or refused it after the handshake.
func (c *checker) clientCertProblem(ctx context.Context, conn *tls.Conn, h *hostTarget, where string, req *clientCertRequest) (outcome, bool) {
	if !req.asked {
		return failed(where+": the server did not ask for a client certificate",
			"certificate login needs the session auth and key manager URLs (often https://acme-api.symphony.com:8444), "+
				"with no proxy or load balancer ending TLS in between: check "+h.what), true
	}
	if err := confirmClientCert(ctx, conn, h.url.Host); err != nil {
		return c.netFailure(where, err, h.netTarget()), true
	}
	return outcome{}, false
}

// confirmClientCert sends an HTTP HEAD request over conn and reads the first
// line of the answer. Under TLS 1.3 a server refuses a client certificate only
// after the handshake, with an alert that this read receives.
func confirmClientCert(ctx context.Context, conn net.Conn, host string) error {
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	// A failed write shows in the read, with the server's alert if it sent one.
	_, _ = fmt.Fprintf(conn, "HEAD / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
	// The status line is all that is read, at most 4 KiB of it.
	_, err := bufio.NewReader(io.LimitReader(conn, 4<<10)).ReadString('\n')
	if errors.Is(err, io.EOF) {
		return nil // closed without an alert: not a refusal
	}
	return err
}

// plainProbeTimeout bounds the wait for the answer to speaksTLS's request.
const plainProbeTimeout = 3 * time.Second

// maxPlainProbeAnswer is as much of that answer as speaksTLS reads.
const maxPlainProbeAnswer = 1024

// httpsRefusals are what HTTPS servers answer, with a 400, to a plain HTTP
// request: Go's net/http, and nginx.
var httpsRefusals = []string{"client sent an http request to an https server", "plain http request was sent to https port"}

// speaksTLS sends a plain HTTP request over conn, a plain TCP connection to
// a URL that says http://, and reports whether the answer is a TLS server's:
// a TLS record (an alert), or a 400 saying that the port wants HTTPS.
func speaksTLS(ctx context.Context, conn net.Conn, host string) bool {
	ctx, cancel := context.WithTimeout(ctx, plainProbeTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	// A failed write shows in the read.
	_, _ = fmt.Fprintf(conn, "HEAD / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
	answer := make([]byte, 0, maxPlainProbeAnswer)
	for len(answer) < maxPlainProbeAnswer {
		n, err := conn.Read(answer[len(answer):maxPlainProbeAnswer])
		answer = answer[:len(answer)+n]
		if len(answer) >= 2 && (answer[0] == recordAlert || answer[0] == recordHandshake) && answer[1] == 3 {
			return true // a TLS record: type, then version 3.x
		}
		if line, _, complete := bytes.Cut(answer, []byte("\n")); complete && !bytes.Contains(line, []byte(" 400 ")) {
			return false // an HTTP answer, not the refusal of plain HTTP
		}
		if err != nil {
			break
		}
	}
	text := strings.ToLower(string(answer))
	return slices.ContainsFunc(httpsRefusals, func(r string) bool { return strings.Contains(text, r) })
}

// The content types of TLS records that a TLS server may send first.
const (
	recordAlert     = 21
	recordHandshake = 22
)

// checkProxy checks that the proxy the login will go through accepts
// connections. The TLS connection through it is then the login's to test.
// what names the proxy in advice.
func (c *checker) checkProxy(ctx context.Context, where string, proxy *url.URL, what string) outcome {
	addr := proxy.Host
	if proxy.Port() == "" {
		addr = net.JoinHostPort(proxy.Hostname(), defaultPorts[proxy.Scheme])
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return c.netFailure(where+" through proxy "+addr, err, netTarget{addr: addr, what: what})
	}
	conn.Close()
	return passed("%s: through proxy %s, which accepts connections (the logins test TLS through it)", where, addr)
}

// netTarget is what a connection went to, for explaining its failure.
type netTarget struct {
	addr       string // host:port
	what       string // what the user gave to reach it: "the pod URL (--pod)"
	clientCert bool   // the client certificate was presented
}

// netFailure explains err, a failed DNS lookup, connection, TLS handshake or
// HTTP exchange with t. The detail starts with where.
func (c *checker) netFailure(where string, err error, t netTarget) outcome {
	say := func(problem string, advice ...string) outcome { return failed(where+": "+problem, advice...) }
	var dnsErr *net.DNSError
	var verifyErr *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.Canceled):
		return say("interrupted")
	case errors.As(err, &dnsErr):
		return dnsFailure(say, dnsErr)
	case errors.As(err, &verifyErr):
		return c.certificateFailure(say, verifyErr.Err, t)
	}
	return connFailure(say, err, t)
}

// dnsFailure explains a failed DNS lookup.
func dnsFailure(say func(string, ...string) outcome, err *net.DNSError) outcome {
	switch {
	case err.IsNotFound:
		return say(fmt.Sprintf("%s does not resolve", err.Name), "the host name does not resolve: check the URL, or your DNS/proxy")
	case err.IsTimeout:
		return say(fmt.Sprintf("the DNS lookup of %s timed out", err.Name), "check this machine's DNS settings, VPN or proxy")
	}
	return say(fmt.Sprintf("the DNS lookup of %s failed: %s", err.Name, err.Err), "check this machine's DNS settings, VPN or proxy")
}

// certificateFailure explains why the server's certificate was not accepted.
func (c *checker) certificateFailure(say func(string, ...string) outcome, err error, t netTarget) outcome {
	var (
		unknownCA x509.UnknownAuthorityError
		badName   x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknownCA):
		issuer := "an unknown CA"
		if unknownCA.Cert != nil {
			issuer = fmt.Sprintf("%q", nameOf(unknownCA.Cert.Issuer))
		}
		return say("the server's certificate is not trusted (issued by "+issuer+")", c.caAdvice(t))
	case errors.As(err, &badName):
		return say(fmt.Sprintf("the server's certificate is for %s, not %s", certNames(badName.Certificate), badName.Host),
			"use a host name the certificate names in "+t.what+", or have the server's certificate reissued for "+badName.Host)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return say("the server's certificate has expired or is not valid yet",
			"check this machine's clock; if it is right, the server's certificate must be renewed")
	}
	return say("the server's certificate is not accepted: "+err.Error(), "ask the server's administrators about its certificate")
}

// caAdvice says which CA to pass with --ca, or to put in the configuration's
// trust store, for a server certificate of t that is not trusted. On this
// machine, the server is likely the emulator; elsewhere, a proxy or firewall
// that inspects TLS may have put its own certificate in the server's place.
func (c *checker) caAdvice(t netTarget) string {
	host, _, _ := net.SplitHostPort(t.addr)
	which := "the emulator writes ca.pem"
	if !isLoopback(host) {
		which = "the CA of the pod, if it has a private one; if the pod's certificate is from a public CA, a proxy or firewall " +
			"that inspects TLS on this network put its own certificate in its place: ask your network team for that proxy's CA"
	}
	switch {
	case c.cfg != nil && c.cfg.SSL.TrustStore == (bdkconfig.CredentialFile{}):
		return "the server's certificate is signed by a CA this machine does not trust: add it to " + c.cfg.File +
			" as ssl: {trustStore: {path: CA.pem}} (" + which + ")"
	case c.cfg != nil:
		return "the server's certificate is signed by a CA that the trust store of " + c.cfg.File +
			" does not hold (it replaces the system roots): add the CA that signed it (" + which + ")"
	case c.flags.caFile == "":
		return "the server's certificate is signed by a CA this machine does not trust: pass --ca FILE (" + which + ")"
	}
	if isLoopback(host) {
		which = "the emulator writes ca.pem into its --dir"
	}
	return "the server's certificate is signed by a CA that neither this machine nor --ca " + c.flags.caFile +
		" trusts: pass --ca with the CA that signed it (" + which + ")"
}

// maxNamesShown caps the names and addresses listed in a detail.
const maxNamesShown = 4

// certNames lists the names a certificate is valid for.
func certNames(cert *x509.Certificate) string {
	if cert == nil {
		return "other names"
	}
	names := append([]string(nil), cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	switch {
	case len(names) == 0:
		return fmt.Sprintf("%q", cert.Subject.CommonName)
	case len(names) > maxNamesShown:
		names = append(names[:maxNamesShown], "...")
	}
	return strings.Join(names, ", ")
}

// connFailure explains a failed connection or TLS handshake.
func connFailure(say func(string, ...string) outcome, err error, t netTarget) outcome {
	var (
		notTLS tls.RecordHeaderError
		opErr  *net.OpError
		netErr net.Error
	)
	remote := errors.As(err, &opErr) && opErr.Op == "remote error" // an alert from the server
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return say("connection refused", fmt.Sprintf("nothing listens on %s: is %s right? is the server (or the emulator) running?", t.addr, t.what))
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return say("timed out", fmt.Sprintf("%s does not answer: check %s and its port; a firewall may drop the traffic, "+
			"or this network needs a proxy ($HTTPS_PROXY)", t.addr, t.what))
	case errors.As(err, &notTLS):
		return say("the server does not speak TLS", fmt.Sprintf("%s is not an HTTPS port: check the port in %s", t.addr, t.what))
	case remote && t.clientCert:
		return say(fmt.Sprintf("the server refused the client certificate (%v)", opErr.Err),
			"is --cert issued by a CA the pod trusts, and still valid? Ask your Symphony administrator which CA issues bot certificates")
	case remote:
		return say(fmt.Sprintf("the server refused the TLS connection (%v)", opErr.Err),
			"if it wants a client certificate, "+t.what+" is for certificate login: for RSA login use the pod's URL")
	case errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return say("the server closed the connection", "a firewall, proxy or load balancer may be in the way, or the port serves something else: check "+t.what)
	case errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH):
		return say("no route to the host", "check this machine's network, VPN and firewall")
	}
	return say(err.Error(), "check "+t.what+" and this machine's network")
}
