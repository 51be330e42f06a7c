// Package transport builds the http.Transports of symauth's own clients.
package transport

import (
	"net"
	"net/http"
	"time"
)

// New returns a new *http.Transport to configure: a clone of
// http.DefaultTransport when it is an *http.Transport (so that what a
// program set there, a proxy or a dialer, carries over), otherwise one with
// net/http's default settings. It never fails: http.DefaultTransport may
// have been replaced by something else (httpmock, OpenTelemetry
// auto-instrumentation).
func New() *http.Transport {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.Clone()
	}
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
