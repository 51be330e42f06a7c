package symauthotel

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
)

// LoginTransport wraps base (nil: http.DefaultTransport) with otelhttp, on
// in's providers: each login call it sends gets a client span, a child of
// the login's span.
func (in *Instrumentation) LoginTransport(base http.RoundTripper) http.RoundTripper {
	return otelhttp.NewTransport(base, otelhttp.WithTracerProvider(in.tracerProvider), otelhttp.WithMeterProvider(in.meterProvider))
}

// LoginClient returns a copy of c (nil: a client with a clone of
// http.DefaultTransport, as symauth's default login client is) whose
// transport is wrapped by LoginTransport: give it to RSAConfig.HTTPClient
// or OBOConfig.HTTPClient. c is not modified.
func (in *Instrumentation) LoginClient(c *http.Client) *http.Client {
	out := &http.Client{}
	if c != nil {
		*out = *c
	}
	base := out.Transport
	if base == nil {
		if dt, ok := http.DefaultTransport.(*http.Transport); ok {
			base = dt.Clone()
		} else {
			base = &http.Transport{Proxy: http.ProxyFromEnvironment}
		}
	}
	out.Transport = in.LoginTransport(base)
	return out
}

// BDKOptions wires in to a configuration file's bot:
//
//	cfg, err := bdkconfig.Load(path, append(o.BDKOptions(), bdkconfig.WithLogger(l))...)
//
// Its Session gets SessionOptions' hooks (after any WithOnLogin, which
// still runs) and its RSA login calls go through LoginTransport.
func (in *Instrumentation) BDKOptions() []bdkconfig.Option {
	return []bdkconfig.Option{
		bdkconfig.WithSessionOptions(func(opts *symauth.SessionOptions) { *opts = in.SessionOptions(*opts) }),
		bdkconfig.WithLoginTransport(in.LoginTransport),
	}
}
