package login

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Report collects, during one login, what its calls did. A Session puts one
// in the login's context (WithReport); the Callers and logins fill it. The
// methods of a nil *Report do nothing. It is safe for concurrent use.
type Report struct {
	mu        sync.Mutex
	workflow  string
	user, app string
	endpoints []string
	attempts  int
	calls     []Call
	skd       bool
	renewal   bool
}

// Call is what one login call did: the fields of symauth.LoginCall, in the
// same order, so that the root package converts one into the other.
type Call struct {
	Endpoint   string        // the path called
	StatusCode int           // of the last attempt; 0 when no HTTP response came back
	Attempts   int           // HTTP attempts, retries included
	Duration   time.Duration // from the first attempt to the answer read, retry waits included
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

// SetSource records the login's workflow ("rsa", "obo" …), who logs in (a
// bot's username, an on-behalf-of user) and the on-behalf-of app, unless a
// workflow is recorded already: the outermost source names them.
func (r *Report) SetSource(workflow, user, app string) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.workflow == "" {
		r.workflow, r.user, r.app = workflow, user, app
	}
}

// SetSKD records whether simplified key delivery applied to the login: no
// key manager login.
func (r *Report) SetSKD(applied bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.skd = applied
}

// SetRenewal records whether the login is a Common JWT renewal rather than
// a new login.
func (r *Report) SetRenewal(renewal bool) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.renewal = renewal
}

// startCall records the start of a call to endpoint and returns its index
// for attempt and endCall; -1 for a nil Report.
func (r *Report) startCall(endpoint string) int {
	if r == nil {
		return -1
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{Endpoint: endpoint})
	if !slices.Contains(r.endpoints, endpoint) {
		r.endpoints = append(r.endpoints, endpoint)
	}
	return len(r.calls) - 1
}

// attempt records one HTTP attempt of call i.
func (r *Report) attempt(i int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	r.calls[i].Attempts++
}

// endCall records the end of call i: the last status and how long it took.
func (r *Report) endCall(i, status int, d time.Duration) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[i].StatusCode, r.calls[i].Duration = status, d
}

// Summary is what a Report recorded.
type Summary struct {
	Workflow  string
	User, App string
	Endpoints []string // in the order of their first call
	Attempts  int      // over all calls
	Calls     []Call   // in the order they started
	SKD       bool
	Renewal   bool
}

// Summary returns what was recorded, with copies of the slices.
func (r *Report) Summary() Summary {
	if r == nil {
		return Summary{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return Summary{Workflow: r.workflow, User: r.user, App: r.app, Endpoints: slices.Clone(r.endpoints),
		Attempts: r.attempts, Calls: slices.Clone(r.calls), SKD: r.skd, Renewal: r.renewal}
}
