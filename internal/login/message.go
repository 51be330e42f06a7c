package login

import (
	"encoding/json"
	"regexp"
	"strings"
	"unicode"
)

// maxServerMessageRunes caps the server message kept in a Failure.
const maxServerMessageRunes = 200

// Redacted stands in for a secret value wherever one would be shown.
const Redacted = "[redacted]"

// RedactedOrNone is "none" for an empty secret and Redacted for any other.
func RedactedOrNone(v string) string {
	if v == "" {
		return "none"
	}
	return Redacted
}

// statusMessage extracts the "message" of a Symphony error body
// ({"code":401,"message":"…"}), shortened and stripped of control characters;
// "" when the body is empty or not that JSON. Redirects get a fixed message.
func statusMessage(status int, body []byte) string {
	if status >= 300 && status < 400 {
		return "redirects are not followed for login calls"
	}
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return sanitizeMessage(e.Message)
}

// tokenLike matches what could be a token, a JWT or key material in a server
// message: a run of 24 or more characters of base64, base64url or hex.
var tokenLike = regexp.MustCompile(`[A-Za-z0-9_\-+/=.]{24,}`)

// sanitizeMessage makes a server message safe to show: token-like runs
// redacted, control characters replaced, at most maxServerMessageRunes long.
func sanitizeMessage(s string) string {
	s = tokenLike.ReplaceAllLiteralString(s, Redacted)
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxServerMessageRunes {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
