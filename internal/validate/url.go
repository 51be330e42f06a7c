// Package validate checks the fields of the root package's and the
// subpackages' configurations, with errors that name the field.
package validate

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
)

// BaseURL validates a configured base URL and returns it without a trailing
// slash: https, or plain http to a loopback host only (a token must not cross
// a network in clear); a host; an optional path (a deployment context such as
// "/symphony"); no user info, query or fragment. Its errors start with field.
func BaseURL(field, raw string) (string, error) {
	if raw == "" {
		return "", fmt.Errorf("%s is missing", field)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("%s is not a valid URL: %w", field, errors.Unwrap(err))
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", fmt.Errorf("%s must start with https:// (got %q)", field, raw)
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%s has no host (got %q)", field, raw)
	case u.Scheme == "http" && !IsLoopbackHost(u.Hostname()):
		return "", fmt.Errorf("%s uses plain http to a non-loopback host; use https", field)
	case u.User != nil:
		return "", fmt.Errorf("%s must not contain user info", field)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("%s must not have a query or fragment (got %q)", field, raw)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// TLSBaseURL is BaseURL that also requires https: mutual TLS needs TLS.
func TLSBaseURL(field, raw string) (string, error) {
	u, err := BaseURL(field, raw)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(u, "https://") {
		return "", fmt.Errorf("%s must be https: certificate login needs TLS", field)
	}
	return u, nil
}

// IsLoopbackHost reports whether host (no port, no brackets) is "localhost"
// or a loopback IP address.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
