package main

import (
	"context"
	"fmt"
	"time"

	"github.com/symauth/symauth/bench"
)

// signingSection: issue item 5, the cost of a signature and how many a
// login makes.
func signingSection(ctx context.Context, cfg config) (*section, error) {
	s, err := goTestBench(cfg.dir, "^Benchmark(Sign|Login)$", cfg.signTime, cfg.slowRounds, cfg.log)
	if err != nil {
		return nil, err
	}
	counts, err := bench.CountSignatures(ctx, 1000)
	if err != nil {
		return nil, err
	}
	sec := &section{title: "5. Login cost: JWT signing"}
	sec.printf("`BenchmarkSign` signs one login JWT (RS512: SHA-512 and RSASSA-PKCS1-v1_5, what symauth asks of " +
		"its `crypto.Signer`); `BenchmarkLogin` is a whole symauth RSA login against symauthtest on loopback " +
		"(the JWT, both calls, the server's checks and the session token it signs) (`bench/signing_test.go`).\n\n")
	sec.command(s.command, cfg.slowRounds)
	var rows [][]string
	for _, bits := range []string{"2048", "4096"} {
		rows = append(rows, []string{bits + "-bit RSA",
			ms(time.Duration(s.median("BenchmarkSign/"+bits, "ns/op"))),
			ms(time.Duration(s.median("BenchmarkLogin/"+bits, "ns/op")))})
	}
	sec.table([]string{"key", "one JWT signature", "one whole login"}, rows...)

	sec.printf("Signatures counted by a `crypto.Signer` wrapper (`bench.CountSignatures`, run in-process; "+
		"`TestOneSignaturePerLogin` checks the same): one request through a fresh `Transport` logs in, which calls "+
		"the pod and the key manager; then %d requests run on the cached token.\n\n", counts.Requests)
	sec.table([]string{"", "login calls", "signatures"},
		[]string{"first request (login)", fmt.Sprint(counts.LoginCalls), fmt.Sprint(counts.LoginSignatures)},
		[]string{fmt.Sprintf("next %s requests", thousands(counts.Requests)), "0", fmt.Sprint(counts.RequestSignatures)})
	sec.check("one signature per login (a login of 2 calls)",
		fmt.Sprintf("%d signature(s) for %d calls", counts.LoginSignatures, counts.LoginCalls),
		counts.LoginSignatures == 1 && counts.LoginCalls == 2)
	sec.check(fmt.Sprintf("no signature per request (%s requests, token cached)", thousands(counts.Requests)),
		fmt.Sprint(counts.RequestSignatures), counts.RequestSignatures == 0)
	sec.targetTable()
	return sec, nil
}
