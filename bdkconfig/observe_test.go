package bdkconfig_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/bdkconfig"
	"github.com/symauth/symauth/symauthtest"
)

// headerTap records a header of every request it carries.
type headerTap struct {
	base   http.RoundTripper
	header string
	mu     sync.Mutex
	values map[string]string // by path
}

func (r *headerTap) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	if r.values == nil {
		r.values = map[string]string{}
	}
	r.values[req.URL.Path] = req.Header.Get(r.header)
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

func (r *headerTap) seen() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for k, v := range r.values {
		out[k] = v
	}
	return out
}

// WithSessionOptions edits the Session's options after the other options:
// here the observation hooks and TraceID. WithLoginTransport wraps the
// transport of the RSA login calls, which carry the trace id of the request
// that triggered the login.
func TestSessionOptionsAndLoginTransport(t *testing.T) {
	srv := newPod(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
	var logins *headerTap
	var api *headerTap
	var started, ended int
	var replays int
	cfg, err := bdkconfig.Load(writeConfig(t, dir, serverKeys(srv)+rsaBotSection),
		bdkconfig.WithOnLogin(func(symauth.LoginEvent) { ended++ }),
		bdkconfig.WithSessionOptions(nil), // ignored
		bdkconfig.WithSessionOptions(func(o *symauth.SessionOptions) {
			if o.OnLogin == nil {
				t.Error("WithSessionOptions ran before WithOnLogin was applied")
			}
			o.TraceID = true
			o.OnLoginStart = func(ctx context.Context, _ symauth.LoginCause) context.Context { started++; return ctx }
		}),
		bdkconfig.WithSessionOptions(func(o *symauth.SessionOptions) { o.OnReplay = func(*http.Request) { replays++ } }),
		bdkconfig.WithAPITransport(func(base http.RoundTripper) http.RoundTripper {
			api = &headerTap{base: base, header: "X-Trace-Id"}
			return api
		}),
		bdkconfig.WithLoginTransport(func(base http.RoundTripper) http.RoundTripper {
			logins = &headerTap{base: base, header: "X-Trace-Id"}
			return logins
		}))
	if err != nil {
		t.Fatal(err)
	}
	client := configClient(t, cfg)
	req, _ := http.NewRequestWithContext(symauth.WithTraceID(context.Background(), "abc123"), http.MethodGet, cfg.PodURL()+symauthtest.PathSessionInfo, nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	srv.RevokeSessions()
	if status, _ := get(t, client, cfg.PodURL()+symauthtest.PathSessionInfo); status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	if started != 2 || ended != 2 || replays != 1 {
		t.Errorf("%d starts, %d ends and %d replays; want 2, 2 and 1", started, ended, replays)
	}
	if got := api.seen()[symauthtest.PathSessionInfo]; got == "" {
		t.Error("the API calls carry no X-Trace-Id")
	}
	loginSeen := logins.seen()
	if len(loginSeen) != 2 || loginSeen[symauthtest.PathLogin] == "" || loginSeen[symauthtest.PathLogin] != loginSeen[symauthtest.PathRelay] {
		t.Errorf("the login transport saw %v; want the login and key manager calls with one trace id", loginSeen)
	}
}

// WithLoginTransport wraps WithLoginClient's client too, without changing it.
func TestLoginTransportWrapsLoginClient(t *testing.T) {
	srv := newPod(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string][]byte{"ca.pem": srv.CACertPEM(), "keys/bot.pem": pemKey(t, botKey())})
	mine := &http.Client{Transport: srv.Client().Transport}
	var wrapped http.RoundTripper
	cfg, err := bdkconfig.Load(writeConfig(t, dir, serverKeys(srv)+rsaBotSection),
		bdkconfig.WithLoginClient(mine),
		bdkconfig.WithLoginTransport(func(base http.RoundTripper) http.RoundTripper {
			wrapped = base
			return &headerTap{base: base, header: "User-Agent"}
		}))
	if err != nil {
		t.Fatal(err)
	}
	formsSessionInfo(t, configClient(t, cfg), cfg.PodURL(), botName)
	if wrapped != srv.Client().Transport || mine.Transport != srv.Client().Transport {
		t.Fatal("WithLoginTransport did not wrap WithLoginClient's transport, or changed the client")
	}
}
