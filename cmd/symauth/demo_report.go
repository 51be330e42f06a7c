package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// printDemoHeader says what the demo is about to do.
func printDemoHeader(w io.Writer, cfg demoConfig) {
	fmt.Fprintf(w, "symauth demo: %s (pod reads, agent reads, message posts) from %s\n",
		plural(cfg.requests, "request"), plural(cfg.workers, "goroutine"))
	fmt.Fprintf(w, "through symauth.NewTransport, against an in-process Symphony emulator (pod, key manager,\n"+
		"agent over TLS), %s.\n", sessionEndsPhrase(cfg.sessionEnds))
}

// demoResult is what a run of the demo did.
type demoResult struct {
	cfg                      demoConfig
	sent, failed, cancelled  int
	firstFailure             string
	latencies                []time.Duration // of the requests that succeeded, sorted
	firstLogins, totalLogins loginCount
	ends                     []endResult
	took                     time.Duration
	interrupted              bool
}

// endResult is what followed one session end.
type endResult struct {
	after              int        // requests completed when it happened
	got401, replayedOK int        // requests that got a 401 for it, and those of them that then succeeded
	logins             loginCount // logins between it and the next session end (or the end of the run)
}

// newDemoResult merges the workers' tallies with the session ends and the
// login counts at the end of the run.
func newDemoResult(cfg demoConfig, ends []sessionEnd, final loginCount, tallies []*tally, took time.Duration, interrupted bool) *demoResult {
	r := &demoResult{cfg: cfg, totalLogins: final, firstLogins: final, took: took, interrupted: interrupted}
	for _, t := range tallies {
		r.latencies = append(r.latencies, t.latencies...)
		r.failed += t.failed
		r.cancelled += t.cancelled
		if r.firstFailure == "" {
			r.firstFailure = t.firstFailure
		}
	}
	r.sent = len(r.latencies) + r.failed + r.cancelled
	slices.Sort(r.latencies)
	for k, e := range ends {
		if k == 0 {
			r.firstLogins = e.logins
		}
		next := final
		if k+1 < len(ends) {
			next = ends[k+1].logins
		}
		er := endResult{after: e.after, logins: next.minus(e.logins)}
		for _, t := range tallies {
			er.got401 += t.got401[k]
			er.replayedOK += t.replayedOK[k]
		}
		r.ends = append(r.ends, er)
	}
	return r
}

// expectedLogins is what symauth should have done at the pod and at the key
// manager: one first login, then one per session end.
func (r *demoResult) expectedLogins() int { return 1 + len(r.ends) }

// print writes the report. It holds counts and times only, never a token.
func (r *demoResult) print(w io.Writer) {
	requests := fmt.Sprintf("%d sent, %d failed", r.sent, r.failed)
	if r.cancelled > 0 {
		requests += fmt.Sprintf(", %d cut short by the interrupt", r.cancelled)
	}
	fmt.Fprintf(w, "  requests   %s\n", requests)
	fmt.Fprintf(w, "  logins     %d (pod) + %d (key manager): %s\n", r.totalLogins.pod, r.totalLogins.keyManager, r.loginsNote())
	fmt.Fprintf(w, "  latency    %s\n", r.latencyLine())
	for k, e := range r.ends {
		fmt.Fprintf(w, "  session end %d (after %s): %s\n", k+1, plural(e.after, "request"), e.summary())
	}
	fmt.Fprintf(w, "  took       %s (%.0f requests/s)\n", seconds(r.took), float64(r.sent)/r.took.Seconds())
}

// loginsNote explains the login count, and what it should have been when it
// is not that.
func (r *demoResult) loginsNote() string {
	want := r.expectedLogins()
	if r.totalLogins.pod == want && r.totalLogins.keyManager == want {
		return "1 first login + 1 per session end"
	}
	return fmt.Sprintf("expected %d each (1 first login + 1 per session end)", want)
}

// latencyLine gives p50, p99 and max of the successful requests.
func (r *demoResult) latencyLine() string {
	if len(r.latencies) == 0 {
		return "none: no request succeeded"
	}
	return fmt.Sprintf("p50 %s   p99 %s   max %s",
		millis(percentile(r.latencies, 50)), millis(percentile(r.latencies, 99)), millis(r.latencies[len(r.latencies)-1]))
}

// summary tells what followed a session end: the 401s, the logins, the replays.
func (e endResult) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s got a 401 -> %s", plural(e.got401, "request"), e.logins.text())
	if e.got401 == 0 {
		return b.String()
	}
	if failed := e.got401 - e.replayedOK; failed > 0 {
		fmt.Fprintf(&b, " -> %d replayed OK, %d failed", e.replayedOK, failed)
	} else {
		fmt.Fprintf(&b, " -> %d replayed, all OK", e.replayedOK)
	}
	return b.String()
}

// text names the logins: "1 re-login" when pod and key manager agree.
func (c loginCount) text() string {
	if c.pod == c.keyManager {
		return plural(c.pod, "re-login")
	}
	return fmt.Sprintf("%d pod + %d key manager logins", c.pod, c.keyManager)
}

// verdict returns nil after a good run, else an error saying what went wrong.
func (r *demoResult) verdict() error {
	var problems []string
	if r.interrupted {
		problems = append(problems, fmt.Sprintf("interrupted after %d of %d requests", r.sent, r.cfg.requests))
	}
	if r.failed > 0 {
		problems = append(problems, fmt.Sprintf("%d of %d requests failed; the first: %s", r.failed, r.sent, r.firstFailure))
	}
	if !r.interrupted {
		problems = append(problems, r.loginProblems()...)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// loginProblems checks the logins of a complete run: one at the start, one
// after each session end, at the pod and at the key manager.
func (r *demoResult) loginProblems() []string {
	var problems []string
	if !r.firstLogins.single() {
		problems = append(problems, fmt.Sprintf("the first login took %s, expected 1 each", r.firstLogins.calls()))
	}
	for k, e := range r.ends {
		if !e.logins.single() {
			problems = append(problems, fmt.Sprintf("session end %d was followed by %s, expected 1 each", k+1, e.logins.calls()))
		}
	}
	return problems
}

// single reports whether c is one login at the pod and one at the key manager.
func (c loginCount) single() bool { return c.pod == 1 && c.keyManager == 1 }

// calls is "2 pod and 1 key manager login calls".
func (c loginCount) calls() string {
	return fmt.Sprintf("%d pod and %d key manager login calls", c.pod, c.keyManager)
}

// percentile returns the p-th percentile (nearest rank) of sorted, which is
// not empty.
func percentile(sorted []time.Duration, p int) time.Duration {
	rank := (len(sorted)*p + 99) / 100
	return sorted[max(rank, 1)-1]
}

// millis shows d in milliseconds with two significant digits or so.
func millis(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 1:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 10:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// seconds shows d in seconds, or in milliseconds below one second.
func seconds(d time.Duration) string {
	if d < time.Second {
		return millis(d)
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// plural is "1 request", "2 requests".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// sessionEndsPhrase says how often the demo ends all sessions.
func sessionEndsPhrase(n int) string {
	switch n {
	case 0:
		return "with no session end"
	case 1:
		return "ending all sessions once on the way"
	case 2:
		return "ending all sessions twice on the way"
	}
	return fmt.Sprintf("ending all sessions %d times on the way", n)
}
