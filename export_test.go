package symauth

import "time"

// SetSessionClock replaces the clock of s, for tests of the failure backoff
// against a real server.
func SetSessionClock(s *Session, now func() time.Time) { s.now = now }

// SetRSAClock replaces the clock that sets the login JWT's exp.
func SetRSAClock(r *RSA, now func() time.Time) { r.jwt.Now = now }

// SetMaxDrainTime replaces how long a 401 body may take to drain, and returns
// a function that restores it.
func SetMaxDrainTime(d time.Duration) (restore func()) {
	old := maxDrainTime
	maxDrainTime = d
	return func() { maxDrainTime = old }
}

// SetAgentClock replaces the clock that ends the memory of the agent's
// version check.
func SetAgentClock(r *RSA, now func() time.Time) { r.bot.skd.now = now }

// SetAgentCheckTimeout replaces the timeout of the agent's version check, and
// returns a function that restores it.
func SetAgentCheckTimeout(d time.Duration) (restore func()) {
	old := agentCheckTimeout
	agentCheckTimeout = d
	return func() { agentCheckTimeout = old }
}

// SetOBOClock replaces the clock that tells how fresh the app's session is.
func SetOBOClock(o *OBO, now func() time.Time) { o.now = now }
