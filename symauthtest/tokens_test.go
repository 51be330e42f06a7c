package symauthtest

import (
	"net/http"
	"testing"
	"time"
)

func TestRevokeSessions(t *testing.T) {
	s := start(t, Options{})
	key := newUser(t, s, "bot")
	if n := s.RevokeSessions(); n != 0 {
		t.Errorf("RevokeSessions with no session = %d", n)
	}
	st1, kt1 := loginBoth(t, s, key, "bot")
	st2, kt2 := loginBoth(t, s, key, "bot")
	if n := s.RevokeSessions(); n != 2 {
		t.Errorf("RevokeSessions = %d, want 2", n)
	}
	for _, tok := range [][2]string{{st1, kt1}, {st2, kt2}} {
		wantError(t, get(t, s, PathSessionInfo, tok[0], ""), http.StatusUnauthorized, "Invalid session")
		wantError(t, get(t, s, PathDatafeeds, tok[0], tok[1]), http.StatusUnauthorized, "Invalid session")
	}
	st3, kt3 := loginBoth(t, s, key, "bot")
	if r := get(t, s, PathDatafeeds, st3, kt3); r.status != http.StatusOK {
		t.Errorf("after a new login: %d %s", r.status, r.body)
	}
}

func TestSessionLifetime(t *testing.T) {
	clock := newFakeClock()
	s := start(t, Options{Now: clock.Now, SessionLifetime: time.Hour})
	key := newUser(t, s, "bot")
	st, kt := loginBoth(t, s, key, "bot")
	alive := func(want bool) {
		t.Helper()
		for _, r := range []result{get(t, s, PathSessionInfo, st, ""), get(t, s, PathDatafeeds, st, kt)} {
			if got := r.status == http.StatusOK; got != want {
				t.Fatalf("at %v: status %d, want alive=%v", clock.Now(), r.status, want)
			}
		}
	}
	alive(true)
	clock.Advance(time.Hour - time.Nanosecond)
	alive(true)
	clock.Advance(time.Nanosecond)
	alive(false)

	s.SetSessionLifetime(2 * time.Hour) // measured from issue: alive again
	alive(true)
	s.SetSessionLifetime(30 * time.Minute)
	alive(false)
	if n := s.RevokeSessions(); n != 0 {
		t.Errorf("RevokeSessions counted %d ended sessions", n)
	}
	s.SetSessionLifetime(0) // forever, but revoked stays revoked
	alive(false)

	st, kt = loginBoth(t, s, key, "bot")
	clock.Advance(1000 * time.Hour)
	alive(true)
}

func TestTokenStorePrunesAgedTokens(t *testing.T) {
	var ts tokenStore
	ts.init(time.Minute)
	now := time.Unix(1e9, 0)
	u := &user{name: "bot", id: 1}
	for i := range minSweep - 1 {
		ts.add(sessionKind, string(rune(i)), grant{user: u, issued: now}, now)
	}
	later := now.Add(time.Hour)
	ts.add(sessionKind, "fresh", grant{user: u, issued: later}, later)
	if n := len(ts.live[sessionKind]); n != 1 {
		t.Errorf("after the prune %d tokens are kept, want 1", n)
	}
	if ts.sweepSize[sessionKind] != minSweep {
		t.Errorf("sweepSize = %d", ts.sweepSize[sessionKind])
	}
	if _, ok := ts.lookup(sessionKind, "fresh", later); !ok {
		t.Error("fresh token lost")
	}
}
