package symauthtest

import (
	"net/http"
	"strings"
)

// serveHTTP is the server's handler: it counts the call, plays any fault
// queued for the path, then routes to a handler registered with Handle or to
// the pod, key manager, session auth or agent handler. AfterAuth faults play
// after the token check (see authorize) or, on a path that needs no token,
// right away. Once Close has begun it answers nothing.
//
// Calls and faults are keyed by the URL path, except that an on-behalf-of
// step naming a username is keyed by its canonical escaped path (what
// PathOBOUsername and PathCertOBOUsername return), however the client escaped
// it.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		abort(w)
		return
	}
	defer s.wg.Done()

	step, isOBO := parseOBO(r.URL)
	key := r.URL.Path
	if isOBO {
		key = step.path
	}
	if f, ok := s.faults.arrive(key); ok && s.applyFault(w, r, f) {
		return
	}
	if s.registered(r) {
		s.serveRegistered(w, r)
		return
	}
	if !needsTokens(r.URL.Path) && s.afterAuth(w, r, key) {
		return
	}
	switch p := r.URL.Path; {
	case p == PathLogin:
		s.handleRSALogin(w, r, sessionKind)
	case p == PathRelay:
		s.handleRSALogin(w, r, keyManagerKind)
	case p == PathSessionAuth:
		s.handleCertLogin(w, r, sessionKind)
	case p == PathKeyAuth:
		s.handleCertLogin(w, r, keyManagerKind)
	case p == PathAppLogin:
		s.handleAppLogin(w, r)
	case p == PathCertAppLogin:
		s.handleCertAppLogin(w, r)
	case isOBO:
		s.handleOBO(w, r, step)
	case p == PathIDMTokens:
		s.handleIDMTokens(w, r)
	case p == PathExtensionApp:
		s.handleExtensionApp(w, r)
	case p == PathPodCert:
		s.handlePodCert(w, r)
	case strings.HasPrefix(p, podPrefix):
		s.handlePod(w, r)
	case strings.HasPrefix(p, agentPrefix):
		s.handleAgent(w, r)
	default:
		s.notFound(w, r)
	}
}

// needsTokens reports whether symauthtest's own endpoint for path checks
// tokens with authorize: every pod and agent path but the pod certificate,
// the agent info and the health checks.
func needsTokens(path string) bool {
	switch path {
	case PathPodCert, PathAgentInfo, PathHealth, pathHealthV3:
		return false
	}
	return strings.HasPrefix(path, podPrefix) || strings.HasPrefix(path, agentPrefix)
}
