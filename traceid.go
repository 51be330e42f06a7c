package symauth

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"

	"github.com/symauth/symauth/internal/login"
)

// X-Trace-Id is the header whose value Symphony prints in its server logs,
// so that support can find a client's requests (BDK Java's
// DistributedTracingContext, symphony-bdk-http-api: MDC key and header
// "X-Trace-Id", set on every API call when the MDC has none, to
// randomAlphanumeric(6) from a SecureRandom: characters 0-9, A-Z, a-z).
// symauth sends it when SessionOptions.TraceID is on.

// traceIDKey carries, in a context, the trace id a caller chose (WithTraceID).
type traceIDKey struct{}

// WithTraceID returns a copy of ctx carrying id as the X-Trace-Id of the
// requests made with it — and of the login one of them triggers — by a
// Session whose TraceID option is on; ignored when it is off. id should be
// 1 to 128 visible ASCII characters: any other fails those requests.
func WithTraceID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, traceIDKey{}, id)
}

// traceIDFrom is the trace id in ctx put by WithTraceID; "" when none.
func traceIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(traceIDKey{}).(string)
	return id
}

// maxTraceIDBytes bounds a trace id: BDK's are 6 characters, or a caller's
// base, ':' and 6 (setBaseTraceId).
const maxTraceIDBytes = 128

var errTraceID = errors.New("symauth: the trace id of the request (symauth.WithTraceID or its X-Trace-Id header) " +
	"is not 1 to 128 visible ASCII characters")

// checkTraceID reports whether id can be sent as X-Trace-Id: 1 to
// maxTraceIDBytes visible ASCII characters, or "" (none yet).
func checkTraceID(id string) error {
	if len(id) > maxTraceIDBytes {
		return errTraceID
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= ' ' || c > '~' {
			return errTraceID
		}
	}
	return nil
}

// traceIDAlphabet is BDK's: ASCII digits and letters.
const traceIDAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newTraceID returns a new trace id of 6 letters and digits, as BDK's. It
// correlates log lines, it is no secret: math/rand is enough.
func newTraceID() string {
	var b [6]byte
	for i := range b {
		b[i] = traceIDAlphabet[rand.N(len(traceIDAlphabet))]
	}
	return string(b[:])
}

var errTraceIDValues = errors.New("symauth: the request has more than one X-Trace-Id value " +
	"(in its header, or under keys in other letter cases): it must have one")

// requestTraceID returns the trace id of req, a request that TraceID is on
// for: its X-Trace-Id header (in any letter case), else its context's id,
// else a new one. The context returned is req's, carrying the id for the
// login it may trigger; header is the X-Trace-Id value to send, under the
// canonical key.
func requestTraceID(req *http.Request) (ctx context.Context, header []string, err error) {
	ctx = req.Context()
	v, err := traceIDHeader(req.Header)
	switch {
	case err != nil:
		return nil, nil, err
	case v != nil:
		if v[0] == "" || checkTraceID(v[0]) != nil {
			return nil, nil, errTraceID
		}
		return WithTraceID(ctx, v[0]), v, nil
	}
	id := traceIDFrom(ctx)
	switch {
	case id == "":
		id = newTraceID()
		ctx = WithTraceID(ctx, id)
	case checkTraceID(id) != nil:
		return nil, nil, errTraceID
	}
	return ctx, []string{id}, nil
}

// traceIDHeader returns the X-Trace-Id value of h, under any key in any
// letter case, as a slice of its own length and capacity: nil when there is
// none, an error when there is more than one.
func traceIDHeader(h http.Header) ([]string, error) {
	var found []string
	for k, v := range h {
		if len(k) != len(login.HeaderTraceID) || len(v) == 0 || !strings.EqualFold(k, login.HeaderTraceID) {
			continue
		}
		if found != nil || len(v) > 1 {
			return nil, errTraceIDValues
		}
		found = v[:1:1]
	}
	return found, nil
}
