package bench

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync"

	"github.com/symauth/symauth"
	"github.com/symauth/symauth/symauthtest"
)

// SessionsResult is what many logged-in sessions cost one process.
type SessionsResult struct {
	Sessions         int
	HeapBefore       uint64 // HeapAlloc after runtime.GC, the server running and the app logged in
	HeapAfter        uint64 // the same once every session has logged in and sent a request
	HeapReleased     uint64 // the same once the sessions are dropped: what the fake pod still keeps of them
	GoroutinesBefore int
	GoroutinesAfter  int
}

// PerSession is the heap each logged-in session holds on the client side, in
// bytes: its Transport, Session, user source, token and headers (what
// dropping the sessions frees).
func (r SessionsResult) PerSession() float64 {
	return float64(int64(r.HeapAfter)-int64(r.HeapReleased)) / float64(r.Sessions)
}

// PerServerRecord is what the fake pod, which runs in the same process,
// keeps of each session, in bytes.
func (r SessionsResult) PerServerRecord() float64 {
	return float64(int64(r.HeapReleased)-int64(r.HeapBefore)) / float64(r.Sessions)
}

// MeasureSessions logs in n on-behalf-of user sessions of one app against
// an in-process symauthtest, each a Transport of its own over one shared
// base and login client, as a service acting for many users has them; each
// sends one request (which logs it in) and stays referenced. It reports the
// heap and the goroutines before and after. Nothing else should run in the
// process meanwhile.
func MeasureSessions(ctx context.Context, n int) (SessionsResult, error) {
	key, err := Key(2048)
	if err != nil {
		return SessionsResult{}, err
	}
	srv, err := symauthtest.Start(symauthtest.Options{})
	if err != nil {
		return SessionsResult{}, err
	}
	defer srv.Close()
	const appID = "bench-app"
	if err := srv.RegisterApp(appID, &key.PublicKey); err != nil {
		return SessionsResult{}, err
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("user-%05d", i)
		if _, err := srv.RegisterUser(names[i], &key.PublicKey); err != nil {
			return SessionsResult{}, err
		}
	}
	if err := srv.InstallApp(appID, names...); err != nil {
		return SessionsResult{}, err
	}
	client := srv.Client()
	obo, err := symauth.NewOBO(symauth.OBOConfig{PodURL: srv.URL, AppID: appID, PrivateKey: key, HTTPClient: client})
	if err != nil {
		return SessionsResult{}, err
	}
	defer client.CloseIdleConnections()
	if _, err := obo.AppSession().Token(ctx); err != nil {
		return SessionsResult{}, err
	}
	url := srv.URL + symauthtest.PathSessionInfo
	if status, err := get(ctx, client.Transport, srv.URL+symauthtest.PathAgentInfo); err != nil || status != http.StatusOK {
		return SessionsResult{}, fmt.Errorf("bench: warm-up: status %d, error %v", status, err)
	}

	res := SessionsResult{Sessions: n, HeapBefore: heapAfterGC(), GoroutinesBefore: runtime.NumGoroutine()}
	transports := make([]*symauth.Transport, n)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for w := range runtime.GOMAXPROCS(0) * 4 {
		wg.Go(func() {
			for i := w; i < n; i += runtime.GOMAXPROCS(0) * 4 {
				user, err := obo.Username(names[i])
				if err == nil {
					transports[i] = symauth.NewTransport(user, client.Transport)
					var status int
					if status, err = get(ctx, transports[i], url); err == nil && status != http.StatusOK {
						err = fmt.Errorf("bench: %s: status %d", names[i], status)
					}
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		return SessionsResult{}, err
	default:
	}
	res.HeapAfter, res.GoroutinesAfter = heapAfterGC(), runtime.NumGoroutine()
	runtime.KeepAlive(transports)
	transports = nil
	res.HeapReleased = heapAfterGC()
	return res, nil
}
