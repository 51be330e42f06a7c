package main

import (
	"fmt"
	"time"
)

// coldStartSection: a bot's first request, login included, beside the sum of
// its parts.
func coldStartSection(cfg config) (*section, error) {
	s, err := goTestBench(cfg.dir, "^BenchmarkColdStart$", cfg.coldTime, cfg.slowRounds, cfg.log)
	if err != nil {
		return nil, err
	}
	sec := &section{title: "7. Cold start: the first request, login included"}
	sec.printf("A bot's first request through a new `Transport` over connection pools with no connection yet, " +
		"against symauthtest on loopback (`bench/coldstart_test.go`), beside its parts measured alone in the same " +
		"run, each on a connection already open: one JWT signature (2048-bit key), the pod's login call, the key " +
		"manager's (a first login asks them one after the other, as BDK does: simplified key delivery may make " +
		"the key manager unneeded) and the API call. Their sum is the limit: what the cold start costs above it is " +
		"dialling (TCP and TLS), which no part pays. symauth starts the login's dial before the JWT is signed (the " +
		"body's length is known from the key's size, the body follows), so dialling hides behind signing; with the " +
		"defaults the login and the API calls share `http.DefaultTransport`'s pool, so the first call reuses the " +
		"login's connection. *one pool* is that; *two pools* gives the login a client of its own (as an " +
		"`HTTPClient` or bdkconfig does), so the first call dials too. *dial* is one TLS connection, for " +
		"reference.\n\n")
	sec.command(s.command, cfg.slowRounds)
	name := func(n string) string { return "BenchmarkColdStart/" + n }
	at := func(n string) time.Duration { return time.Duration(s.median(name(n), "ns/op")) }
	parts := []string{"part/sign", "part/pod", "part/keymanager", "part/call"}
	var rows [][]string
	for _, p := range append(parts, "part/dial") {
		rows = append(rows, []string{p, ms2(at(p))})
	}
	// The limit and the overheads are medians of per-run values: each run's
	// parts and cold starts ran within seconds of each other.
	perRun := func(cold string) (overhead, limit []float64) {
		for _, r := range s.runs {
			sum := 0.0
			for _, p := range parts {
				sum += r[name(p)]["ns/op"]
			}
			limit = append(limit, sum)
			overhead = append(overhead, r[name(cold)]["ns/op"]-sum)
		}
		return overhead, limit
	}
	_, limit := perRun("cold/one-pool")
	rows = append(rows, []string{"**limit: sign + pod + key manager + call**", ms2(time.Duration(median(limit)))})
	for _, c := range []string{"cold/one-pool", "cold/two-pools"} {
		over, _ := perRun(c)
		rows = append(rows, []string{"**" + c + "**", fmt.Sprintf("%s (limit + %s)", ms2(at(c)), ms2(time.Duration(median(over))))})
	}
	sec.table([]string{"what", "time"}, rows...)
	over, _ := perRun("cold/one-pool")
	sec.check("cold start with the defaults (one pool): ≤ the sum of its parts + 0.5 ms",
		fmt.Sprintf("limit + %s", ms2(time.Duration(median(over)))), median(over) <= float64(500*time.Microsecond))
	sec.targetTable()
	return sec, nil
}

// ms2 is a duration in milliseconds with two decimals.
func ms2(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }
