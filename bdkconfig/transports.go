package bdkconfig

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"sync"
	"time"

	"github.com/symauth/symauth/internal/transport"
)

// newHTTPTransport returns a transport like http.DefaultTransport with the
// configuration's proxies, trust store and connection timeouts. The Config
// makes one for the login calls and one for the API calls, so that neither
// closes the other's idle connections.
func newHTTPTransport(r *routes, roots *x509.CertPool) *http.Transport {
	t := transport.New()
	if proxy := r.proxyFunc(); proxy != nil {
		t.Proxy = proxy
	}
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: r.connectTimeout(addr), KeepAlive: 30 * time.Second}
		return d.DialContext(ctx, network, addr)
	}
	return t
}

// perServer applies, above next, what a configured server asks of each
// request to it: its defaultHeaders, and its readTimeout — no response
// headers for that long after the request is written, or no data from the
// body for that long in a Read, fails the request, as BDK's read timeout
// does.
type perServer struct {
	next   http.RoundTripper
	routes *routes
	also   http.RoundTripper // closed with next by CloseIdleConnections; may be nil
}

// ReadTimeoutError is the error of a request that waited longer than the
// server's readTimeout for data.
type readTimeoutError struct {
	server  string
	timeout time.Duration
}

func (e *readTimeoutError) Error() string {
	return fmt.Sprintf("bdkconfig: no data from %s for %v (readTimeout)", e.server, e.timeout)
}
func (e *readTimeoutError) Timeout() bool   { return true }
func (e *readTimeoutError) Temporary() bool { return true }

func (t *perServer) RoundTrip(req *http.Request) (*http.Response, error) {
	srv, configured := t.routes.server(req.URL)
	orig := req
	headers := srv.headers
	if !configured {
		headers = nil // the top level's timeouts apply; its headers go to configured servers only
	}
	if missing := missingHeaders(req.Header, headers); missing != nil {
		req = req.Clone(req.Context())
		for name, values := range missing {
			req.Header[name] = values
		}
	}
	d := srv.cfg.ReadTimeout
	if d <= 0 {
		resp, err := t.next.RoundTrip(req)
		if resp != nil {
			resp.Request = orig
		}
		return resp, err
	}
	timeoutErr := srv.readTimeoutErr
	if !configured {
		timeoutErr = &readTimeoutError{server: req.URL.Host, timeout: d}
	}
	ctx, cancel := context.WithCancelCause(req.Context())
	timer := time.AfterFunc(d, func() { cancel(timeoutErr) })
	timer.Stop()
	// The wait for the response starts when the request is written, not when
	// RoundTrip is called: a request that waits for the bot's login (or for
	// a connection) is not timed, and a 401 answered, then replayed after a
	// login, is timed from each write.
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteRequest:         func(httptrace.WroteRequestInfo) { timer.Reset(d) },
		GotFirstResponseByte: func() { timer.Stop() },
	})
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	timer.Stop()
	if err != nil || resp == nil {
		cancel(nil)
		if context.Cause(ctx) == error(timeoutErr) {
			err = timeoutErr
		}
		return resp, err
	}
	resp.Request = orig
	resp.Body = &idleTimeoutBody{body: resp.Body, timer: timer, timeout: d, ctx: ctx, cancel: cancel, err: timeoutErr}
	return resp, nil
}

// missingHeaders returns the headers of want that h does not have; nil if
// none.
func missingHeaders(h, want http.Header) http.Header {
	var out http.Header
	for name, values := range want {
		if _, ok := h[name]; !ok {
			if out == nil {
				out = http.Header{}
			}
			out[name] = values
		}
	}
	return out
}

// idleTimeoutBody fails a Read that waits longer than timeout.
type idleTimeoutBody struct {
	body    io.ReadCloser
	timer   *time.Timer
	timeout time.Duration
	ctx     context.Context
	cancel  context.CancelCauseFunc
	err     *readTimeoutError
	once    sync.Once
}

func (b *idleTimeoutBody) Read(p []byte) (int, error) {
	b.timer.Reset(b.timeout)
	n, err := b.body.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF && context.Cause(b.ctx) == error(b.err) {
		err = b.err
	}
	return n, err
}

func (b *idleTimeoutBody) Close() error {
	err := b.body.Close()
	b.once.Do(func() {
		b.timer.Stop()
		b.cancel(nil)
	})
	return err
}

// CloseIdleConnections closes the idle connections of next (and also), so
// that http.Client.CloseIdleConnections reaches the transports below: the
// API client's closes the login calls' connections too.
func (t *perServer) CloseIdleConnections() {
	for _, rt := range []http.RoundTripper{t.next, t.also} {
		if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}
