package symauth_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/internal/testkit"
	"github.com/symauth/symauth/symauthtest"
)

// newSKDPod starts a server whose session tokens allow simplified key
// delivery, with an agent of the given version.
func newSKDPod(t testing.TB, skd bool, agentVersion string) *symauthtest.Server {
	t.Helper()
	srv, err := symauthtest.Start(symauthtest.Options{SimplifiedKeyDelivery: skd, AgentVersion: agentVersion})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if _, err := srv.RegisterUser(botName, botKey().Public()); err != nil {
		t.Fatal(err)
	}
	return srv
}

func TestSimplifiedKeyDelivery(t *testing.T) {
	for _, tc := range []struct {
		name         string
		skdClaim     bool
		agentVersion string
		withAgent    bool
		wantSKD      bool
	}{
		{"claim and agent 24.12", true, "Agent-24.12.1-2003", true, true},
		{"claim and agent 25.10", true, "Agent-25.10.0", true, true},
		{"claim, no agent configured", true, "", false, true},
		{"claim, agent 24.11", true, "Agent-24.11.3", true, false},
		{"claim, agent version unreadable", true, "unknown", true, false},
		{"no claim, agent 25.10", false, "Agent-25.10.0", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newSKDPod(t, tc.skdClaim, tc.agentVersion)
			cfg := rsaConfig(srv)
			if tc.withAgent {
				cfg.AgentURL = srv.URL
			}
			client := &http.Client{Transport: symauth.NewTransport(newRSA(t, cfg), srv.Client().Transport)}
			for i := range 3 { // a first login and two re-logins
				if i > 0 {
					srv.RevokeSessions()
				}
				if status, body := get(t, client, srv.URL+symauthtest.PathDatafeeds); status != http.StatusOK {
					t.Fatalf("login %d: agent call %d %s", i+1, status, body)
				}
			}
			relay := srv.Calls(symauthtest.PathRelay)
			switch {
			case tc.wantSKD && relay != 0:
				t.Fatalf("SKD applies, yet %d key manager logins; want none, the first login included (behaviour 17)", relay)
			case !tc.wantSKD && relay != 3:
				t.Fatalf("SKD does not apply: %d key manager logins; want 3", relay)
			}
			if tc.withAgent && tc.skdClaim && srv.Calls(symauthtest.PathAgentInfo) != 1 {
				t.Fatalf("agent version asked %d times; want once (cached)", srv.Calls(symauthtest.PathAgentInfo))
			}
		})
	}
}

// With SKD the key manager token is neither obtained nor sent.
func TestSKDTokenHasNoKeyManagerToken(t *testing.T) {
	srv := newSKDPod(t, true, "Agent-24.12.0")
	cfg := rsaConfig(srv)
	cfg.AgentURL = srv.URL
	tok, err := newRSA(t, cfg).Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.KeyManagerToken != "" {
		t.Fatal("SKD applies but the token has a key manager token")
	}
}

// An agent that does not answer its version is a doubt: the key manager login
// happens. The failure is remembered for 240 s, as BDK Python does: the
// next logins in that time ask no agent, and the first one after asks again.
func TestSKDAgentDownMeansKeyManager(t *testing.T) {
	srv := newSKDPod(t, true, "Agent-25.1.0")
	srv.InjectFault(symauthtest.PathAgentInfo, symauthtest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	cfg := rsaConfig(srv)
	cfg.AgentURL = srv.URL
	auth := newRSA(t, cfg)
	clock := testkit.NewClock()
	symauth.SetAgentClock(auth, clock.Now)
	for i := range 2 {
		tok, err := auth.Token(context.Background())
		if err != nil || tok.KeyManagerToken == "" {
			t.Fatalf("login %d, agent down: token %v, err %v; want a key manager token", i+1, tok, err)
		}
	}
	if got := srv.Calls(symauthtest.PathAgentInfo); got != 1 {
		t.Fatalf("agent asked %d times; want once: one attempt, remembered", got)
	}
	clock.Advance(241 * time.Second)
	tok, err := auth.Token(context.Background())
	if err != nil || tok.KeyManagerToken != "" {
		t.Fatalf("agent back, 241 s later: token %v, err %v; want SKD", tok, err)
	}
}

// Once SKD applied, later logins ask the session first; when the new session
// no longer allows SKD, the key manager login follows and its token is sent.
func TestSKDNoLongerAllowed(t *testing.T) {
	srv := newSKDPod(t, true, "Agent-25.1.0")
	cfg := rsaConfig(srv)
	cfg.AgentURL = srv.URL
	client := &http.Client{Transport: symauth.NewTransport(newRSA(t, cfg), srv.Client().Transport)}
	if status, _ := get(t, client, srv.URL+symauthtest.PathDatafeeds); status != http.StatusOK {
		t.Fatalf("with SKD: %d", status)
	}
	relayBefore := srv.Calls(symauthtest.PathRelay)
	srv.SetSimplifiedKeyDelivery(false)
	srv.RevokeSessions()
	if status, body := get(t, client, srv.URL+symauthtest.PathDatafeeds); status != http.StatusOK {
		t.Fatalf("after SKD ended: %d %s; want a key manager login and its token on the agent call", status, body)
	}
	if got := srv.Calls(symauthtest.PathRelay); got != relayBefore+1 {
		t.Fatalf("key manager logins %d → %d; want one more", relayBefore, got)
	}
}

// With the agent down — refusing connections, or accepting and never
// answering — a login under SKD costs one short version check, remembered:
// the login is not held for the retry budget or the login timeout.
func TestSKDAgentDownCostsOneShortCall(t *testing.T) {
	defer symauth.SetAgentCheckTimeout(100 * time.Millisecond)()
	hang := make(chan struct{})
	var hangingCalls atomic.Int32
	hanging := newRecordingServer(t, func(w http.ResponseWriter, r *http.Request) {
		hangingCalls.Add(1)
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(hang) })
	for name, agentURL := range map[string]string{"refused": "https://" + closedAddr(t), "hanging": hanging.URL} {
		t.Run(name, func(t *testing.T) {
			srv := newSKDPod(t, true, "Agent-25.1.0")
			cfg := rsaConfig(srv)
			cfg.AgentURL = agentURL
			cfg.HTTPClient = &http.Client{Transport: trustingTransport(t, srv, hanging)}
			auth := newRSA(t, cfg)
			for i := range 2 {
				start := time.Now()
				tok, err := auth.Token(context.Background())
				if err != nil || tok.KeyManagerToken == "" {
					t.Fatalf("login %d: token %v, err %v; want a key manager token", i+1, tok, err)
				}
				if took := time.Since(start); took > 3*time.Second {
					t.Fatalf("login %d took %v; want the logins plus one short check at most", i+1, took)
				}
			}
		})
	}
	if n := hangingCalls.Load(); n != 1 {
		t.Fatalf("the hanging agent was asked %d times; want once (one attempt, remembered)", n)
	}
}
