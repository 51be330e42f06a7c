package login

import (
	"net/http"
	"sync"

	"github.com/symauth/symauth/internal/transport"
)

// defaultClient sends the login calls of every source made without an
// HTTPClient: one, shared, so that ten thousand sources cost one connection
// pool, not ten thousand.
var defaultClient = &http.Client{Transport: defaultTransport{}}

// defaultTransport sends each login call through http.DefaultTransport when
// it is a plain *http.Transport at that moment: the Transport of a bot
// made with a nil Base sends its API calls there too, so the bot's first
// call to the pod reuses the connection its login opened, instead of dialling
// a second. When a program has put anything else there (a symauth Transport,
// which would send logins through itself and wait for them; httpmock; an
// instrumentation wrapper), the calls go through a transport of its own,
// made from http.DefaultTransport as it was when the first source without an
// HTTPClient was made (see transport.New).
//
// It has no CloseIdleConnections on purpose: go-retryablehttp closes the
// idle connections of its client after a call that failed, and those of
// http.DefaultTransport are the program's own API connections too.
type defaultTransport struct{}

var ownTransport = sync.OnceValue(transport.New)

func (defaultTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		return t.RoundTrip(req)
	}
	return ownTransport().RoundTrip(req)
}

// ClientOrDefault is client, or the shared default when client is nil.
func ClientOrDefault(client *http.Client) *http.Client {
	if client != nil {
		return client
	}
	ownTransport() // made now, from http.DefaultTransport as it is
	return defaultClient
}
