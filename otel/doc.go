// Package symauthotel exports what symauth Sessions do as OpenTelemetry
// traces and metrics. It is a module of its own, so that a bot that does not
// use OpenTelemetry never depends on it.
//
// One call wires it to a Session:
//
//	o, err := symauthotel.New(symauthotel.Config{}) // the global providers
//	sess := symauth.NewSessionWithOptions(auth, o.SessionOptions(symauth.SessionOptions{}))
//
// or to a configuration file: bdkconfig.Load(path, o.BDKOptions()...).
//
// Traces: a span "symauth.login" per login, a child of the span of the
// request that triggered it, with the attributes symauth.cause,
// symauth.workflow, symauth.attempts, symauth.outcome ("success" or
// "failure"), http.response.status_code, and symauth.user, symauth.app,
// symauth.skd, symauth.renewal and symauth.trace_id (the X-Trace-Id) when
// they apply; a failed login records its error, never a token. The login's
// calls to the pod, the key manager and the agent are child spans of it when
// the login client is instrumented: RSAConfig.HTTPClient = o.LoginClient(c)
// (BDKOptions does it for a configuration file). A request replayed after a
// 401 gets an event "symauth.replay" on its span: wrap the symauth Transport
// in otelhttp.NewTransport for requests to have one.
//
// Metrics: symauth.logins (counter: symauth.cause, symauth.workflow,
// symauth.outcome), symauth.login.duration (histogram, seconds, same
// attributes), symauth.replays (counter: requests replayed after a 401) and
// symauth.backoff.rejections (counter: requests refused at once during the
// failure backoff). Each is recorded in the context of its login or
// request, so that exemplars point at its trace.
//
// An Instrumentation is safe for concurrent use by any number of Sessions.
package symauthotel
