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
