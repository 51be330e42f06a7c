package bdkconfig

// Option adds to a configuration file what only Go code can give: session
// options (logger, OnLogin, login timeout), the base RoundTripper of API
// calls, the http.Client of login calls. Load and Parse take them, and so do
// Session, HTTPClient and OBO.
//
// This release defines the type only, so that code written against these
// signatures keeps compiling; the options themselves come in the next one.
type Option func(*options)

// options is what the Options given add to a Config.
type options struct{}
