// Package transport builds the http.Transports of symauth's own clients.
package transport

import (
	"net"
	"net/http"
	"time"
)

// New returns a new *http.Transport with the settings of
// net/http's DefaultTransport (proxy from the environment, HTTP/2, the same
// timeouts and pool sizes). It is built, not cloned: http.DefaultTransport
// may have been replaced by something that is not an *http.Transport
// (httpmock, OpenTelemetry auto-instrumentation).
func New() *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}
