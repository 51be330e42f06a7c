package symauth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/symauth/symauth/internal/login"
)

// Header names under which Symphony expects the session tokens.
const (
	HeaderSessionToken    = "sessionToken"
	HeaderKeyManagerToken = "keyManagerToken"
)

// Token is the set of credentials one login yields. A Token is immutable once
// a TokenSource has returned it: callers must not modify it, and a *Token may be
// shared by any number of goroutines.
//
// Its formatting methods (String, GoString, Format, LogValue, MarshalJSON)
// never show the token values, so a Token may be logged or printed with %v
// safely. Read the fields to use the values.
type Token struct {
	SessionToken       string
	KeyManagerToken    string    // "" when none was obtained (OBO, SKD, SkipKeyManager)
	AuthorizationToken string    // "Bearer …" when the pod returned one, else ""
	Expiry             time.Time // zero: unknown, valid until the server answers 401

	// CommonJWT makes the Transport send AuthorizationToken in an
	// Authorization header instead of the sessionToken header (the opt-in
	// Common JWT mode of RSAConfig and CertConfig). Expiry is then the
	// bearer token's, and the Session renews it shortly before.
	CommonJWT bool
}

// TokenSource yields tokens. Implementations in this package (*RSA, *Cert) log
// in on every call; *Session caches what another source yields.
type TokenSource interface {
	// Token returns a token or an error. The context bounds the call.
	Token(ctx context.Context) (*Token, error)
}

// expiryLeeway is how long before Expiry a token counts as expired, so that a
// request sent with it does not arrive after its end (BDK Java uses 5 s too).
const expiryLeeway = 5 * time.Second

// String describes the token without its values.
func (t Token) String() string {
	return "symauth.Token{SessionToken:" + login.RedactedOrNone(t.SessionToken) +
		" KeyManagerToken:" + login.RedactedOrNone(t.KeyManagerToken) +
		" AuthorizationToken:" + login.RedactedOrNone(t.AuthorizationToken) +
		" Expiry:" + expiryText(t.Expiry) + commonJWTText(t.CommonJWT) + "}"
}

// GoString describes the token without its values, for %#v.
func (t Token) GoString() string {
	return "symauth.Token{SessionToken:" + quotedRedactedOrEmpty(t.SessionToken) +
		", KeyManagerToken:" + quotedRedactedOrEmpty(t.KeyManagerToken) +
		", AuthorizationToken:" + quotedRedactedOrEmpty(t.AuthorizationToken) +
		", Expiry:" + fmt.Sprintf("%#v", t.Expiry) + ", CommonJWT:" + strconv.FormatBool(t.CommonJWT) + "}"
}

// Format implements fmt.Formatter so that no verb or flag (%v, %+v, %#v, %s,
// %q, %x …) prints a token value.
func (t Token) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('#'):
		_, _ = io.WriteString(f, t.GoString())
	case verb == 'q':
		_, _ = fmt.Fprintf(f, "%q", t.String())
	default:
		_, _ = io.WriteString(f, t.String())
	}
}

// LogValue implements slog.LogValuer: which tokens are present, never their values.
func (t Token) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.String("sessionToken", login.RedactedOrNone(t.SessionToken)),
		slog.String("keyManagerToken", login.RedactedOrNone(t.KeyManagerToken)),
		slog.String("authorizationToken", login.RedactedOrNone(t.AuthorizationToken)),
	}
	if !t.Expiry.IsZero() {
		attrs = append(attrs, slog.Time("expiry", t.Expiry))
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON writes the redacted form, so that a Token embedded in a
// structure that some logger serializes as JSON does not leak. Code that needs
// the values reads the fields.
func (t Token) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"sessionToken":%q,"keyManagerToken":%q,"authorizationToken":%q}`,
		login.RedactedOrNone(t.SessionToken), login.RedactedOrNone(t.KeyManagerToken), login.RedactedOrNone(t.AuthorizationToken)), nil
}

func quotedRedactedOrEmpty(v string) string {
	if v == "" {
		return `""`
	}
	return `"` + login.Redacted + `"`
}

func commonJWTText(on bool) string {
	if on {
		return " CommonJWT:true"
	}
	return ""
}

func expiryText(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Format(time.RFC3339)
}
