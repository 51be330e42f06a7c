package login

import (
	"context"
	"slices"
	"sync"
)

// Report collects, during one login, what its calls did. A Session puts one
// in the login's context (WithReport); the Callers and logins fill it. The
// methods of a nil *Report do nothing. It is safe for concurrent use.
type Report struct {
	mu        sync.Mutex
	workflow  string
	endpoints []string
	attempts  int
}

type reportKey struct{}

// WithReport returns ctx carrying r.
func WithReport(ctx context.Context, r *Report) context.Context {
	return context.WithValue(ctx, reportKey{}, r)
}

// ReportOf returns the Report in ctx; nil when there is none.
func ReportOf(ctx context.Context) *Report {
	r, _ := ctx.Value(reportKey{}).(*Report)
	return r
}

// SetWorkflow records the login's workflow ("rsa", "obo" …), unless one is
// recorded already: the outermost source names it.
func (r *Report) SetWorkflow(w string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.workflow == "" {
		r.workflow = w
	}
}

// attempt records one HTTP attempt at endpoint.
func (r *Report) attempt(endpoint string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if !slices.Contains(r.endpoints, endpoint) {
		r.endpoints = append(r.endpoints, endpoint)
	}
}

// Summary returns what was recorded: the workflow, the endpoints called (a
// copy, in the order of their first attempt) and the number of attempts.
func (r *Report) Summary() (workflow string, endpoints []string, attempts int) {
	if r == nil {
		return "", nil, 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.workflow, slices.Clone(r.endpoints), r.attempts
}
