package symauthtest

import (
	"net/http"
	"strings"
)

// serveHTTP is the server's handler: it counts the call, plays any fault
// queued for the path, then routes to the pod, key manager, session auth or
// agent handler. Once Close has begun it answers nothing.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !s.enter() {
		abort(w)
		return
	}
	defer s.wg.Done()

	if f, ok := s.faults.arrive(r.URL.Path); ok && s.applyFault(w, r, f) {
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
	case strings.HasPrefix(p, podPrefix):
		s.handlePod(w, r)
	case strings.HasPrefix(p, agentPrefix):
		s.handleAgent(w, r)
	default:
		s.notFound(w, r)
	}
}
