package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/symauth/symauth/bench"
)

// stampedePoint is one N of the stampede, for the chart.
type stampedePoint struct {
	n, symauth, uncoordinated int // logins per session end
}

// stampedeSection: issue item 2, a session ending with N requests in flight,
// measured in-process.
func stampedeSection(ctx context.Context, cfg config) (*section, []stampedePoint, error) {
	sec := &section{title: "2. Stampede: a session ends with N requests in flight"}
	sec.printf("Each run starts symauthtest, logs the client in, has the server hold the next N requests "+
		"(`Fault{Hold, Reached, Times: N}` on `GET /pod/v2/sessioninfo`), sends N requests at once, and once all N "+
		"are held, revokes every session and releases them: each is answered 401 and must be logged in again and "+
		"replayed (`bench.Stampede`). **symauth** is `NewTransport`; **uncoordinated** (`bench/uncoordinated.go`) "+
		"refreshes on 401 the way the official SDKs do: each 401 makes its own login, then replays. Both use the "+
		"same symauth RSA login, so only coordination differs. *Latency* runs from the release to each answer; "+
		"*added* subtracts the same percentile of the **baseline** run (N held requests released, no session end). "+
		"Requests go over HTTP/2, at most %d per connection, on connections opened in advance (`bench.ConnPool`): Go's "+
		"`http.Transport` otherwise dials one connection per request beyond the server's stream limit and runs out "+
		"of file descriptors near N = 10 000.\n\n", bench.PerConn)
	sizes := make([]string, len(cfg.stampedeNs))
	for i, n := range cfg.stampedeNs {
		sizes[i] = fmt.Sprint(n)
	}
	sec.command("go run ./cmd/report   # in-process: bench.RunStampede for N = "+strings.Join(sizes, ", ")+
		"\ngo test -run '^TestStampede$' -stampede.max "+sizes[len(sizes)-1]+" .   # the same runs, checking the login counts", 1)

	loginAlone, err := bench.LoginTime(ctx, 9)
	if err != nil {
		return nil, nil, err
	}
	var rows, limitRows [][]string
	var points []stampedePoint
	symauthOK := true
	var worstLimit float64
	var limitRatios []float64
	for _, n := range cfg.stampedeNs {
		fmt.Fprintf(cfg.log, "report: stampede N=%d\n", n)
		base, err := bench.RunStampede(ctx, bench.ClientSymauth, n, false)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, stampedeRow(n, "baseline", base, base))
		p := stampedePoint{n: n}
		for _, client := range []string{bench.ClientSymauth, bench.ClientUncoordinated} {
			r, err := bench.RunStampede(ctx, client, n, true)
			if err != nil {
				return nil, nil, err
			}
			rows = append(rows, stampedeRow(n, client, r, base))
			if client == bench.ClientSymauth {
				p.symauth = r.Logins
				symauthOK = symauthOK && r.Logins == 1 && r.Failed == 0
				row, toLimit := stampedeLimitRow(n, r, base, loginAlone)
				limitRows = append(limitRows, row)
				if n == cfg.stampedeNs[len(cfg.stampedeNs)-1] {
					// One run of a stampede swings with the machine: the
					// verdict is the median of limitRounds pairs.
					ratios := []float64{toLimit}
					for range limitRounds - 1 {
						b, err := bench.RunStampede(ctx, bench.ClientSymauth, n, false)
						if err != nil {
							return nil, nil, err
						}
						s, err := bench.RunStampede(ctx, bench.ClientSymauth, n, true)
						if err != nil {
							return nil, nil, err
						}
						_, r := stampedeLimitRow(n, s, b, loginAlone)
						ratios = append(ratios, r)
					}
					worstLimit, limitRatios = median(ratios), ratios
				}
			} else {
				p.uncoordinated = r.Logins
			}
		}
		points = append(points, p)
	}
	sec.table([]string{"N", "client", "logins", "failed", "p50", "p99", "max", "added p50", "added p99", "added max"}, rows...)
	sec.printf("![Logins per session end](%s)\n\n", cfg.svgLink)

	sec.printf("**Against the CPU limit.** Client and server share the machine's cores, so a session end costs at "+
		"least one wave of 401 answers, one login and one wave of replays, one after the other: the replay of a "+
		"request can come no sooner than the whole 401 wave (the baseline's *max*: releasing N held requests "+
		"and answering them) plus one login alone (%s here, measured on a quiet fixture before the runs), so "+
		"that is the limit of the *added* latency. The CPU columns are the process's CPU time from the release "+
		"to the last answer: the ideal is 2× the baseline's (two waves), plus one login.\n\n", ms(loginAlone))
	sec.table([]string{"N", "added p50", "limit (baseline max + one login)", "added p50 ÷ limit", "CPU, baseline", "CPU, symauth", "CPU ÷ baseline's"}, limitRows...)
	runs := make([]string, len(limitRatios))
	for i, r := range limitRatios {
		runs[i] = ratio(r)
	}
	sec.printf("At N = %s the verdict is the median of %d pairs of runs (baseline, then symauth): %s.\n\n",
		thousands(cfg.stampedeNs[len(cfg.stampedeNs)-1]), len(limitRatios), strings.Join(runs, ", "))
	sec.check(fmt.Sprintf("stampede, N = %s: symauth's added p50 ≤ 1.3× the CPU limit", thousands(cfg.stampedeNs[len(cfg.stampedeNs)-1])),
		fmt.Sprintf("%s (median of %d runs: %s)", ratio(worstLimit), len(limitRatios), strings.Join(runs, ", ")), worstLimit <= 1.3)

	counts := make([]string, len(points))
	for i, p := range points {
		counts[i] = fmt.Sprintf("N=%s: %d", thousands(p.n), p.symauth)
	}
	sec.check("stampede: symauth makes exactly 1 login per session end at every N", strings.Join(counts, "; "), symauthOK)
	sec.targetTable()
	return sec, points, nil
}

// limitRounds is how many pairs of runs the stampede's verdict against its
// limit takes the median of, at the largest N.
const limitRounds = 5

// stampedeLimitRow is symauth's stampede r of size n against its limit,
// with base the baseline run and loginAlone one login's time; it returns the
// row and the added p50 divided by the limit.
func stampedeLimitRow(n int, r, base bench.StampedeResult, loginAlone time.Duration) ([]string, float64) {
	added := r.Percentile(50) - base.Percentile(50)
	limit := base.Max() + loginAlone
	toLimit := float64(added) / float64(limit)
	cpu := "—"
	if base.CPU > 0 {
		cpu = ratio(float64(r.CPU) / float64(base.CPU))
	}
	return []string{thousands(n), ms(added), ms(limit), ratio(toLimit), ms(base.CPU), ms(r.CPU), cpu}, toLimit
}

func stampedeRow(n int, client string, r, base bench.StampedeResult) []string {
	added := func(p float64) string { return ms(r.Percentile(p) - base.Percentile(p)) }
	addedMax := ms(r.Max() - base.Max())
	if client == "baseline" {
		added = func(float64) string { return "—" }
		addedMax = "—"
	}
	return []string{thousands(n), client, thousands(r.Logins), fmt.Sprint(r.Failed),
		ms(r.Percentile(50)), ms(r.Percentile(99)), ms(r.Max()), added(50), added(99), addedMax}
}

// stampedeTimeout bounds the in-process runs that talk to a server: the
// signature counts and the stampede.
const stampedeTimeout = 5 * time.Minute
