package symauth

import (
	"fmt"
	"log/slog"

	"github.com/symauth/symauth/internal/redact"
)

// The configurations hold private keys, certificates and clients: every way
// of printing one (String, GoString, each fmt verb, slog, JSON) shows their
// other fields and only whether those are set.

func (c RSAConfig) shown() redact.Struct {
	return redact.Struct{Type: "symauth.RSAConfig", Fields: []redact.Field{
		{Name: "PodURL", Value: c.PodURL},
		{Name: "KeyManagerURL", Value: c.KeyManagerURL},
		{Name: "AgentURL", Value: c.AgentURL},
		{Name: "Username", Value: c.Username},
		{Name: "PrivateKey", Value: redact.Secret(c.PrivateKey != nil)},
		{Name: "SkipKeyManager", Value: c.SkipKeyManager},
		{Name: "SkipAgentVersionCheck", Value: c.SkipAgentVersionCheck},
		{Name: "HTTPClient", Value: redact.Set(c.HTTPClient != nil)},
		{Name: "Retry", Value: c.Retry},
		{Name: "CommonJWT", Value: c.CommonJWT},
		{Name: "Logger", Value: redact.Set(c.Logger != nil)},
	}}
}

// String shows c without its key.
func (c RSAConfig) String() string { return c.shown().String() }

// GoString is String, for %#v.
func (c RSAConfig) GoString() string { return c.shown().String() }

// Format implements fmt.Formatter: no verb shows the key.
func (c RSAConfig) Format(f fmt.State, verb rune) { c.shown().Format(f, verb) }

// LogValue implements slog.LogValuer: the fields, without the key.
func (c RSAConfig) LogValue() slog.Value { return c.shown().LogValue() }

// MarshalJSON writes the fields, without the key.
func (c RSAConfig) MarshalJSON() ([]byte, error) { return c.shown().MarshalJSON() }

func (c CertConfig) shown() redact.Struct {
	return redact.Struct{Type: "symauth.CertConfig", Fields: []redact.Field{
		{Name: "SessionAuthURL", Value: c.SessionAuthURL},
		{Name: "KeyManagerURL", Value: c.KeyManagerURL},
		{Name: "AgentURL", Value: c.AgentURL},
		{Name: "Certificate", Value: redact.Certificate(c.Certificate)},
		{Name: "RootCAs", Value: redact.Set(c.RootCAs != nil)},
		{Name: "SkipKeyManager", Value: c.SkipKeyManager},
		{Name: "SkipAgentVersionCheck", Value: c.SkipAgentVersionCheck},
		{Name: "Retry", Value: c.Retry},
		{Name: "Proxy", Value: redact.Set(c.Proxy != nil)},
		{Name: "PodURL", Value: c.PodURL},
		{Name: "CommonJWT", Value: c.CommonJWT},
		{Name: "Logger", Value: redact.Set(c.Logger != nil)},
	}}
}

// String shows c without its key.
func (c CertConfig) String() string { return c.shown().String() }

// GoString is String, for %#v.
func (c CertConfig) GoString() string { return c.shown().String() }

// Format implements fmt.Formatter: no verb shows the key.
func (c CertConfig) Format(f fmt.State, verb rune) { c.shown().Format(f, verb) }

// LogValue implements slog.LogValuer: the fields, without the key.
func (c CertConfig) LogValue() slog.Value { return c.shown().LogValue() }

// MarshalJSON writes the fields, without the key.
func (c CertConfig) MarshalJSON() ([]byte, error) { return c.shown().MarshalJSON() }

func (c OBOConfig) shown() redact.Struct {
	return redact.Struct{Type: "symauth.OBOConfig", Fields: []redact.Field{
		{Name: "PodURL", Value: c.PodURL},
		{Name: "AgentURL", Value: c.AgentURL},
		{Name: "AppID", Value: c.AppID},
		{Name: "PrivateKey", Value: redact.Secret(c.PrivateKey != nil)},
		{Name: "HTTPClient", Value: redact.Set(c.HTTPClient != nil)},
		{Name: "SessionAuthURL", Value: c.SessionAuthURL},
		{Name: "Certificate", Value: redact.Certificate(c.Certificate)},
		{Name: "RootCAs", Value: redact.Set(c.RootCAs != nil)},
		{Name: "Proxy", Value: redact.Set(c.Proxy != nil)},
		{Name: "Retry", Value: c.Retry},
		{Name: "Logger", Value: redact.Set(c.Logger != nil)},
	}}
}

// String shows c without its key.
func (c OBOConfig) String() string { return c.shown().String() }

// GoString is String, for %#v.
func (c OBOConfig) GoString() string { return c.shown().String() }

// Format implements fmt.Formatter: no verb shows the key.
func (c OBOConfig) Format(f fmt.State, verb rune) { c.shown().Format(f, verb) }

// LogValue implements slog.LogValuer: the fields, without the key.
func (c OBOConfig) LogValue() slog.Value { return c.shown().LogValue() }

// MarshalJSON writes the fields, without the key.
func (c OBOConfig) MarshalJSON() ([]byte, error) { return c.shown().MarshalJSON() }
