package main

import (
	"fmt"
	"strconv"
)

// warmSection: issue item 1, RoundTrip with a cached token over a stub base.
func warmSection(cfg config) (*section, error) {
	s, err := goTestBench(cfg.dir, "^BenchmarkWarm$", cfg.benchtime, cfg.rounds, cfg.log)
	if err != nil {
		return nil, err
	}
	sec := &section{title: "1. Warm path: RoundTrip with a cached token"}
	sec.printf("The middleware's own cost: one `RoundTrip` with the token cached, over a stub base that answers 200 " +
		"without any network (`bench/warm_test.go`). The request is an Agent API call with one header of the caller's, " +
		"so symauth adds both token headers. Contenders: **symauth** (`NewTransport`, token cached in its `Session`), " +
		"**oauth2** (`golang.org/x/oauth2` v0.35.0 `Transport` over a `ReuseTokenSource`), the **floor** (a hand-written " +
		"RoundTripper that only makes a shallow copy of the request and a new header map with the two tokens), and the " +
		"bare **stub**. The stub returns a fresh `*http.Response` per call (symauth sets the response's `Request` back to " +
		"the caller's, so responses cannot be shared): its 1 allocation and its time are in every contender's numbers; " +
		"the \"own\" columns subtract them. *parallel* is `b.RunParallel` on GOMAXPROCS goroutines.\n\n")
	sec.command(s.command, cfg.rounds)

	name := func(mode, c string) string { return "BenchmarkWarm/" + mode + "/" + c }
	stubNs := map[string]float64{"serial": s.median(name("serial", "stub"), "ns/op"), "parallel": s.median(name("parallel", "stub"), "ns/op")}
	stubAllocs := s.median(name("serial", "stub"), "allocs/op")
	var rows [][]string
	for _, c := range []string{"stub", "floor", "symauth", "oauth2"} {
		row := []string{"**" + c + "**"}
		for _, mode := range []string{"serial", "parallel"} {
			v := s.median(name(mode, c), "ns/op")
			row = append(row, ns(v), ns(v-stubNs[mode]))
		}
		allocs := s.median(name("serial", c), "allocs/op")
		row = append(row, ns(s.median(name("serial", c), "B/op")), ns(allocs), ns(allocs-stubAllocs))
		rows = append(rows, row)
	}
	sec.table([]string{"contender", "serial ns/op", "serial own ns/op", "parallel ns/op", "parallel own ns/op", "B/op", "allocs/op", "own allocs/op"}, rows...)

	for _, peer := range []struct{ name, limit string }{{"oauth2", "0.5"}, {"floor", "1.3"}} {
		limit, _ := strconv.ParseFloat(peer.limit, 64)
		for _, mode := range []string{"serial", "parallel"} {
			sym, other, stub := name(mode, "symauth"), name(mode, peer.name), name(mode, "stub")
			r := s.ratio(sym, other, "ns/op")
			measured := fmt.Sprintf("%s; own time, the stub's subtracted: %s", s.ratioText(sym, other, "ns/op"),
				ratio(median(s.ratios(sym, other, stub, "ns/op"))))
			if peer.name == "oauth2" {
				measured += "; the floor itself: " + ratio(s.ratio(name(mode, "floor"), other, "ns/op"))
			}
			sec.check(fmt.Sprintf("warm path, %s: symauth ns/op ≤ %s× %s's", mode, peer.limit, peer.name), measured, r <= limit)
		}
	}
	own := s.median(name("serial", "symauth"), "allocs/op") - stubAllocs
	sec.check("warm path: symauth ≤ 3 allocs/op (its own; the stub's 1 excluded)",
		fmt.Sprintf("%.0f own (%.0f with the stub's)", own, own+stubAllocs), own <= 3)
	sec.targetTable()
	return sec, nil
}
