package symauthotel

import (
	"context"
	"errors"
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/symauth/symauth"
)

// Attribute keys.
const (
	keyCause      = attribute.Key("symauth.cause")
	keyWorkflow   = attribute.Key("symauth.workflow")
	keyOutcome    = attribute.Key("symauth.outcome")
	keyAttempts   = attribute.Key("symauth.attempts")
	keyUser       = attribute.Key("symauth.user")
	keyApp        = attribute.Key("symauth.app")
	keySKD        = attribute.Key("symauth.skd")
	keyRenewal    = attribute.Key("symauth.renewal")
	keyTraceID    = attribute.Key("symauth.trace_id")
	keyStatusCode = attribute.Key("http.response.status_code")
	keyMethod     = attribute.Key("http.request.method")
	keyPath       = attribute.Key("url.path")
)

// loginSpanKey carries, in a login's context, the span OnLoginStart started
// for it, so that OnLogin ends that span and never the request's.
type loginSpanKey struct{}

// SessionOptions returns opts with the hooks that record to in:
// OnLoginStart, OnLogin, OnReplay and OnBackoff. Hooks already in opts
// still run, after in's (OnLoginStart's sees the login span in its context).
// Nothing else of opts changes; TraceID stays the caller's choice.
//
// The login span ends in OnLogin, which the Session calls once for every
// login, however it ends, with the login's context. A context of opts'
// OnLoginStart that does not derive from the one it got still carries the
// span to OnLogin (not as its active span: the hook chose what the login
// calls nest under); a panic in that hook ends the span at once, with an
// error status.
func (in *Instrumentation) SessionOptions(opts symauth.SessionOptions) symauth.SessionOptions {
	start, end, replay, backoff := opts.OnLoginStart, opts.OnLogin, opts.OnReplay, opts.OnBackoff
	opts.OnLoginStart = func(ctx context.Context, cause symauth.LoginCause) context.Context {
		ctx, span := in.loginStarted(ctx, cause)
		if start == nil {
			return ctx
		}
		returned := false
		defer func() {
			if !returned { // a panic or runtime.Goexit in start: OnLogin will not find the span
				span.SetStatus(codes.Error, "the Session's OnLoginStart did not return")
				span.End()
			}
		}()
		started := start(ctx, cause)
		returned = true
		switch {
		case started == nil:
			return ctx
		case started.Value(loginSpanKey{}) == nil: // not derived from ctx
			return context.WithValue(started, loginSpanKey{}, span)
		}
		return started
	}
	opts.OnLogin = func(ev symauth.LoginEvent) {
		in.loginEnded(ev)
		if end != nil {
			end(ev)
		}
	}
	opts.OnReplay = func(req *http.Request) {
		in.replayed(req)
		if replay != nil {
			replay(req)
		}
	}
	opts.OnBackoff = func(ctx context.Context, err error) {
		in.rejections.Add(ctx, 1)
		if backoff != nil {
			backoff(ctx, err)
		}
	}
	return opts
}

// loginStarted starts the span of a login, a child of the span in ctx (the
// request's), and returns it and ctx carrying it.
func (in *Instrumentation) loginStarted(ctx context.Context, cause symauth.LoginCause) (context.Context, trace.Span) {
	ctx, span := in.tracer.Start(ctx, spanLogin, trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(keyCause.String(cause.String())))
	return context.WithValue(ctx, loginSpanKey{}, span), span
}

// loginEnded ends the span of a login with what the event says, and records
// its metrics in the login's context.
func (in *Instrumentation) loginEnded(ev symauth.LoginEvent) {
	ctx := ev.Context
	if ctx == nil {
		ctx = context.Background()
	}
	outcome := "success"
	if ev.Err != nil {
		outcome = "failure"
	}
	set := metric.WithAttributes(keyCause.String(ev.Cause.String()), keyWorkflow.String(ev.Workflow), keyOutcome.String(outcome))
	in.logins.Add(ctx, 1, set)
	in.duration.Record(ctx, ev.Duration.Seconds(), set)

	span, ok := ctx.Value(loginSpanKey{}).(trace.Span)
	if !ok {
		return
	}
	attrs := []attribute.KeyValue{keyWorkflow.String(ev.Workflow), keyAttempts.Int(ev.Attempts), keyOutcome.String(outcome)}
	if status := statusOf(ev); status != 0 {
		attrs = append(attrs, keyStatusCode.Int(status))
	}
	if ev.User != "" {
		attrs = append(attrs, keyUser.String(ev.User))
	}
	if ev.AppID != "" {
		attrs = append(attrs, keyApp.String(ev.AppID))
	}
	if ev.SKD {
		attrs = append(attrs, keySKD.Bool(true))
	}
	if ev.Renewal {
		attrs = append(attrs, keyRenewal.Bool(true))
	}
	if ev.TraceID != "" {
		attrs = append(attrs, keyTraceID.String(ev.TraceID))
	}
	span.SetAttributes(attrs...)
	if ev.Err != nil {
		span.RecordError(ev.Err)
		span.SetStatus(codes.Error, ev.Err.Error())
	}
	span.End()
}

// statusOf is the HTTP status of a login: that of its failed call, or of
// its last call; 0 when no HTTP answer came back.
func statusOf(ev symauth.LoginEvent) int {
	if ev.Err != nil {
		var ae *symauth.AuthError
		if errors.As(ev.Err, &ae) {
			return ae.StatusCode
		}
		return 0
	}
	if n := len(ev.Calls); n > 0 {
		return ev.Calls[n-1].StatusCode
	}
	return 0
}

// replayed counts a request replayed after a 401 and adds the event to its
// span.
func (in *Instrumentation) replayed(req *http.Request) {
	ctx := req.Context()
	in.replays.Add(ctx, 1)
	trace.SpanFromContext(ctx).AddEvent(eventReplay, trace.WithAttributes(keyMethod.String(req.Method), keyPath.String(req.URL.Path)))
}
