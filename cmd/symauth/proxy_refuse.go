package main

import (
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"unicode"
)

// The checks a request passes before the proxy acts as the bot for it. Each
// is a pure function of the request: nothing is cached, nothing touches the
// network, all are safe for concurrent use.

const pathsForwarded = "/pod/… (to the pod) and /agent/… (to the agent)"

// refusal says why r is not forwarded, or answered by the health check, with
// the status to answer: 0 and "" when it is. In order: a request for another
// host (404, not an open proxy), a Host that is not the proxy's own address
// (421, DNS rebinding), a browser's request (403, cross-site request
// forgery), an Upgrade (501), a path other than /pod/…, /agent/… and the
// health check, or one an origin could read as another path (404).
func refusal(r *http.Request) (int, string) {
	if r.URL.Host != "" || r.Method == http.MethodConnect {
		return http.StatusNotFound, "not an open proxy: send " + pathsForwarded + " to this address, not a request for another host"
	}
	if why := foreignHost(r); why != "" {
		return http.StatusMisdirectedRequest, why
	}
	if why := fromBrowser(r.Header); why != "" {
		return http.StatusForbidden, why
	}
	if isUpgrade(r.Header) {
		return http.StatusNotImplemented, "Upgrade (" + strconv.Quote(r.Header.Get("Upgrade")) + ") is not forwarded: " +
			"Symphony's Pod and Agent REST APIs upgrade nothing, and an upgraded connection would pass no path check"
	}
	if r.URL.Path == healthPath {
		return 0, ""
	}
	if why := pathRefusal(r.URL.Path, r.URL.EscapedPath()); why != "" {
		return http.StatusNotFound, why
	}
	return 0, ""
}

// foreignHost says why r's Host is not the proxy's own address, or "" when
// it is: on a TCP listener, localhost or the listening IP, with the
// listening port (no port: 80). A web page whose name an attacker made
// resolve to 127.0.0.1 (DNS rebinding) is sent with its own name as Host; a
// bot sends the address it dialled. On a Unix socket any Host is accepted:
// only processes allowed to open the socket file reach it, and no browser
// does.
func foreignHost(r *http.Request) string {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(*net.TCPAddr)
	if !ok {
		return "" // a Unix socket
	}
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil { // no port, or not HOST:PORT at all
		host, port = strings.TrimSuffix(strings.TrimPrefix(r.Host, "["), "]"), "80"
	}
	ip := net.ParseIP(host)
	if (strings.EqualFold(host, "localhost") || ip != nil && ip.Equal(local.IP)) && port == strconv.Itoa(local.Port) {
		return ""
	}
	return "the Host " + strconv.Quote(limit(r.Host, 100)) + " is not this proxy's address: send localhost:" + strconv.Itoa(local.Port) +
		" or " + local.String() + " (a web page whose name resolves to loopback must not act as the bot)"
}

// fromBrowser says why a request with these headers comes from a web
// browser, or "" when it does not. Browsers mark what a page sends with
// Origin (CORS requests, and every POST) or Sec-Fetch-Site other than
// "none" (what the user typed is "none"); bots and HTTP libraries send
// neither. Any method is refused, GET too: a datafeed read consumes events.
// This refuses more than http.CrossOriginProtection, which lets safe
// methods and same-origin requests through: a page the proxy served (an
// HTML attachment from the pod) is same-origin with it.
func fromBrowser(h http.Header) string {
	if site := h.Get("Sec-Fetch-Site"); site != "" && site != "none" {
		return "a request a web page made (Sec-Fetch-Site: " + strconv.Quote(limit(site, 40)) + ") is not sent as the bot; bots send no Sec-Fetch-Site"
	}
	if origin, ok := h["Origin"]; ok {
		return "a request from a web page (Origin: " + strconv.Quote(limit(strings.Join(origin, ", "), 100)) + ") is not sent as the bot; bots send no Origin"
	}
	return ""
}

// isUpgrade reports whether the request asks to switch protocols: an
// Upgrade header, or "upgrade" among its Connection options.
func isUpgrade(h http.Header) bool {
	if _, ok := h["Upgrade"]; ok {
		return true
	}
	for _, v := range h["Connection"] {
		for opt := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(opt), "upgrade") {
				return true
			}
		}
	}
	return false
}

// pathRefusal says why the path, decoded p and as sent raw, is not
// forwarded, or "" when it is. Besides paths outside /pod/ and /agent/ and
// unclean ones, it refuses what an origin may read as another path: ";" (a
// Java origin drops "..;" to ".."), a backslash (a separator on Windows
// servers), "%25" (a second decoding turns %252e into "."), a segment that
// starts with ".." or is only dots and spaces (Windows strips trailing dots
// and spaces), and control characters. Each check on p covers the raw
// path too: each of those characters is in p whether it was sent raw or
// %-encoded.
func pathRefusal(p, raw string) string {
	switch {
	case !strings.HasPrefix(p, "/pod/") && !strings.HasPrefix(p, "/agent/"):
		return "only " + pathsForwarded + " are forwarded, not " + p
	case !clean(p):
		return "the path " + p + " is not clean (no //, /./ or /../ segments)"
	case strings.Contains(raw, "%25"):
		return "the path " + raw + " is %-encoded twice (%25): an origin decoding it again reads another path"
	case strings.ContainsAny(p, `;\`):
		c := p[strings.IndexAny(p, `;\`)]
		return "the path " + raw + " holds " + strconv.QuoteRune(rune(c)) + `: origins read ";" as the start of path parameters and "\" as a separator, so "..;" or "..\" as ".."`
	case strings.ContainsFunc(p, unicode.IsControl):
		return "the path " + raw + " holds a control character"
	case dotSegment(p):
		return "the path " + raw + ` has a segment that starts with ".." or is only dots and spaces: an origin may read it as ".."`
	}
	return ""
}

// clean reports whether the decoded path p has no empty, "." or ".."
// segments (a trailing slash is fine).
func clean(p string) bool {
	c := path.Clean(p)
	return c == p || c+"/" == p
}

// dotSegment reports whether a segment of p starts with ".." or holds only
// dots and spaces.
func dotSegment(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if strings.HasPrefix(seg, "..") || seg != "" && strings.Trim(seg, ". ") == "" {
			return true
		}
	}
	return false
}

// limit is s cut to at most n bytes, for quoting what a client sent.
func limit(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
