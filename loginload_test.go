package symauth_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLoginLoadMemory logs in without pause against symauthtest with
// sessions that never end (the emulator's --session-ttl 0) for the duration
// SYMAUTH_LOGIN_LOAD gives (e.g. 60s), and prints the heap in use after a GC
// every tenth of it: the fake pod's token store is bounded, so the heap
// stays flat instead of growing with every login. It is skipped by default.
//
//	SYMAUTH_LOGIN_LOAD=60s go test -run TestLoginLoadMemory -v .
func TestLoginLoadMemory(t *testing.T) {
	v := os.Getenv("SYMAUTH_LOGIN_LOAD")
	if v == "" {
		t.Skip("login load test off: enable it with SYMAUTH_LOGIN_LOAD=60s")
	}
	duration, err := time.ParseDuration(v)
	if err != nil || duration <= 0 {
		t.Fatalf("SYMAUTH_LOGIN_LOAD=%q: want a duration", v)
	}
	srv := newPod(t)
	cfg := rsaConfig(srv)
	cfg.SkipKeyManager = false
	auth := newRSA(t, cfg)

	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	var logins atomic.Int64
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := auth.Token(ctx); err == nil {
					logins.Add(1)
				}
			}
		}()
	}
	fmt.Printf("| elapsed | logins | heap in use |\n|---|---|---|\n| 0s | 0 | %.1f MiB |\n", float64(heap())/(1<<20))
	tick := time.NewTicker(duration / 10)
	defer tick.Stop()
	start := time.Now()
	for done := false; !done; {
		select {
		case <-tick.C:
		case <-ctx.Done():
			done = true
		}
		fmt.Printf("| %s | %d | %.1f MiB |\n", time.Since(start).Round(time.Second), logins.Load(), float64(heap())/(1<<20))
	}
	wg.Wait()
}
