package symauth_test

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

var bdkTraceID = regexp.MustCompile(`^[0-9A-Za-z]{6}$`)

// tracedBot is a bot client whose Session has TraceID on (or off), with the
// API requests and the login calls recorded as sent, and the logs.
type tracedBot struct {
	pod         string // the pod's URL
	client      *http.Client
	sess        *symauth.Session
	api, logins *recordingRT
	logs        *lockedBuffer
	events      *eventRecorder
}

func newTracedBot(t *testing.T, on bool) *tracedBot {
	t.Helper()
	srv := newPod(t)
	logins := &recordingRT{next: srv.Client().Transport}
	logs := &lockedBuffer{}
	cfg := rsaConfig(srv)
	cfg.HTTPClient = &http.Client{Transport: logins}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv.InjectFault(symauthtest.PathRelay, symauthtest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	events := &eventRecorder{}
	sess := symauth.NewSessionWithOptions(newRSA(t, cfg), symauth.SessionOptions{TraceID: on, OnLogin: events.record})
	api := &recordingRT{next: srv.Client().Transport}
	return &tracedBot{pod: srv.URL, client: &http.Client{Transport: symauth.NewTransport(sess, api)}, sess: sess,
		api: api, logins: logins, logs: logs, events: events}
}

func getWith(t *testing.T, client *http.Client, ctx context.Context, url string, header http.Header) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}

// With TraceID on, every request carries an X-Trace-Id: its own header's,
// its context's, or a new one like BDK's; the login it triggers carries the
// same on its calls, its log lines and its LoginEvent.
func TestTraceID(t *testing.T) {
	b := newTracedBot(t, true)
	client, api, logins, logs, events, pod := b.client, b.api, b.logins, b.logs, b.events, b.pod
	ctx := context.Background()
	getWith(t, client, ctx, pod+symauthtest.PathSessionInfo, nil) // logs in
	sent := api.sent()
	id := sent[0].Header.Get("X-Trace-Id")
	if !bdkTraceID.MatchString(id) {
		t.Fatalf("X-Trace-Id %q; want 6 letters and digits", id)
	}
	for _, r := range logins.sent() {
		if got := r.Header.Values("X-Trace-Id"); len(got) != 1 || got[0] != id {
			t.Errorf("login call %s: X-Trace-Id %q; want the request's %q", r.URL.Path, got, id)
		}
	}
	if ev := events.all()[0]; ev.TraceID != id {
		t.Errorf("LoginEvent.TraceID %q; want %q", ev.TraceID, id)
	}
	lines := 0
	for _, r := range logs.records(t) {
		if strings.HasPrefix(r["msg"].(string), "symauth: login") {
			lines++
			if r["trace_id"] != id {
				t.Errorf("log line %v: want trace_id %q", r, id)
			}
		}
		if r["msg"] == "symauth: login" {
			if ms, ok := r["duration_ms"].(float64); !ok || ms <= 0 {
				t.Errorf("duration_ms %v; want milliseconds", r["duration_ms"])
			}
		}
	}
	if lines != 2 { // the retried key manager call, and the login
		t.Errorf("%d login log lines; want 2:\n%s", lines, logs.String())
	}

	getWith(t, client, ctx, pod+symauthtest.PathSessionInfo, nil)
	getWith(t, client, symauth.WithTraceID(ctx, "support:42"), pod+symauthtest.PathSessionInfo, nil)
	getWith(t, client, ctx, pod+symauthtest.PathSessionInfo, http.Header{"X-Trace-Id": {"mine"}})
	sent = api.sent()
	if second := sent[1].Header.Get("X-Trace-Id"); !bdkTraceID.MatchString(second) || second == id {
		t.Errorf("second request's X-Trace-Id %q; want a new one", second)
	}
	if got := sent[2].Header.Values("X-Trace-Id"); len(got) != 1 || got[0] != "support:42" {
		t.Errorf("the context's trace id: %q", got)
	}
	if got := sent[3].Header.Values("X-Trace-Id"); len(got) != 1 || got[0] != "mine" {
		t.Errorf("the request's own header: %q", got)
	}

	for _, bad := range []string{"a b", strings.Repeat("x", 129), "é"} {
		req, _ := http.NewRequestWithContext(symauth.WithTraceID(ctx, bad), http.MethodGet, pod+symauthtest.PathSessionInfo, nil)
		if _, err := client.Do(req); err == nil || !strings.Contains(err.Error(), "WithTraceID") {
			t.Errorf("trace id %q: %v", bad, err)
		}
		req.Header.Set("X-Trace-Id", bad)
		if _, err := client.Do(req); err == nil || !strings.Contains(err.Error(), "X-Trace-Id header") {
			t.Errorf("X-Trace-Id header %q: %v", bad, err)
		}
	}
}

// A login that a Token call without a trace id triggers gets a new one; a
// bad one fails the call before any login.
func TestTraceIDOfTokenCalls(t *testing.T) {
	b := newTracedBot(t, true)
	sess, logins, events := b.sess, b.logins, b.events
	if _, err := sess.Token(symauth.WithTraceID(context.Background(), "bad id")); err == nil || !strings.Contains(err.Error(), "trace id") {
		t.Fatalf("bad trace id: %v", err)
	}
	if len(logins.sent()) != 0 {
		t.Fatal("a bad trace id started a login")
	}
	if _, err := sess.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	id := events.all()[0].TraceID
	if !bdkTraceID.MatchString(id) || logins.sent()[0].Header.Get("X-Trace-Id") != id {
		t.Fatalf("LoginEvent.TraceID %q, login call's %q", id, logins.sent()[0].Header.Get("X-Trace-Id"))
	}
}

// Off, no request and no login call carries X-Trace-Id, whatever the context.
func TestTraceIDOff(t *testing.T) {
	b := newTracedBot(t, false)
	getWith(t, b.client, symauth.WithTraceID(context.Background(), "ignored"), b.pod+symauthtest.PathSessionInfo, nil)
	for _, r := range append(b.api.sent(), b.logins.sent()...) {
		if r.Header.Get("X-Trace-Id") != "" {
			t.Errorf("%s carries X-Trace-Id", r.URL.Path)
		}
	}
	if b.events.all()[0].TraceID != "" || strings.Contains(b.logs.String(), "trace_id") {
		t.Fatal("a trace id with TraceID off")
	}
}

// BenchmarkTransportTraceID is BenchmarkTransport's warm path with TraceID
// on: a new id per request, or the context's.
func BenchmarkTransportTraceID(b *testing.B) {
	sess := symauth.NewSessionWithOptions(staticSource{benchToken}, symauth.SessionOptions{TraceID: true})
	tr := symauth.NewTransport(sess, stubBase{})
	if _, err := sess.Token(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Run("new", func(b *testing.B) { benchmarkRoundTrip(b, tr, "/pod/v2/sessioninfo") })
	b.Run("context", func(b *testing.B) {
		req, _ := http.NewRequestWithContext(symauth.WithTraceID(context.Background(), "abc123"), http.MethodGet, "https://acme.symphony.com/pod/v2/sessioninfo", nil)
		b.ReportAllocs()
		for b.Loop() {
			if resp, err := tr.RoundTrip(req); err != nil || resp.StatusCode != http.StatusOK {
				b.Fatal(err)
			}
		}
	})
}
