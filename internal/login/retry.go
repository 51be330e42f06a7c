package login

import (
	"fmt"
	"time"
)

// Retry is the retry policy of login calls: the fields of
// symauth.RetryPolicy, in the same order, so that the root package converts
// one into the other.
type Retry struct {
	MaxAttempts     int           // attempts per call, the first included; 0: 5
	InitialInterval time.Duration // wait before the first retry; 0: 500 ms
	Multiplier      float64       // each next wait is this many times longer; 0: 2
	MaxInterval     time.Duration // cap on any wait, a server's Retry-After included; 0: 10 s
}

// Defaults of Retry's zero fields.
const (
	defaultMaxAttempts     = 5
	defaultInitialInterval = 500 * time.Millisecond
	defaultMultiplier      = 2
	defaultMaxInterval     = 10 * time.Second
)

// Validate reports the first field of p that is out of range; field names p
// in the error (e.g. "RSAConfig.Retry").
func (p Retry) Validate(field string) error {
	switch {
	case p.MaxAttempts < 0:
		return fmt.Errorf("%s.MaxAttempts is %d; it must be 0 (default) or more", field, p.MaxAttempts)
	case p.InitialInterval < 0:
		return fmt.Errorf("%s.InitialInterval is negative", field)
	case p.Multiplier != 0 && !(p.Multiplier >= 1 && p.Multiplier <= 100):
		return fmt.Errorf("%s.Multiplier is %g; it must be 0 (default) or between 1 and 100", field, p.Multiplier)
	case p.MaxInterval < 0:
		return fmt.Errorf("%s.MaxInterval is negative", field)
	}
	return nil
}

// withDefaults fills in the zero fields of p, and caps InitialInterval at
// MaxInterval.
func (p Retry) withDefaults() Retry {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = defaultMaxAttempts
	}
	if p.InitialInterval == 0 {
		p.InitialInterval = defaultInitialInterval
	}
	if p.MaxInterval == 0 {
		p.MaxInterval = defaultMaxInterval
	}
	if p.Multiplier == 0 {
		p.Multiplier = defaultMultiplier
	}
	p.InitialInterval = min(p.InitialInterval, p.MaxInterval)
	return p
}
