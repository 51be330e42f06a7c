package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/symauth/symauth/symauthtest"
)

// StampedeResult is what one session end cost while N requests were in
// flight.
type StampedeResult struct {
	N      int
	Logins int // session logins (calls to the pod's login) from the session end to the last answer
	Failed int // requests that did not end with a 200
	// Latency holds, sorted, each request's time from the session end (the
	// moment the held requests were released) to its answer.
	Latency []time.Duration
	// CPU is the CPU time the process (client and server) used from the
	// release to the last answer; 0 where it is not measured.
	CPU time.Duration
}

// Percentile returns the p-th percentile (0 < p <= 100) of Latency, by the
// nearest-rank method; 0 when there is none.
func (r StampedeResult) Percentile(p float64) time.Duration {
	if len(r.Latency) == 0 {
		return 0
	}
	rank := int(p/100*float64(len(r.Latency))+0.5) - 1
	return r.Latency[min(max(rank, 0), len(r.Latency)-1)]
}

// Max returns the largest latency.
func (r StampedeResult) Max() time.Duration { return r.Percentile(100) }

// StampedePath is the API call the stampede sends: GET /pod/v2/sessioninfo,
// which needs a live session.
const StampedePath = symauthtest.PathSessionInfo

// Stampede makes n requests truly in flight through rt, ends the session
// while they are, and measures what follows.
//
// First one request through rt logs it in. Then the server is told to hold
// the next n requests on StampedePath (symauthtest.Fault with Hold, Reached
// and Times n); n requests are sent concurrently, and once all n have
// reached the server, it revokes every session (if endSession) and
// releases them together. Each is then answered 401 — the session ended
// while it was in flight — and rt must log in again and replay it. With
// endSession false nothing is revoked: the same run gives the baseline
// latency of releasing n held requests.
//
// ctx bounds the whole run; if the requests have not all reached the server
// by then, they are released and an error is returned.
func Stampede(ctx context.Context, srv *symauthtest.Server, rt http.RoundTripper, n int, endSession bool) (StampedeResult, error) {
	url := srv.URL + StampedePath
	if status, err := get(ctx, rt, url); err != nil || status != http.StatusOK {
		return StampedeResult{}, fmt.Errorf("bench: warm-up request: status %d, error %v", status, err)
	}

	hold := make(chan struct{})
	reached := make(chan struct{}, n)
	srv.InjectFault(StampedePath, symauthtest.Fault{Hold: hold, Reached: reached, Times: n})

	type outcome struct {
		end    time.Time
		status int
	}
	outcomes := make([]outcome, n)
	done := make(chan struct{}, n)
	for i := range n {
		go func() {
			status, _ := get(ctx, rt, url)
			outcomes[i] = outcome{end: time.Now(), status: status}
			done <- struct{}{}
		}()
	}

	// Wait until every request is held by the server. A request that ends
	// before was never in flight at the session end: the run is void.
	var waitErr error
	for arrived := 0; arrived < n && waitErr == nil; {
		select {
		case <-reached:
			arrived++
		case <-done:
			waitErr = fmt.Errorf("bench: a request ended before all %d reached the server (%d had)", n, arrived)
			done <- struct{}{} // counted again below
		case <-ctx.Done():
			waitErr = fmt.Errorf("bench: only %d of %d requests reached the server: %w", arrived, n, ctx.Err())
		}
	}
	loginsBefore := srv.Calls(symauthtest.PathLogin)
	if waitErr == nil && endSession {
		srv.RevokeSessions()
	}
	released, cpuAtRelease := time.Now(), processCPU()
	close(hold)
	for range n {
		<-done
	}
	cpu := processCPU() - cpuAtRelease
	if waitErr != nil {
		srv.ClearFaults()
		return StampedeResult{}, waitErr
	}

	res := StampedeResult{N: n, Logins: srv.Calls(symauthtest.PathLogin) - loginsBefore, Latency: make([]time.Duration, n), CPU: cpu}
	for i, o := range outcomes {
		res.Latency[i] = o.end.Sub(released)
		if o.status != http.StatusOK {
			res.Failed++
		}
	}
	slices.Sort(res.Latency)
	return res, nil
}

// get sends GET url through rt, reads and closes the answer, and returns its
// status.
func get(ctx context.Context, rt http.RoundTripper, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// The clients a stampede compares.
const (
	ClientSymauth       = "symauth"       // symauth.Transport: one shared re-login
	ClientUncoordinated = "uncoordinated" // Uncoordinated: a re-login per 401, as the SDKs do
)

// RunStampede runs Stampede on a fresh Fixture sized for n requests in
// flight, with a new client of the kind named (ClientSymauth or
// ClientUncoordinated).
func RunStampede(ctx context.Context, client string, n int, endSession bool) (StampedeResult, error) {
	f, err := NewFixture(ctx, nil, n)
	if err != nil {
		return StampedeResult{}, err
	}
	defer f.Close()
	var rt http.RoundTripper
	switch client {
	case ClientSymauth:
		rt, err = f.Symauth()
	case ClientUncoordinated:
		rt, err = f.Uncoordinated()
	default:
		err = fmt.Errorf("bench: unknown stampede client %q", client)
	}
	if err != nil {
		return StampedeResult{}, err
	}
	return Stampede(ctx, f.Server, rt, n, endSession)
}

// LoginTime is the median time of rounds symauth RSA logins on a quiet
// Fixture: what one login costs alone, the login part of a stampede's limit.
func LoginTime(ctx context.Context, rounds int) (time.Duration, error) {
	f, err := NewFixture(ctx, nil, 1)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	login, err := f.RSA(nil)
	if err != nil {
		return 0, err
	}
	if _, err := login.Token(ctx); err != nil { // the server makes its signing key
		return 0, err
	}
	times := make([]time.Duration, rounds)
	for i := range times {
		start := time.Now()
		if _, err := login.Token(ctx); err != nil {
			return 0, err
		}
		times[i] = time.Since(start)
	}
	slices.Sort(times)
	return times[rounds/2], nil
}
