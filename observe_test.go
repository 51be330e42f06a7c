package symauth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// lockedBuffer is a log destination safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records parses the JSON log lines written so far.
func (b *lockedBuffer) records(t testing.TB) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// eventRecorder collects LoginEvents.
type eventRecorder struct {
	mu     sync.Mutex
	events []symauth.LoginEvent
}

func (r *eventRecorder) record(ev symauth.LoginEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev)
}

func (r *eventRecorder) all() []symauth.LoginEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]symauth.LoginEvent(nil), r.events...)
}

func TestLoginEventsAndLogs(t *testing.T) {
	srv := newPod(t)
	var logs lockedBuffer
	var events eventRecorder
	sess := symauth.NewSessionWithOptions(newRSA(t, rsaConfig(srv)), symauth.SessionOptions{
		Logger:  slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnLogin: events.record,
	})
	client := &http.Client{Transport: symauth.NewTransport(sess, srv.Client().Transport)}

	get(t, client, srv.URL+symauthtest.PathSessionInfo) // first login
	srv.RevokeSessions()
	srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	get(t, client, srv.URL+symauthtest.PathSessionInfo) // 401, re-login with one retry
	if _, err := sess.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(symauthtest.PathLogin, symauthtest.Fault{Status: http.StatusForbidden, Times: 1})
	if _, err := sess.Refresh(context.Background()); err == nil {
		t.Fatal("want a failed login")
	}

	evs := events.all()
	wantCauses := []symauth.LoginCause{symauth.CauseFirst, symauth.CauseRejected, symauth.CauseManual, symauth.CauseManual}
	if len(evs) != len(wantCauses) {
		t.Fatalf("%d events; want %d", len(evs), len(wantCauses))
	}
	both := []string{symauthtest.PathLogin, symauthtest.PathRelay}
	for i, ev := range evs {
		if ev.Cause != wantCauses[i] || ev.Workflow != "rsa" || ev.Duration <= 0 {
			t.Errorf("event %d: %+v; want cause %v, workflow rsa", i, ev, wantCauses[i])
		}
		if i < 3 && !sameSet(ev.Endpoints, both) {
			t.Errorf("event %d endpoints %v", i, ev.Endpoints)
		}
	}
	if evs[0].Attempts != 2 || evs[1].Attempts != 3 {
		t.Errorf("attempts %d and %d; want 2 (pod + key manager) and 3 (one retried)", evs[0].Attempts, evs[1].Attempts)
	}
	var authErr *symauth.AuthError
	if evs[3].Err == nil || !errors.As(evs[3].Err, &authErr) || evs[0].Err != nil {
		t.Errorf("errors: %v / %v", evs[0].Err, evs[3].Err)
	}

	levels := map[string]int{}
	for _, r := range logs.records(t) {
		levels[r["level"].(string)+" "+r["msg"].(string)]++
	}
	for line, n := range map[string]int{
		"INFO symauth: login":                                             3,
		"WARN symauth: login failed":                                      1,
		"DEBUG symauth: 401; replaying the request with a new token":      1,
		"DEBUG symauth: login call failed; retrying if attempts are left": 0, // the config's Logger, not the Session's
	} {
		if levels[line] != n {
			t.Errorf("%d × %q; want %d (all: %v)", levels[line], line, n, levels)
		}
	}
	tok, _ := sess.Token(context.Background())
	if tok != nil && strings.Contains(logs.String(), tok.SessionToken) {
		t.Fatal("a log line holds a token")
	}
}

// A Logger in RSAConfig logs the retried calls and is the Session's default.
func TestConfigLoggerIsTheSessionDefault(t *testing.T) {
	srv := newPod(t)
	var logs lockedBuffer
	cfg := rsaConfig(srv)
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv.InjectFault(symauthtest.PathRelay, symauthtest.Fault{Status: http.StatusBadGateway, Times: 1})
	client := &http.Client{Transport: symauth.NewTransport(newRSA(t, cfg), srv.Client().Transport)}
	get(t, client, srv.URL+symauthtest.PathSessionInfo)
	var retried, loggedIn bool
	for _, r := range logs.records(t) {
		switch r["msg"] {
		case "symauth: login call failed; retrying if attempts are left":
			retried = r["endpoint"] == symauthtest.PathRelay && r["status"] == float64(http.StatusBadGateway)
		case "symauth: login":
			loggedIn = r["cause"] == "first"
		}
	}
	if !retried || !loggedIn {
		t.Fatalf("want a retry line for the key manager and a login line:\n%s", logs.String())
	}
}

func TestLoginCauseStrings(t *testing.T) {
	got := []string{symauth.CauseFirst.String(), symauth.CauseRejected.String(), symauth.CauseExpiry.String(), symauth.CauseManual.String(), symauth.LoginCause(42).String()}
	if want := []string{"first", "rejected", "expiry", "manual", "unknown"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("%v", got)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return true
}
