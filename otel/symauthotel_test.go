package symauthotel_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
	symauthotel "github.com/symauth/symauth/otel"
	"github.com/symauth/symauth/symauthtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const botName = "otel-bot"

// fixture is a symauthtest pod, a bot client instrumented end to end (the
// requests by otelhttp around the symauth Transport, the logins by the
// Session's hooks, the login calls by LoginClient), the in-memory span
// exporter and the manual metric reader.
type fixture struct {
	pod    *symauthtest.Server
	key    *rsa.PrivateKey
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	otel   *symauthotel.Instrumentation
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pod := symauthtest.NewServer()
	t.Cleanup(pod.Close)
	key, err := pod.NewUser(botName)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{pod: pod, key: key, spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	f.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(f.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(f.reader))
	t.Cleanup(func() { _ = f.tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) })
	if f.otel, err = symauthotel.New(symauthotel.Config{TracerProvider: f.tp, MeterProvider: mp}); err != nil {
		t.Fatal(err)
	}
	return f
}

// session is an instrumented Session of the bot, with opts' own hooks.
func (f *fixture) session(t *testing.T, retry symauth.RetryPolicy, opts symauth.SessionOptions) *symauth.Session {
	t.Helper()
	auth, err := symauth.NewRSA(symauth.RSAConfig{PodURL: f.pod.URL, Username: botName, PrivateKey: f.key,
		HTTPClient: f.otel.LoginClient(f.pod.Client()), Retry: retry})
	if err != nil {
		t.Fatal(err)
	}
	return symauth.NewSessionWithOptions(auth, f.otel.SessionOptions(opts))
}

// client sends through otelhttp (a span per request) around the symauth
// Transport over base.
func (f *fixture) client(sess *symauth.Session, base http.RoundTripper) *http.Client {
	return &http.Client{Transport: otelhttp.NewTransport(symauth.NewTransport(sess, base), otelhttp.WithTracerProvider(f.tp))}
}

func (f *fixture) get(t *testing.T, client *http.Client) error {
	t.Helper()
	resp, err := client.Get(f.pod.URL + symauthtest.PathSessionInfo)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// named returns the spans called name.
// sessionEnd ends the pod's sessions, forgets the spans so far, and sends
// inFlight requests through sess that are all in flight when they meet the
// session end (heldRT holds them until all are sent).
func (f *fixture) sessionEnd(t *testing.T, sess *symauth.Session, inFlight int) {
	t.Helper()
	f.pod.RevokeSessions()
	f.spans.Reset()
	client := f.client(sess, &heldRT{next: f.pod.Client().Transport, n: int32(inFlight), all: make(chan struct{})})
	var wg sync.WaitGroup
	for range inFlight {
		wg.Go(func() {
			if err := f.get(t, client); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

func (f *fixture) named(name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range f.spans.GetSpans() {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// childrenOf returns the spans whose parent is p.
func (f *fixture) childrenOf(p tracetest.SpanStub) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range f.spans.GetSpans() {
		if s.Parent.SpanID() == p.SpanContext.SpanID() && s.Parent.IsValid() {
			out = append(out, s)
		}
	}
	return out
}

func attrs(s tracetest.SpanStub) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

// metrics collects what the reader has.
func (f *fixture) metrics(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := f.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != "github.com/symauth/symauth/otel" {
			continue
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// points is a metric's value by attribute set ("k=v,k=v"): the sum of a
// counter, the count of a histogram (and the histogram's sum under "sum:"
// that key).
func points(t *testing.T, data metricdata.Aggregation) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	key := func(set attribute.Set) string {
		var parts []string
		for _, kv := range set.ToSlice() {
			parts = append(parts, string(kv.Key)+"="+kv.Value.String())
		}
		return strings.Join(parts, ",")
	}
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		if !d.IsMonotonic {
			t.Error("a counter that is not monotonic")
		}
		for _, p := range d.DataPoints {
			out[key(p.Attributes)] = float64(p.Value)
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			out[key(p.Attributes)] = float64(p.Count)
			out["sum:"+key(p.Attributes)] = p.Sum
		}
	case nil:
	default:
		t.Fatalf("unexpected data %T", data)
	}
	return out
}

const (
	firstOK    = "symauth.cause=first,symauth.outcome=success,symauth.workflow=rsa"
	rejectedOK = "symauth.cause=rejected,symauth.outcome=success,symauth.workflow=rsa"
	firstFail  = "symauth.cause=first,symauth.outcome=failure,symauth.workflow=rsa"
)

// The first request logs in: a symauth.login span under the request's span,
// the pod and key manager calls under it, and one login counted.
func TestFirstLogin(t *testing.T) {
	f := newFixture(t)
	sess := f.session(t, symauth.RetryPolicy{}, symauth.SessionOptions{TraceID: true})
	client := f.client(sess, f.pod.Client().Transport)
	if err := f.get(t, client); err != nil {
		t.Fatal(err)
	}

	requests, logins := f.named("HTTP GET"), f.named("symauth.login")
	if len(requests) != 1 || len(logins) != 1 {
		t.Fatalf("%d request spans and %d login spans; want 1 and 1", len(requests), len(logins))
	}
	login := logins[0]
	if login.Parent.SpanID() != requests[0].SpanContext.SpanID() || login.SpanContext.TraceID() != requests[0].SpanContext.TraceID() {
		t.Fatal("the login span is not a child of the request's span")
	}
	a := attrs(login)
	for k, want := range map[string]string{
		"symauth.cause": "first", "symauth.workflow": "rsa", "symauth.outcome": "success", "symauth.user": botName,
		"symauth.attempts": "2", "http.response.status_code": "200",
	} {
		if got := a[k].String(); got != want {
			t.Errorf("login span %s = %q; want %q", k, got, want)
		}
	}
	if id := a["symauth.trace_id"].AsString(); len(id) != 6 {
		t.Errorf("symauth.trace_id %q; want the 6-character X-Trace-Id", id)
	}
	if login.Status.Code == codes.Error || login.EndTime.Before(login.StartTime) {
		t.Errorf("login span status %v", login.Status)
	}
	calls := map[string]bool{}
	for _, c := range f.childrenOf(login) {
		u, _ := url.Parse(attrs(c)["url.full"].AsString())
		calls[c.Name+" "+u.Path] = true
		if c.StartTime.Before(login.StartTime) || c.EndTime.After(login.EndTime) {
			t.Errorf("login call %s outside the login span", u.Path)
		}
	}
	if len(calls) != 2 || !calls["HTTP POST "+symauthtest.PathLogin] || !calls["HTTP POST "+symauthtest.PathRelay] {
		t.Errorf("the login span's children: %v; want the pod and key manager calls", calls)
	}

	m := f.metrics(t)
	if got := points(t, m["symauth.logins"]); len(got) != 1 || got[firstOK] != 1 {
		t.Errorf("symauth.logins %v; want {%s: 1}", got, firstOK)
	}
	d := points(t, m["symauth.login.duration"])
	if secs := d["sum:"+firstOK]; d[firstOK] != 1 || secs <= 0 || secs > float64(time.Minute/time.Second) {
		t.Errorf("symauth.login.duration %v; want one login of a few milliseconds, in seconds", d)
	}
	if m["symauth.replays"] != nil || m["symauth.backoff.rejections"] != nil {
		t.Errorf("replays %v, rejections %v; want none", m["symauth.replays"], m["symauth.backoff.rejections"])
	}
}

// heldRT holds the first n requests it sees until all n have arrived: all
// are sent with the token of before the session end.
type heldRT struct {
	next    http.RoundTripper
	n       int32
	arrived atomic.Int32
	all     chan struct{}
}

func (h *heldRT) RoundTrip(req *http.Request) (*http.Response, error) {
	switch k := h.arrived.Add(1); {
	case k == h.n:
		close(h.all)
	case k < h.n:
		<-h.all
	}
	return h.next.RoundTrip(req)
}

// A session end with 50 requests in flight: one login span, a replay event
// on each request's span, symauth.replays = 50. The Session's own hooks
// still run.
func TestSessionEndWithRequestsInFlight(t *testing.T) {
	const inFlight = 50
	f := newFixture(t)
	var ownReplays, ownLogins, ownStarts atomic.Int32
	sess := f.session(t, symauth.RetryPolicy{}, symauth.SessionOptions{
		OnReplay: func(*http.Request) { ownReplays.Add(1) },
		OnLogin:  func(symauth.LoginEvent) { ownLogins.Add(1) },
		OnLoginStart: func(ctx context.Context, _ symauth.LoginCause) context.Context {
			ownStarts.Add(1)
			return nil
		},
	})
	if _, err := sess.Token(context.Background()); err != nil { // the first login, outside any request
		t.Fatal(err)
	}
	f.sessionEnd(t, sess, inFlight)

	logins, requests := f.named("symauth.login"), f.named("HTTP GET")
	if len(logins) != 1 || len(requests) != inFlight {
		t.Fatalf("%d login spans and %d request spans; want 1 and %d", len(logins), len(requests), inFlight)
	}
	if a := attrs(logins[0]); a["symauth.cause"].AsString() != "rejected" || a["symauth.outcome"].AsString() != "success" {
		t.Errorf("login span %v", a)
	}
	parents := 0
	for _, r := range requests {
		if logins[0].Parent.SpanID() == r.SpanContext.SpanID() {
			parents++
		}
		if len(r.Events) != 1 || r.Events[0].Name != "symauth.replay" {
			t.Fatalf("request span events %v; want one symauth.replay", r.Events)
		}
		ev := map[string]string{}
		for _, kv := range r.Events[0].Attributes {
			ev[string(kv.Key)] = kv.Value.String()
		}
		if ev["http.request.method"] != http.MethodGet || ev["url.path"] != symauthtest.PathSessionInfo {
			t.Errorf("replay event %v", ev)
		}
	}
	if parents != 1 {
		t.Errorf("the login span is the child of %d request spans; want the one that triggered it", parents)
	}
	if len(f.childrenOf(logins[0])) != 2 {
		t.Errorf("the login span has %d children; want the pod and key manager calls", len(f.childrenOf(logins[0])))
	}

	m := f.metrics(t)
	if got := points(t, m["symauth.replays"]); len(got) != 1 || got[""] != inFlight {
		t.Errorf("symauth.replays %v; want %d", got, inFlight)
	}
	if got := points(t, m["symauth.logins"]); len(got) != 2 || got[firstOK] != 1 || got[rejectedOK] != 1 {
		t.Errorf("symauth.logins %v; want one first and one rejected", got)
	}
	if got := points(t, m["symauth.login.duration"]); got[firstOK] != 1 || got[rejectedOK] != 1 {
		t.Errorf("symauth.login.duration %v", got)
	}
	if m["symauth.backoff.rejections"] != nil {
		t.Error("backoff rejections without a failed login")
	}
	if ownReplays.Load() != inFlight || ownLogins.Load() != 2 || ownStarts.Load() != 2 {
		t.Errorf("the Session's own hooks: %d replays, %d logins, %d starts; want %d, 2, 2", ownReplays.Load(), ownLogins.Load(), ownStarts.Load(), inFlight)
	}
}

// A failing pod: the login span fails with the pod's status; the requests
// that follow during the failure backoff are refused at once and counted.
func TestFailingPodDuringBackoff(t *testing.T) {
	const refused = 3
	f := newFixture(t)
	var ownRefusals atomic.Int32
	sess := f.session(t, symauth.RetryPolicy{MaxAttempts: 2, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond},
		symauth.SessionOptions{OnBackoff: func(context.Context, error) { ownRefusals.Add(1) }})
	client := f.client(sess, f.pod.Client().Transport)
	f.pod.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusServiceUnavailable, Times: 100})
	var authErr *symauth.AuthError
	if err := f.get(t, client); !errors.As(err, &authErr) || authErr.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("the first request: %v; want the login's 503", err)
	}
	for range refused {
		if err := f.get(t, client); err == nil || !strings.Contains(err.Error(), "not logging in for another") {
			t.Fatalf("a request during the backoff: %v", err)
		}
	}

	logins := f.named("symauth.login")
	if len(logins) != 1 {
		t.Fatalf("%d login spans; want 1: the backoff starts no login", len(logins))
	}
	login := logins[0]
	a := attrs(login)
	if a["symauth.outcome"].AsString() != "failure" || a["http.response.status_code"].AsInt64() != http.StatusServiceUnavailable ||
		a["symauth.attempts"].AsInt64() != 2 || login.Status.Code != codes.Error || len(login.Events) != 1 || login.Events[0].Name != "exception" {
		t.Errorf("failed login span: %v, status %v, events %v", a, login.Status, login.Events)
	}
	if n := len(f.childrenOf(login)); n != 2 {
		t.Errorf("%d login call spans; want the 2 attempts", n)
	}

	m := f.metrics(t)
	if got := points(t, m["symauth.logins"]); len(got) != 1 || got[firstFail] != 1 {
		t.Errorf("symauth.logins %v; want {%s: 1}", got, firstFail)
	}
	if got := points(t, m["symauth.login.duration"]); got[firstFail] != 1 {
		t.Errorf("symauth.login.duration %v", got)
	}
	if got := points(t, m["symauth.backoff.rejections"]); len(got) != 1 || got[""] != refused {
		t.Errorf("symauth.backoff.rejections %v; want %d", got, refused)
	}
	if ownRefusals.Load() != refused {
		t.Errorf("the Session's own OnBackoff ran %d times; want %d", ownRefusals.Load(), refused)
	}
}

// BDKOptions wires a configuration file's bot: login spans with the login
// calls under them, and the file's WithOnLogin still runs.
func TestBDKOptions(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(f.key)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(f.pod.URL)
	files := map[string][]byte{
		"ca.pem":  f.pod.CACertPEM(),
		"bot.pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}),
		"config.yaml": fmt.Appendf(nil, "scheme: https\nhost: %s\nport: %s\nssl:\n  trustStore:\n    path: ca.pem\n"+
			"bot:\n  username: %s\n  privateKey:\n    path: bot.pem\n", u.Hostname(), u.Port(), botName),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var ownLogins atomic.Int32
	cfg, err := bdkconfig.Load(filepath.Join(dir, "config.yaml"),
		append(f.otel.BDKOptions(), bdkconfig.WithOnLogin(func(symauth.LoginEvent) { ownLogins.Add(1) }))...)
	if err != nil {
		t.Fatal(err)
	}
	client, err := cfg.HTTPClient()
	if err != nil {
		t.Fatal(err)
	}
	defer client.CloseIdleConnections()
	if err := f.get(t, client); err != nil {
		t.Fatal(err)
	}
	logins := f.named("symauth.login")
	if len(logins) != 1 || len(f.childrenOf(logins[0])) != 2 || ownLogins.Load() != 1 {
		t.Fatalf("%d login spans, %d login call spans, WithOnLogin ran %d times; want 1, 2 and 1",
			len(logins), len(f.childrenOf(logins[0])), ownLogins.Load())
	}
	if got := points(t, f.metrics(t)["symauth.logins"]); got[firstOK] != 1 {
		t.Errorf("symauth.logins %v", got)
	}
}

// LoginClient never modifies the client it copies; with none, it starts
// from a clone of http.DefaultTransport.
func TestLoginClient(t *testing.T) {
	f := newFixture(t)
	mine := &http.Client{Timeout: time.Minute}
	got := f.otel.LoginClient(mine)
	if mine.Transport != nil || got.Timeout != time.Minute || got.Transport == nil {
		t.Fatalf("LoginClient(c): %+v from %+v", got, mine)
	}
	if c := f.otel.LoginClient(nil); c.Transport == nil || c.Transport == http.DefaultTransport {
		t.Fatal("LoginClient(nil) has no transport of its own")
	}
}

// New on the global providers works; a meter provider that refuses an
// instrument is New's error.
func TestNew(t *testing.T) {
	if _, err := symauthotel.New(symauthotel.Config{}); err != nil {
		t.Fatal(err)
	}
	_, err := symauthotel.New(symauthotel.Config{MeterProvider: refusingMeterProvider{}})
	if err == nil || !strings.Contains(err.Error(), "symauthotel: making the instruments") || !strings.Contains(err.Error(), "no counters") {
		t.Fatalf("%v", err)
	}
}

// refusingMeterProvider's meters refuse to make counters.
type refusingMeterProvider struct{ noop.MeterProvider }

func (refusingMeterProvider) Meter(string, ...metric.MeterOption) metric.Meter {
	return refusingMeter{}
}

type refusingMeter struct{ noop.Meter }

func (refusingMeter) Int64Counter(string, ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return nil, errors.New("no counters here")
}
