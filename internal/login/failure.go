package login

// Failure is what a failed call reports: the fields of symauth.AuthError, in
// the same order, so that the root package converts a *Failure with
// (*symauth.AuthError)(f). It never holds a token, a JWT or key material.
type Failure struct {
	Endpoint   string // the path called, e.g. "/login/pubkey/authenticate"
	StatusCode int    // 0 when no HTTP response came back
	Message    string // the server's message, sanitized (never a token)
	Err        error  // the cause, if any
}
