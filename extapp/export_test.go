package extapp

import "time"

// SetClock replaces the clock that expires token pairs and checks user JWTs.
func SetClock(a *App, now func() time.Time) { a.now = now }
