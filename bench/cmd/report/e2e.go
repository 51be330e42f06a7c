package main

import "fmt"

// e2eSection: issue item 4, throughput through a real TLS server.
func e2eSection(cfg config) (*section, error) {
	s, err := goTestBench(cfg.dir, "^BenchmarkE2E$", cfg.e2eTime, cfg.rounds, cfg.log)
	if err != nil {
		return nil, err
	}
	sec := &section{title: "4. End to end: 64 clients, TLS on loopback"}
	sec.printf("A `net/http/httptest` TLS server on loopback answering 200, 64 goroutines each with its own " +
		"keep-alive HTTP/1.1 connection (opened before timing; `new conns` counts those opened while timing), " +
		"client and server in one process on the same cores (`bench/e2e_test.go`). **bare** is the " +
		"`http.Transport` with the two token headers already on the request; **symauth** is `NewTransport` over " +
		"the same kind of `http.Transport`, token cached; **floor** is the warm path's floor over it (a request copy " +
		"and a header map: the least a middleware that leaves the caller's request alone adds).\n\n")
	sec.command(s.command, cfg.rounds)
	var rows [][]string
	for _, c := range []string{"bare", "floor", "symauth"} {
		n := "BenchmarkE2E/" + c
		rows = append(rows, []string{"**" + c + "**", ns(s.median(n, "req/s")), ns(s.median(n, "ns/op")),
			ns(s.median(n, "B/op")), ns(s.median(n, "allocs/op")), fmt.Sprintf("%.0f", s.median(n, "new-conns"))})
	}
	sec.table([]string{"client", "req/s", "ns/op", "B/op", "allocs/op", "new conns"}, rows...)
	r := s.ratio("BenchmarkE2E/symauth", "BenchmarkE2E/bare", "req/s")
	sec.check("end to end: symauth ≥ 0.95× the bare transport's req/s",
		s.ratioText("BenchmarkE2E/symauth", "BenchmarkE2E/bare", "req/s")+
			"; the floor: "+ratio(s.ratio("BenchmarkE2E/floor", "BenchmarkE2E/bare", "req/s")), r >= 0.95)
	sec.targetTable()
	return sec, nil
}
