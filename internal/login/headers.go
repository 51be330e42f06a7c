package login

import (
	"context"
	"runtime/debug"
	"time"
)

// modulePath is the path of the module this package is part of.
const modulePath = "github.com/symauth/symauth"

// UserAgent is the User-Agent of every login call, e.g. "symauth/v0.4.0
// (+Go)": the version of the symauth module in the binary, "devel" when it
// cannot be told (a local replace, a build without module information).
var UserAgent = userAgent(debug.ReadBuildInfo())

func userAgent(info *debug.BuildInfo, ok bool) string {
	version := ""
	if ok {
		if info.Main.Path == modulePath {
			version = info.Main.Version
		}
		for _, dep := range info.Deps {
			if dep.Path == modulePath {
				version = dep.Version
				if dep.Replace != nil {
					version = dep.Replace.Version
				}
			}
		}
	}
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	return "symauth/" + version + " (+Go)"
}

// HeaderTraceID is the header of BDK's trace id (DistributedTracingContext).
const HeaderTraceID = "X-Trace-Id"

type traceIDKey struct{}

// WithTraceID returns ctx carrying the trace id that the login calls made
// with it send as X-Trace-Id and their log lines show. A Session puts it
// there when its TraceID option is on.
func WithTraceID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, traceIDKey{}, id)
}

// TraceID is the trace id in ctx put by WithTraceID; "" when there is none.
func TraceID(ctx context.Context) string {
	id, _ := ctx.Value(traceIDKey{}).(string)
	return id
}

// Millis is d in milliseconds, the unit of the durations of log lines
// (named …_ms): readable by log pipelines, unlike slog's nanoseconds.
func Millis(d time.Duration) float64 {
	return float64(d) / float64(time.Millisecond)
}
