package symauth

import (
	"context"
	"fmt"
	"net/http"

	"github.com/symauth/symauth/internal/login"
)

// sessionHooks are the observation options of a Session beyond Logger and
// OnLogin (see SessionOptions). Each is nil (false) unless set; none is
// looked at on the warm path.
type sessionHooks struct {
	loginStart func(ctx context.Context, cause LoginCause) context.Context
	replay     func(*http.Request)
	backoff    func(context.Context, error)
	traceID    bool
}

// noHooks is the hooks of every Session that sets none: they cost a Session
// one pointer, not the four fields.
var noHooks sessionHooks

func hooksOf(opts SessionOptions) *sessionHooks {
	h := sessionHooks{loginStart: opts.OnLoginStart, replay: opts.OnReplay, backoff: opts.OnBackoff, traceID: opts.TraceID}
	if h.loginStart == nil && h.replay == nil && h.backoff == nil && !h.traceID {
		return &noHooks
	}
	return &h
}

// withTraceID returns ctx, the context of a login, with the login's trace
// id when TraceID is on (the caller's, else a new one), and the id; "" when
// TraceID is off.
func (s *Session) withTraceID(ctx context.Context) (context.Context, string) {
	if !s.hook().traceID {
		return ctx, ""
	}
	id := traceIDFrom(ctx)
	if id == "" {
		id = newTraceID()
	}
	return login.WithTraceID(ctx, id), id
}

// loginStarted calls OnLoginStart, when set, with ctx, the context of a
// login under its LoginTimeout, and returns the context it returns (nil:
// ctx). Its error is that of a login that ended before calling anyone: the
// hook returned an ended context, or the LoginTimeout ran out in it.
func (s *Session) loginStarted(ctx context.Context, cause LoginCause) (context.Context, error) {
	if s.hook().loginStart == nil {
		return ctx, nil
	}
	started := s.hook().loginStart(ctx, cause)
	if started == nil {
		started = ctx
	}
	switch {
	case started.Err() == nil:
		return started, nil
	case ctx.Err() != nil:
		return nil, fmt.Errorf("symauth: the login's LoginTimeout (%s) ran out in SessionOptions.OnLoginStart: %w", s.timeout(), ctx.Err())
	}
	return nil, fmt.Errorf("symauth: SessionOptions.OnLoginStart returned an ended context (%v): the login did not start", started.Err())
}

// replayed calls OnReplay for req; its error is that of a panic in OnReplay.
func (s *Session) replayed(req *http.Request) error {
	if s.hook().replay == nil {
		return nil
	}
	return guard("OnReplay", func() { s.hook().replay(req) })
}

// refused calls OnBackoff for a call with ctx refused with err during the
// failure backoff, and returns err, or the error of a panic in OnBackoff.
func (s *Session) refused(ctx context.Context, err error) error {
	if s.hook().backoff == nil {
		return err
	}
	if perr := guard("OnBackoff", func() { s.hook().backoff(ctx, err) }); perr != nil {
		return perr
	}
	return err
}

// backoffRefusal is the error of a call refused during the failure backoff of
// session: it wraps the last login error.
type backoffRefusal struct {
	session *Session
	err     error
}

func (e *backoffRefusal) Error() string { return e.err.Error() }

func (e *backoffRefusal) Unwrap() error { return e.err }

// isRefusal reports whether err is a refusal of s's own failure backoff,
// which a login that started just before it began answers to its callers.
func (s *Session) isRefusal(err error) bool {
	r, ok := err.(*backoffRefusal)
	return ok && r.session == s
}

// guard runs f, the hook of that name, which runs on the caller's
// goroutine, and returns the error of its panic; nil when it returned. A
// runtime.Goexit in f ends the caller's goroutine, as it would have anyway.
func guard(hook string, f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &hookPanicError{hook: hook, value: v}
		}
	}()
	f()
	return nil
}

// hookPanicError is the error of a call whose hook panicked with value.
type hookPanicError struct {
	hook  string
	value any
}

func (e *hookPanicError) Error() string {
	return fmt.Sprintf("symauth: SessionOptions.%s panicked: %v", e.hook, e.value)
}

// Unwrap returns the panic's value when it is an error.
func (e *hookPanicError) Unwrap() error {
	err, _ := e.value.(error)
	return err
}

// hook returns the Session's hooks; a zero Session has none.
func (s *Session) hook() *sessionHooks {
	if s.hooks == nil {
		return &noHooks
	}
	return s.hooks
}
