package login

import (
	"net/http"
	"sync"

	"github.com/symauth/symauth/internal/transport"
)

// DefaultClient is the client of the login calls of every source made without
// an HTTPClient: one, shared, so that ten thousand sources cost one
// connection pool, not ten thousand. It is made on first use.
var DefaultClient = sync.OnceValue(func() *http.Client {
	return &http.Client{Transport: transport.New()}
})

// ClientOrDefault is client, or DefaultClient when client is nil.
func ClientOrDefault(client *http.Client) *http.Client {
	if client != nil {
		return client
	}
	return DefaultClient()
}
