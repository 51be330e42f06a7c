package transport

import (
	"net/http"
	"testing"
	"time"
)

type otherRoundTripper struct{}

func (otherRoundTripper) RoundTrip(*http.Request) (*http.Response, error) { return nil, nil }

// New clones http.DefaultTransport when it is an *http.Transport, so that a
// program's settings there carry over, and builds one with net/http's
// defaults when it was replaced by something else.
func TestNew(t *testing.T) {
	saved := http.DefaultTransport
	t.Cleanup(func() { http.DefaultTransport = saved })

	custom := &http.Transport{MaxIdleConns: 7, IdleConnTimeout: time.Second}
	http.DefaultTransport = custom
	if got := New(); got == custom || got.MaxIdleConns != 7 || got.IdleConnTimeout != time.Second {
		t.Fatalf("New() = %p with %d, %v; want a clone of http.DefaultTransport", got, got.MaxIdleConns, got.IdleConnTimeout)
	}

	http.DefaultTransport = otherRoundTripper{}
	got := New()
	if got.Proxy == nil || got.DialContext == nil || !got.ForceAttemptHTTP2 || got.MaxIdleConns != 100 || got.TLSHandshakeTimeout != 10*time.Second {
		t.Fatalf("New() with a replaced http.DefaultTransport lacks net/http's defaults: %+v", got)
	}
}
