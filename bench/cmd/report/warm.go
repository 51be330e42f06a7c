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
	if err := warmHeadersPart(cfg, sec); err != nil {
		return nil, err
	}
	sec.targetTable()
	return sec, nil
}

// warmHeadersPart adds the header-count scaling of the warm path to sec.
func warmHeadersPart(cfg config, sec *section) error {
	s, err := goTestBench(cfg.dir, "^BenchmarkWarmHeaders$", cfg.benchtime, cfg.rounds, cfg.log)
	if err != nil {
		return err
	}
	sec.printf("### Scaling with the caller's headers\n\n" +
		"The same serial RoundTrip with 0, 5, 20 and 50 headers of the caller's (`BenchmarkWarmHeaders`: the usual " +
		"Accept, Content-Type, User-Agent, X-Trace-Id, Accept-Language, then X-Custom-NN), for the floor, symauth " +
		"and oauth2. Every contender must copy the caller's headers, since the caller's map must not change. The " +
		"floor inserts them one by one into a new map and calls its base through the `http.RoundTripper` " +
		"interface, as any middleware must (a call to a concrete stub would let escape analysis keep the copy " +
		"on the stack). symauth goes below it by copying less work, not less protection: with more than 2 headers " +
		"it clones the caller's map with `maps.Clone` (the map's storage copied, no key hashed again) when adding " +
		"the tokens will not make the clone grow, else inserts them one by one like the floor; with at most 2 it " +
		"clones a map of the token's headers made once per token. What protects the caller either way: the copy is " +
		"a map of its own, and each value slice is cut to its length (no spare capacity), so an append further " +
		"down the stack copies instead of writing into the caller's arrays (`TestHeaderCopyProtectsTheCallersHeaders`, " +
		"0 to 59 headers through a decorator that appends, sets and deletes). Token headers in any letter case are " +
		"removed; header names are compared by length first.\n\n")
	sec.command(s.command, cfg.rounds)
	name := func(n int, c string) string { return fmt.Sprintf("BenchmarkWarmHeaders/headers=%d/%s", n, c) }
	counts := []int{0, 5, 20, 50}
	var rows [][]string
	for _, n := range counts {
		rows = append(rows, []string{strconv.Itoa(n),
			ns(s.median(name(n, "floor"), "ns/op")), ns(s.median(name(n, "symauth"), "ns/op")), ns(s.median(name(n, "oauth2"), "ns/op")),
			s.ratioText(name(n, "symauth"), name(n, "floor"), "ns/op"), ratio(s.ratio(name(n, "oauth2"), name(n, "floor"), "ns/op")),
			ns(s.median(name(n, "symauth"), "allocs/op")) + " / " + ns(s.median(name(n, "floor"), "allocs/op"))})
	}
	sec.table([]string{"caller headers", "floor ns/op", "symauth ns/op", "oauth2 ns/op", "symauth ÷ floor", "oauth2 ÷ floor", "allocs/op symauth / floor"}, rows...)
	for _, n := range counts {
		limit := 1.00
		if n >= 20 {
			limit = 1.03
		}
		r := s.ratio(name(n, "symauth"), name(n, "floor"), "ns/op")
		sec.check(fmt.Sprintf("warm path, %d caller headers: symauth ≤ %.2f× the floor", n, limit),
			s.ratioText(name(n, "symauth"), name(n, "floor"), "ns/op"), r <= limit)
	}
	return nil
}
