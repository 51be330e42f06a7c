package login

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The Debug line of each failed attempt says which attempt of how many it was
// and, when another follows, the wait before it; the last says none is left.
func TestRetryLogLines(t *testing.T) {
	const endpoint = "/login/pubkey/authenticate"
	for _, tc := range []struct {
		name       string
		retry      Retry
		failures   int // answers 503 before a 200
		retryAfter string
		want       []string // msg and attempt of each line
		maxWait    time.Duration
	}{{
		name:     "all attempts fail",
		retry:    Retry{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond},
		failures: 99,
		want:     []string{msgRetrying + " 1 of 3", msgRetrying + " 2 of 3", msgGaveUp + " 3 of 3"},
		maxWait:  time.Millisecond,
	}, {
		name:     "the third succeeds",
		retry:    Retry{MaxAttempts: 5, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond},
		failures: 2,
		want:     []string{msgRetrying + " 1 of 5", msgRetrying + " 2 of 5"},
		maxWait:  time.Millisecond,
	}, {
		name:       "Retry-After, no limit",
		retry:      Retry{MaxAttempts: noAttemptLimit, InitialInterval: time.Second, MaxInterval: time.Minute},
		failures:   2,
		retryAfter: "0",
		want:       []string{msgRetrying + " 1, no limit", msgRetrying + " 2, no limit"},
		maxWait:    0,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if int(calls.Add(1)) <= tc.failures {
					if tc.retryAfter != "" {
						w.Header().Set("Retry-After", tc.retryAfter)
					}
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				_, _ = w.Write([]byte(`{"name":"sessionToken","token":"t"}`))
			}))
			defer srv.Close()
			var logs syncBuffer
			logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			c := NewCaller(srv.Client(), tc.retry, logger)
			_, f := c.Login(context.Background(), Request{URL: srv.URL + endpoint, Endpoint: endpoint})
			if wantOK := tc.failures < tc.retry.MaxAttempts; (f == nil) != wantOK {
				t.Fatalf("failure %v after %d calls", f, calls.Load())
			}
			var got []string
			for _, line := range bytes.Split(bytes.TrimSpace(logs.Bytes()), []byte("\n")) {
				var rec struct {
					Msg, Endpoint, Attempt string
					Status                 int
					RetryInMS              *float64 `json:"retry_in_ms"`
				}
				if err := json.Unmarshal(line, &rec); err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				got = append(got, rec.Msg+" "+rec.Attempt)
				if rec.Endpoint != endpoint || rec.Status != http.StatusServiceUnavailable {
					t.Errorf("line %s: want endpoint %s and status 503", line, endpoint)
				}
				switch wantWait := rec.Msg == msgRetrying; {
				case wantWait && (rec.RetryInMS == nil || *rec.RetryInMS < Millis(tc.maxWait/2) || *rec.RetryInMS > Millis(tc.maxWait)):
					t.Errorf("line %s: want a retry_in_ms within [%v, %v]", line, tc.maxWait/2, tc.maxWait)
				case !wantWait && rec.RetryInMS != nil:
					t.Errorf("line %s: a retry_in_ms after the last attempt", line)
				}
			}
			if len(got) != len(tc.want) {
				t.Fatalf("lines %q; want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("line %d: %q; want %q", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
