package validate

import (
	"crypto"

	"github.com/symauth/symauth/internal/login"
)

// Fields checks the fields of one configuration struct in turn and keeps the
// first error, so that a constructor reads as a list of its fields:
//
//	v := validate.Fields{Prefix: "symauth: RSAConfig."}
//	pod := v.BaseURL("PodURL", cfg.PodURL)
//	v.Username("Username", cfg.Username)
//	if err := v.Err(); err != nil { … }
//
// Once an error is kept, the later checks do nothing and return zero values.
type Fields struct {
	Prefix string // put before each field name, e.g. "symauth: RSAConfig."
	err    error
}

// Err is the first error found; nil when every field checked is valid.
func (v *Fields) Err() error { return v.err }

func (v *Fields) check(err error) {
	if v.err == nil {
		v.err = err
	}
}

// BaseURL checks a base URL (see the package's BaseURL) and returns it
// normalized.
func (v *Fields) BaseURL(name, raw string) string { return v.url(BaseURL, name, raw) }

// TLSBaseURL checks an https base URL and returns it normalized.
func (v *Fields) TLSBaseURL(name, raw string) string { return v.url(TLSBaseURL, name, raw) }

func (v *Fields) url(parse func(field, raw string) (string, error), name, raw string) string {
	if v.err != nil {
		return ""
	}
	u, err := parse(v.Prefix+name, raw)
	v.check(err)
	return u
}

// Username checks a username or app id.
func (v *Fields) Username(name, value string) {
	if v.err == nil {
		v.check(Username(v.Prefix+name, value))
	}
}

// RSASigner checks an RSA signer.
func (v *Fields) RSASigner(name string, s crypto.Signer) {
	if v.err == nil {
		v.check(RSASigner(v.Prefix+name, s))
	}
}

// Retry checks a retry policy.
func (v *Fields) Retry(name string, r login.Retry) {
	if v.err == nil {
		v.check(r.Validate(v.Prefix + name))
	}
}

// Add keeps err, unless an error is kept already.
func (v *Fields) Add(err error) { v.check(err) }
