package symauthtest

import (
	"net/http"
	"strconv"
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
	// Tokens of several users, so that no user reaches MaxSessionsPerUser.
	users := []*user{{name: "a", id: 1}, {name: "b", id: 2}, {name: "c", id: 3}}
	for i := range minSweep - 1 {
		ts.add(sessionKind, string(rune(i)), grant{user: users[i%3], issued: now}, now)
	}
	later := now.Add(time.Hour)
	ts.add(sessionKind, "fresh", grant{user: users[0], issued: later}, later)
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

// A sustained login load with sessions that never end by age keeps the
// store bounded: each user holds at most perOwner tokens of a kind.
func TestTokenStoreBoundedWithoutLifetime(t *testing.T) {
	var ts tokenStore
	ts.init(0)
	now := time.Unix(1e9, 0)
	bot, other := &user{name: "bot", id: 1}, &user{name: "other", id: 2}
	const logins = 20000
	var first, last string
	for i := range logins {
		tok := "s" + strconv.Itoa(i)
		ts.add(sessionKind, tok, grant{user: bot, sessionID: "id" + strconv.Itoa(i), issued: now}, now)
		ts.add(keyManagerKind, "k"+strconv.Itoa(i), grant{user: bot, issued: now}, now)
		if i == 0 {
			first = tok
		}
		last = tok
	}
	ts.add(sessionKind, "other", grant{user: other, sessionID: "other", issued: now}, now)
	ts.add(sessionKind, "app", grant{app: "my-app", sessionID: "app", issued: now}, now)
	for _, kind := range []tokenKind{sessionKind, keyManagerKind} {
		tokens, indexed := ts.size(kind)
		want := MaxSessionsPerUser
		if kind == sessionKind {
			want += 2 // other's and the app's
		}
		if tokens != want {
			t.Errorf("%s: %d tokens kept after %d logins, want %d", kind.name(), tokens, logins, want)
		}
		if max := 2 * want; indexed > max {
			t.Errorf("%s: %d index entries, want at most %d", kind.name(), indexed, max)
		}
	}
	if _, ok := ts.lookup(sessionKind, first, now); ok {
		t.Error("the oldest session is still live")
	}
	if _, ok := ts.lookupSession("id0", now); ok {
		t.Error("the oldest session is still indexed")
	}
	for _, tok := range []string{last, "other", "app"} {
		if _, ok := ts.lookup(sessionKind, tok, now); !ok {
			t.Errorf("session %s lost", tok)
		}
	}
	if _, ok := ts.lookupSession("id"+strconv.Itoa(logins-1), now); !ok {
		t.Error("the newest session is not indexed")
	}
	ts.revoke(now)
	if tokens, indexed := ts.size(sessionKind); tokens != 0 || indexed != 0 {
		t.Errorf("after revoke: %d tokens, %d index entries", tokens, indexed)
	}
}

// Through the handler: a login beyond the cap ends the user's oldest
// session, which then answers 401; the newer ones stay live.
func TestLoginBeyondSessionCapEndsOldest(t *testing.T) {
	s := start(t, Options{})
	s.tokens.mu.Lock()
	s.tokens.perOwner = 3
	s.tokens.mu.Unlock()
	key := newUser(t, s, "bot")
	var sessions, kms []string
	for range 5 {
		st, kt := loginBoth(t, s, key, "bot")
		sessions, kms = append(sessions, st), append(kms, kt)
	}
	for i := range sessions {
		want := http.StatusOK
		if i < 2 {
			want = http.StatusUnauthorized
		}
		if r := get(t, s, PathSessionInfo, sessions[i], ""); r.status != want {
			t.Errorf("session %d: %d, want %d", i, r.status, want)
		}
		if r := get(t, s, PathDatafeeds, sessions[4], kms[i]); r.status != want {
			t.Errorf("key manager token %d: %d, want %d", i, r.status, want)
		}
	}
	for _, kind := range []tokenKind{sessionKind, keyManagerKind} {
		if n, _ := s.tokens.size(kind); n != 3 {
			t.Errorf("%s: %d kept, want 3", kind.name(), n)
		}
	}
}
