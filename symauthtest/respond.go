package symauthtest

import (
	"encoding/json"
	"errors"
	"net/http"
)

// apiError is the error body of every Symphony API: {"code":…,"message":…}.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// writeJSON answers status with v encoded as JSON. v is one of the package's
// own answer types, which always encode; a write error means the client went
// away and there is nobody to tell.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers status with a Symphony error body.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, apiError{Code: status, Message: message})
}

// methodNotAllowed logs and answers 405 naming the allowed method.
func (s *Server) methodNotAllowed(w http.ResponseWriter, r *http.Request, allowed string) {
	s.refuse(r, "method not allowed")
	w.Header().Set("Allow", allowed)
	writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed here; use "+allowed)
}

// notFound logs and answers 404 saying the fake does not serve the path.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.refuse(r, "no such endpoint in symauthtest")
	writeError(w, http.StatusNotFound, "symauthtest does not serve "+r.Method+" "+r.URL.Path)
}

// refuseBody logs and answers a request whose body err could not be read or
// decoded: 413 when it was larger than its cap (too big, for the log), else
// 400 with reason (for the log) and message.
func (s *Server) refuseBody(w http.ResponseWriter, r *http.Request, err error, tooBig, reason, message string) {
	if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
		s.refuse(r, "request body larger than "+tooBig)
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	s.refuse(r, reason)
	writeError(w, http.StatusBadRequest, message)
}

// refuse logs a refused call with its reason. reason never holds a token.
func (s *Server) refuse(r *http.Request, reason string) {
	s.logf("refused %s %s: %s", r.Method, r.URL.Path, reason)
}
