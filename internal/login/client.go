package login

import "net/http"

// defaultClient sends the login calls of every source made without an
// HTTPClient: through http.DefaultTransport, looked up at each call, so that
// they share one connection pool (ten thousand sources cost one, not ten
// thousand) and whatever a program put there (a corporate CA, a proxy, an
// instrumented RoundTripper) applies to them too.
var defaultClient = &http.Client{}

// ClientOrDefault is client, or the shared default when client is nil.
func ClientOrDefault(client *http.Client) *http.Client {
	if client != nil {
		return client
	}
	return defaultClient
}
