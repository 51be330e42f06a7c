package symauth

import (
	"context"
	"reflect"
)

// rejectedKey carries, in the context of a Session's login, the token that
// was rejected, so that a cache inside the source drops it too.
type rejectedKey struct{}

func withRejected(ctx context.Context, t *Token) context.Context {
	return context.WithValue(ctx, rejectedKey{}, t)
}

// rejectedIn returns the rejected token in ctx; nil when there is none.
func rejectedIn(ctx context.Context) *Token {
	t, _ := ctx.Value(rejectedKey{}).(*Token)
	return t
}

// detached is the context of a login: the values of the caller's context
// (trace ids, so that login spans nest under the request) without its
// cancellation, and without its httptrace hooks, which must not fire for
// calls made after the caller may have returned.
func detached(ctx context.Context) context.Context {
	return context.WithoutCancel(withoutTrace{ctx})
}

// withoutTrace hides the httptrace.ClientTrace (and the net package's trace
// hooks it brings) of the context it wraps.
type withoutTrace struct{ context.Context }

func (c withoutTrace) Value(key any) any {
	if isTraceKey(key) {
		return nil
	}
	return c.Context.Value(key)
}

// isTraceKey reports whether key is a context key of net/http/httptrace or
// of the net package's internal trace hooks.
func isTraceKey(key any) bool {
	t := reflect.TypeOf(key)
	if t == nil {
		return false
	}
	switch t.PkgPath() {
	case "net/http/httptrace", "internal/nettrace":
		return true
	}
	return false
}
