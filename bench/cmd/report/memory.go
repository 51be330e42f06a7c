package main

import (
	"context"
	"fmt"

	"github.com/symauth/symauth/bench"
)

// memTransports is how many Transports the per-Transport figures average,
// and memSessions how many logged-in sessions the many-sessions figures hold.
const (
	memTransports = 10_000
	memSessions   = 10_000
	// memSessionsGoal bounds the client-side heap of memSessions sessions.
	memSessionsGoal = 20e6
)

// memorySection: issue item 6, retained memory, measured in-process.
func memorySection(cfg config) (*section, error) {
	m, err := bench.MeasureMemory(memTransports, cfg.requests)
	if err != nil {
		return nil, err
	}
	sec := &section{title: "6. Memory: retained bytes, growth"}
	sec.printf("Measured in this process by `bench.MeasureMemory` (`bench/memory.go`; `TestMemory` checks "+
		"bounds): `runtime.MemStats.HeapAlloc` read after `runtime.GC` (twice, so that `sync.Pool` caches are "+
		"emptied too). Per Transport: the heap grown by %s `NewTransport` (each with its `Session`), divided by "+
		"their number. Per cached token: the heap grown when each of them sends one request, which logs in (a "+
		"`TokenSource` returning a %d-character session token and a %d-character key manager token, fresh strings) "+
		"and caches the token, its header values and the `Session`'s singleflight map. Growth: the heap before and "+
		"after %s requests on one Transport with its token cached, over a base that keeps nothing.\n\n",
		thousands(m.Transports), 512, 128, thousands(m.Requests))
	sec.command(fmt.Sprintf("go run ./cmd/report   # in-process: bench.MeasureMemory(%d, %d)", m.Transports, m.Requests), 1)
	sec.table([]string{"what", "bytes"},
		[]string{"retained per Transport + Session, before any request", fmt.Sprintf("%.0f", m.PerTransport)},
		[]string{"retained per cached token", fmt.Sprintf("%.0f (%d of them the token strings)", m.PerCachedToken, m.TokenBytes)},
		[]string{fmt.Sprintf("HeapAlloc before %s requests", thousands(m.Requests)), thousands(int(m.HeapBefore))},
		[]string{fmt.Sprintf("HeapAlloc after %s requests", thousands(m.Requests)), thousands(int(m.HeapAfter))},
		[]string{"growth", thousands(int(m.Growth()))})
	sec.check(fmt.Sprintf("no growth over %s requests (≤ %d KiB, GC noise)", thousands(m.Requests), bench.MaxGrowth>>10),
		thousands(int(m.Growth()))+" B", m.Growth() <= bench.MaxGrowth)

	ctx, cancel := context.WithTimeout(context.Background(), stampedeTimeout)
	defer cancel()
	r, err := bench.MeasureSessions(ctx, memSessions)
	if err != nil {
		return nil, err
	}
	sec.printf("**Many sessions in one process** (`bench.MeasureSessions`, `TestManySessions`): %s on-behalf-of user "+
		"sessions of one app against an in-process symauthtest, each a `Transport` of its own over one shared base "+
		"and login client, as a service acting for many users has them; each sends one request (which logs it in) "+
		"and stays referenced. The client side is what dropping the sessions frees; the fake pod's records of "+
		"them stay in the same process and are shown apart.\n\n", thousands(r.Sessions))
	sec.table([]string{"what", "value"},
		[]string{"heap per logged-in session, client side", fmt.Sprintf("%.0f B", r.PerSession())},
		[]string{fmt.Sprintf("heap of %s sessions, client side", thousands(r.Sessions)), fmt.Sprintf("%.1f MB", r.PerSession()*float64(r.Sessions)/1e6)},
		[]string{"the fake pod's record of each, in the same process", fmt.Sprintf("%.0f B", r.PerServerRecord())},
		[]string{"goroutines before → after", fmt.Sprintf("%d → %d", r.GoroutinesBefore, r.GoroutinesAfter)})
	total := r.PerSession() * float64(r.Sessions)
	sec.check(fmt.Sprintf("%s logged-in sessions: under 20 MB, and a constant number of goroutines", thousands(r.Sessions)),
		fmt.Sprintf("%.1f MB; goroutines %d → %d", total/1e6, r.GoroutinesBefore, r.GoroutinesAfter),
		total < memSessionsGoal && r.GoroutinesAfter <= r.GoroutinesBefore+4)
	sec.targetTable()
	return sec, nil
}
