package bench_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/symauth/symauth"
)

// e2eClients is the number of concurrent clients end to end.
const e2eClients = 64

// warmHeader marks the requests that open the connections before timing.
const warmHeader = "X-Bench-Warm-Up"

// e2eServer is the end-to-end server: TLS on loopback, HTTP/1.1 with
// keep-alive, answering 200 to requests that carry both tokens. It holds
// warm-up requests until e2eClients of them have arrived, so that the
// clients open exactly one connection each before the timing starts.
type e2eServer struct {
	*httptest.Server
	warm  atomic.Pointer[barrier]
	conns atomic.Int64 // connections accepted
}

// barrier opens once e2eClients requests have arrived.
type barrier struct {
	arrived atomic.Int64
	open    chan struct{}
}

func newE2EServer() *e2eServer {
	s := &e2eServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	// Keep the benchmark's output parseable: a client closing a connection
	// at the end of a run is no news.
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.StartTLS()
	return s
}

func (s *e2eServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get(warmHeader) != "" {
		b := s.warm.Load()
		if b.arrived.Add(1) == e2eClients {
			close(b.open)
		}
		select {
		case <-b.open:
		case <-r.Context().Done():
			return
		}
	}
	if r.Header.Get(symauth.HeaderSessionToken) == "" || r.Header.Get(symauth.HeaderKeyManagerToken) == "" {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// BenchmarkE2E sends requests from 64 goroutines, each over its own
// keep-alive HTTP/1.1 connection, to a TLS server on loopback that answers
// 200: through symauth (token cached), through the bare http.Transport with
// the same two static headers, and through the warm path's floor (a request
// copy and a header map, the least a middleware that leaves the caller's
// request alone can add). It reports req/s (symauth's over the bare one's is
// the ratio) and the connections opened while timing (none: every client
// keeps its connection).
func BenchmarkE2E(b *testing.B) {
	srv := newE2EServer()
	defer srv.Close()
	url := srv.URL + "/agent/v5/datafeeds"
	tok := &symauth.Token{SessionToken: warmSession, KeyManagerToken: warmKeyManager}

	for _, name := range []string{"bare", "floor", "symauth"} {
		b.Run(name, func(b *testing.B) {
			tr := srv.Client().Transport.(*http.Transport).Clone()
			tr.MaxConnsPerHost = e2eClients     // one connection per client,
			tr.MaxIdleConnsPerHost = e2eClients // kept alive between requests
			defer tr.CloseIdleConnections()
			var rt http.RoundTripper = tr
			header := http.Header{}
			switch name {
			case "symauth":
				rt = symauth.NewTransport(staticSource{tok}, tr)
			case "floor":
				rt = &floorTransport{base: tr, session: []string{tok.SessionToken}, keyManager: []string{tok.KeyManagerToken}}
			default:
				header.Set(symauth.HeaderSessionToken, tok.SessionToken)
				header.Set(symauth.HeaderKeyManagerToken, tok.KeyManagerToken)
			}
			newRequest := func(extra ...string) *http.Request {
				req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
				if err != nil {
					panic(err) // a constant URL
				}
				req.Header = header.Clone()
				for i := 0; i+1 < len(extra); i += 2 {
					req.Header.Set(extra[i], extra[i+1])
				}
				return req
			}
			send := func(req *http.Request) error {
				resp, err := rt.RoundTrip(req)
				if err != nil {
					return err
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return &statusError{resp.StatusCode}
				}
				return nil
			}

			// Open one connection per client (and fill the token cache).
			srv.warm.Store(&barrier{open: make(chan struct{})})
			warm := make(chan error, e2eClients)
			for range e2eClients {
				go func() { warm <- send(newRequest(warmHeader, "1")) }()
			}
			for range e2eClients {
				if err := <-warm; err != nil {
					b.Fatal(err)
				}
			}
			opened := srv.conns.Load()

			b.SetParallelism((e2eClients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				req := newRequest()
				for pb.Next() {
					if err := send(req); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(srv.conns.Load()-opened), "new-conns")
		})
	}
}

// statusError is an unexpected HTTP status.
type statusError struct{ status int }

func (e *statusError) Error() string { return "unexpected status " + http.StatusText(e.status) }
