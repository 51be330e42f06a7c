// Package redact shows configuration structs that hold secrets (keys,
// tokens, clients) without them, the same way in every fmt verb, slog and
// JSON.
package redact

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
)

// Mark is shown, unquoted, in place of a value: Hidden, "none", "set", a
// certificate's CN.
type Mark string

// Hidden is shown in place of a secret value that is set.
const Hidden Mark = "[redacted]"

// Field is one field as shown: its name and a value that holds no secret (a
// string, shown quoted; a Mark; a number, a bool, a duration, or a struct of
// those).
type Field struct {
	Name  string
	Value any
}

// Secret shows a secret field: Hidden when it is set, "none" when not.
func Secret(set bool) Mark {
	if set {
		return Hidden
	}
	return "none"
}

// Set shows a field that is no secret but cannot be shown usefully (a
// client, a function, a logger): "set" or "none".
func Set(set bool) Mark {
	if set {
		return "set"
	}
	return "none"
}

// Certificate shows a client certificate by its subject CN, its key hidden.
func Certificate(c tls.Certificate) Mark {
	if len(c.Certificate) == 0 {
		return "none"
	}
	leaf := c.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return "unparsable certificate, key " + Secret(c.PrivateKey != nil)
		}
	}
	return Mark("CN "+strconv.Quote(leaf.Subject.CommonName)) + ", key " + Secret(c.PrivateKey != nil)
}

// Struct is a struct as shown: its type name ("symauth.RSAConfig") and fields.
type Struct struct {
	Type   string
	Fields []Field
}

// String is Type{Name:value …}, strings quoted.
func (s Struct) String() string {
	var b strings.Builder
	b.WriteString(s.Type)
	b.WriteByte('{')
	for i, f := range s.Fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Name)
		b.WriteByte(':')
		if v, ok := f.Value.(string); ok {
			b.WriteString(strconv.Quote(v))
		} else {
			fmt.Fprintf(&b, "%v", f.Value)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// Format writes String for every verb and flag (%q quotes it), so that no
// verb reaches the struct's own fields.
func (s Struct) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		_, _ = fmt.Fprintf(f, "%q", s.String())
		return
	}
	_, _ = io.WriteString(f, s.String())
}

// LogValue is a group of the fields.
func (s Struct) LogValue() slog.Value {
	attrs := make([]slog.Attr, len(s.Fields))
	for i, f := range s.Fields {
		attrs[i] = slog.Any(f.Name, f.Value)
	}
	return slog.GroupValue(attrs...)
}

// MarshalJSON is an object of the fields.
func (s Struct) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range s.Fields {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(f.Name)
		value, err := json.Marshal(f.Value)
		if err != nil {
			return nil, err
		}
		b.Write(name)
		b.WriteByte(':')
		b.Write(value)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}
