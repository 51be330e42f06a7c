package symauthotel

import (
	"errors"
	"fmt"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope of the tracer and the meter.
const scope = "github.com/symauth/symauth/otel"

// Names of the span, the span event and the instruments.
const (
	spanLogin        = "symauth.login"
	eventReplay      = "symauth.replay"
	metricLogins     = "symauth.logins"
	metricDuration   = "symauth.login.duration"
	metricReplays    = "symauth.replays"
	metricRejections = "symauth.backoff.rejections"
)

// durationBuckets are the bounds of symauth.login.duration, in seconds: a
// login takes tens of milliseconds, or seconds when retried.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60}

// Config chooses where the traces and metrics go. The zero value means the
// global providers (otel.GetTracerProvider, otel.GetMeterProvider).
type Config struct {
	TracerProvider trace.TracerProvider // nil: otel.GetTracerProvider()
	MeterProvider  metric.MeterProvider // nil: otel.GetMeterProvider()
}

// Instrumentation holds the tracer and the instruments that the hooks of
// SessionOptions record to. It is safe for concurrent use.
type Instrumentation struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	tracer         trace.Tracer
	logins         metric.Int64Counter
	duration       metric.Float64Histogram
	replays        metric.Int64Counter
	rejections     metric.Int64Counter
}

// New makes the tracer and the instruments. It fails only when the meter
// provider refuses an instrument.
func New(cfg Config) (*Instrumentation, error) {
	in := &Instrumentation{tracerProvider: cfg.TracerProvider, meterProvider: cfg.MeterProvider}
	if in.tracerProvider == nil {
		in.tracerProvider = otel.GetTracerProvider()
	}
	if in.meterProvider == nil {
		in.meterProvider = otel.GetMeterProvider()
	}
	in.tracer = in.tracerProvider.Tracer(scope)
	meter := in.meterProvider.Meter(scope)
	var errs [4]error
	in.logins, errs[0] = meter.Int64Counter(metricLogins, metric.WithUnit("{login}"),
		metric.WithDescription("Logins of symauth Sessions, successful or not"))
	in.duration, errs[1] = meter.Float64Histogram(metricDuration, metric.WithUnit("s"),
		metric.WithDescription("Duration of the logins of symauth Sessions, retries included"),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	in.replays, errs[2] = meter.Int64Counter(metricReplays, metric.WithUnit("{request}"),
		metric.WithDescription("Requests replayed with a new token after a 401"))
	in.rejections, errs[3] = meter.Int64Counter(metricRejections, metric.WithUnit("{request}"),
		metric.WithDescription("Requests refused at once during the failure backoff that follows a failed login"))
	if err := errors.Join(errs[:]...); err != nil {
		return nil, fmt.Errorf("symauthotel: making the instruments: %w", err)
	}
	return in, nil
}
