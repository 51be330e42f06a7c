package symauthtest

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// User is the user an authorized request comes from, as a handler
// registered with Handle learns it from UserFromContext.
type User struct {
	// ID is the user's id, as RegisterUser returned it.
	ID int64

	// Username is the user's name.
	Username string

	// App is, for a session on behalf of the user (see InstallApp), the id
	// of the app acting for the user; "" for the user's own session.
	App string
}

// userKey is the context key of a User.
type userKey struct{}

// UserFromContext returns the user whose tokens the server accepted for the
// request, from the context of a request served by a handler registered
// with Handle (r.Context()), and false for any other context.
func UserFromContext(ctx context.Context) (User, bool) {
	u, ok := ctx.Value(userKey{}).(User)
	return u, ok
}

// Handle registers handler for the requests that match pattern, a pattern
// of net/http.ServeMux ("POST /pod/v1/room/create", "GET
// /agent/v1/stream/{sid}/…"), so that a test can fake an endpoint that
// symauthtest does not serve. The pattern's path must be under /pod/ or
// /agent/; Handle panics otherwise, or if the pattern is invalid or
// conflicts with one registered before (as ServeMux.Handle does).
//
// A matching request is handled like the server's own pod and agent calls:
// it is counted by Calls, faults injected for its path apply, and its tokens
// are checked (a live session; for a path under /agent/, a key manager
// token of the same user too, unless the session needs none) before the
// handler runs, so that after RevokeSessions the client gets a 401 and the
// handler is not called. AfterAuth faults play after that check. The
// handler learns the user with UserFromContext(r.Context()), and path
// wildcards with r.PathValue. A registered pattern takes precedence over the
// server's own endpoint for the same requests (which then need tokens even
// where the server's own needs none, as GET /agent/v1/info).
//
// The handler may be called from several goroutines at once. Close waits for
// it to return: a handler that waits must also return when r.Context() is
// done. Safe for concurrent use, including while requests are served.
func (s *Server) Handle(pattern string, handler http.Handler) {
	path := pattern
	if i := strings.IndexAny(path, " \t"); i >= 0 {
		path = strings.TrimLeft(path[i:], " \t")
	}
	if i := strings.Index(path, "/"); i >= 0 {
		path = path[i:] // drop a host
	}
	if !strings.HasPrefix(path, podPrefix) && !strings.HasPrefix(path, agentPrefix) {
		panic(fmt.Sprintf("symauthtest: Handle: the path of pattern %q is not under /pod/ or /agent/", pattern))
	}
	if handler == nil {
		panic("symauthtest: Handle: nil handler")
	}
	s.handlers.Handle(pattern, handler)
	s.anyHandlers.Store(true)
}

// registered reports whether a pattern registered with Handle matches r.
// Until Handle is called it answers false without asking the ServeMux.
func (s *Server) registered(r *http.Request) bool {
	if !s.anyHandlers.Load() {
		return false
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, podPrefix) && !strings.HasPrefix(p, agentPrefix) {
		return false
	}
	_, pattern := s.handlers.Handler(r)
	return pattern != ""
}

// serveRegistered checks r's tokens, as the pod does for a path under /pod/
// and the agent for one under /agent/, then serves it with the handlers
// registered with Handle, with the user in its context.
func (s *Server) serveRegistered(w http.ResponseWriter, r *http.Request) {
	g, ok := s.authorize(w, r, strings.HasPrefix(r.URL.Path, agentPrefix))
	if !ok {
		return
	}
	ctx := context.WithValue(r.Context(), userKey{}, User{ID: g.user.id, Username: g.user.name, App: g.app})
	s.handlers.ServeHTTP(w, r.WithContext(ctx))
}
