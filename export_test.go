package symauth

import "time"

// SetSessionClock replaces the clock of s, for tests of the failure backoff
// against a real server.
func SetSessionClock(s *Session, now func() time.Time) { s.now = now }

// SetRSAClock replaces the clock that sets the login JWT's exp.
func SetRSAClock(r *RSA, now func() time.Time) { r.jwt.Now = now }
