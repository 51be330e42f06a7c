package bench

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"

	"github.com/symauth/symauth"
)

// Token lengths of MeasureMemory: a pod session token is an RS512 JWT of
// about 500 characters (that of symauthtest is 520 to 560 with
// Options.RS512Tokens, about half that with its default HS512 signature), a
// key manager token 128 hex digits.
const (
	memSessionTokenLen    = 512
	memKeyManagerTokenLen = 128
)

// MemoryResult is what symauth keeps in memory.
type MemoryResult struct {
	Transports     int     // Transports measured together
	PerTransport   float64 // bytes retained by one NewTransport and its Session, before any request
	PerCachedToken float64 // bytes retained once a request has cached a token: the Token, its strings, the header cache
	TokenBytes     int     // of PerCachedToken, the length of the token strings themselves

	Requests   int    // requests sent on one Transport with a cached token
	HeapBefore uint64 // HeapAlloc after runtime.GC before those requests
	HeapAfter  uint64 // HeapAlloc after runtime.GC after them
}

// Growth is HeapAfter - HeapBefore.
func (m MemoryResult) Growth() int64 { return int64(m.HeapAfter) - int64(m.HeapBefore) }

// MeasureMemory measures what symauth retains, from runtime.MemStats.HeapAlloc
// read after runtime.GC (twice, so that sync.Pool caches are emptied too):
//
//   - per Transport: the heap grown by making `transports` Transports
//     (NewTransport over a TokenSource, which adds a Session), divided by
//     their number;
//   - per cached token: the heap grown when each of them sends one request,
//     which logs in (a TokenSource returning fresh strings of realistic
//     length) and caches the token and its headers, divided likewise;
//   - growth: the heap before and after `requests` more requests on one of
//     them.
//
// The base answers every request 200 without any network and keeps nothing.
// Nothing else should run in the process meanwhile.
func MeasureMemory(transports, requests int) (MemoryResult, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "https://acme.symphony.com/agent/v5/datafeeds", nil)
	if err != nil {
		return MemoryResult{}, err
	}
	send := func(t *symauth.Transport) error {
		resp, err := t.RoundTrip(req)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("bench: status %d", resp.StatusCode)
		}
		return nil
	}

	ts := make([]*symauth.Transport, transports)
	start := heapAfterGC()
	for i := range ts {
		ts[i] = symauth.NewTransport(freshTokens{}, nopBase{})
	}
	made := heapAfterGC()
	for _, t := range ts {
		if err := send(t); err != nil {
			return MemoryResult{}, err
		}
	}
	cached := heapAfterGC()
	res := MemoryResult{
		Transports:     transports,
		PerTransport:   float64(int64(made)-int64(start)) / float64(transports),
		PerCachedToken: float64(int64(cached)-int64(made)) / float64(transports),
		TokenBytes:     memSessionTokenLen + memKeyManagerTokenLen,
		Requests:       requests,
	}

	one := ts[0]
	runtime.KeepAlive(ts)
	ts = nil
	res.HeapBefore = heapAfterGC()
	for range requests {
		if err := send(one); err != nil {
			return MemoryResult{}, err
		}
	}
	res.HeapAfter = heapAfterGC()
	runtime.KeepAlive(one)
	return res, nil
}

// heapAfterGC collects garbage twice and returns HeapAlloc.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// freshTokens logs in without a network: every call returns a new Token with
// newly allocated strings, as a real login would.
type freshTokens struct{}

func (freshTokens) Token(context.Context) (*symauth.Token, error) {
	return &symauth.Token{
		SessionToken:    strings.Repeat("s", memSessionTokenLen),
		KeyManagerToken: strings.Repeat("k", memKeyManagerTokenLen),
	}, nil
}

// nopBase answers 200 without any network and keeps nothing.
type nopBase struct{}

func (nopBase) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: r}, nil
}

// MaxGrowth is the heap growth over MemoryResult.Requests that still counts
// as none: the runtime's own bookkeeping moves HeapAlloc by a few KiB from
// one GC to the next, while a leak of even one byte per request would show
// as 1 MB over a million requests.
const MaxGrowth = 64 << 10
