package login

import (
	"net/http"
	"sync"

	"github.com/symauth/symauth/internal/transport"
)

// defaultClient sends the login calls of every source made without an
// HTTPClient: one, shared, so that ten thousand sources cost one connection
// pool, not ten thousand. Its transport is made at the first use, from
// http.DefaultTransport as it is then (a proxy or a CA a program set there
// carries over), but is its own: a program that later puts a symauth
// Transport in http.DefaultTransport does not send logins through it, which
// would wait for themselves.
var defaultClient = sync.OnceValue(func() *http.Client {
	return &http.Client{Transport: transport.New()}
})

// ClientOrDefault is client, or the shared default when client is nil.
func ClientOrDefault(client *http.Client) *http.Client {
	if client != nil {
		return client
	}
	return defaultClient()
}
