package main

import (
	"fmt"
	"time"
)

// proxySection: issue 17, what the sidecar ("symauth proxy") adds to a
// request, against symauth in the bot's own process.
func proxySection(cfg config) (*section, error) {
	s, err := goTestBench(cfg.dir, "^BenchmarkProxy$", cfg.e2eTime, cfg.slowRounds, cfg.log)
	if err != nil {
		return nil, err
	}
	sec := &section{title: "8. The sidecar: symauth proxy against symauth in process"}
	sec.printf("GET requests for a small JSON answer to a symauthtest pod on loopback (`bench/proxy_test.go`): **direct** is " +
		"`symauth.NewTransport` in the bot's process over an `http.Transport` (one HTTP/2 connection, token cached); " +
		"**proxy** is a plain HTTP/1.1 client without token to the built `symauth proxy` binary on loopback, which " +
		"forwards over the same kind of transport; **floor** is the least any sidecar costs: a bare " +
		"`httputil.ReverseProxy` in a process of its own that sets a token it got once (no header dropping, no body " +
		"buffering, no 401 healing). Latency is the median of requests sent one at a time; throughput comes from 64 " +
		"goroutines with a keep-alive connection each. Client, pod and sidecar share this machine's cores, so the " +
		"sidecar's own work (an HTTP server and a second client per request) competes with them: on a real " +
		"deployment the pod is remote and the sidecar's cores are its own.\n\n")
	sec.command(s.command, cfg.slowRounds)
	var rows [][]string
	for _, c := range []string{"direct", "floor", "proxy"} {
		lat, tput := "BenchmarkProxy/latency/"+c, "BenchmarkProxy/throughput/"+c
		rows = append(rows, []string{"**" + c + "**", ms3(s.median(lat, "p50-ns")), ns(s.median(tput, "req/s")),
			ns(s.median(tput, "B/op")), ns(s.median(tput, "allocs/op"))})
	}
	sec.table([]string{"client", "latency p50", "req/s (64 clients)", "B/op", "allocs/op"}, rows...)

	added := s.differences("BenchmarkProxy/latency/proxy", "BenchmarkProxy/latency/direct", "p50-ns")
	floor := s.differences("BenchmarkProxy/latency/floor", "BenchmarkProxy/latency/direct", "p50-ns")
	sec.check("proxy: ≤ 0.2 ms added at p50", spread(added, ms3)+"; the floor adds "+ms3(median(floor)), median(added) <= 0.2e6)
	r := s.ratio("BenchmarkProxy/throughput/proxy", "BenchmarkProxy/throughput/direct", "req/s")
	sec.check("proxy: ≥ 0.8× the direct throughput", s.ratioText("BenchmarkProxy/throughput/proxy", "BenchmarkProxy/throughput/direct", "req/s")+
		"; the floor: "+ratio(s.ratio("BenchmarkProxy/throughput/floor", "BenchmarkProxy/throughput/direct", "req/s")), r >= 0.8)
	sec.targetTable()
	return sec, nil
}

// differences returns, for each round, a's unit minus b's in the same round.
func (s suite) differences(a, b, unit string) []float64 {
	var vs []float64
	for _, r := range s.runs {
		x, okA := r[a][unit]
		y, okB := r[b][unit]
		if okA && okB {
			vs = append(vs, x-y)
		}
	}
	return vs
}

// spread is the median of vs with the middle half of the rounds, in the
// format f: "0.15 ms (middle half of the runs: 0.12–0.18 ms)".
func spread(vs []float64, f func(float64) string) string {
	if len(vs) < 4 {
		return f(median(vs))
	}
	return fmt.Sprintf("%s (middle half of the runs: %s–%s)", f(median(vs)), f(quantile(vs, 0.25)), f(quantile(vs, 0.75)))
}

// ms3 formats nanoseconds as milliseconds with three decimals: "0.153 ms".
func ms3(v float64) string {
	return fmt.Sprintf("%.3f ms", float64(time.Duration(v))/float64(time.Millisecond))
}
