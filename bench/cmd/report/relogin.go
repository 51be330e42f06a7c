package main

import "time"

// reloginSection: issue item 3, one login when pod and key manager each
// take 50 ms.
func reloginSection(cfg config) (*section, error) {
	s, err := goTestBench(cfg.dir, "^BenchmarkRelogin$", cfg.loginTime, cfg.slowRounds, cfg.log)
	if err != nil {
		return nil, err
	}
	sec := &section{title: "3. Re-login latency: pod and key manager at 50 ms each"}
	sec.printf("One login against symauthtest with `Fault{Delay: 50ms}` on `/login/pubkey/authenticate` and " +
		"`/relay/pubkey/authenticate` (`bench/relogin_test.go`): symauth's `RSA.Token` (one JWT, both calls at " +
		"once) against the sequential login of the official SDKs (sign, POST the pod, then POST the key manager; " +
		"`bench/sequential.go`, which signs once where the SDKs sign per call, in the peer's favour). The ideal " +
		"ratio is 0.5. `TestLoginCallsOverlap` shows the overlap without timing: the key manager call reaches the " +
		"server while the pod call is held there.\n\n")
	sec.command(s.command, cfg.slowRounds)
	sym := s.median("BenchmarkRelogin/symauth", "ns/op")
	seq := s.median("BenchmarkRelogin/sequential", "ns/op")
	sec.table([]string{"login", "time per login"},
		[]string{"symauth (concurrent calls)", ms(time.Duration(sym))},
		[]string{"sequential (official SDKs)", ms(time.Duration(seq))})
	r := s.ratio("BenchmarkRelogin/symauth", "BenchmarkRelogin/sequential", "ns/op")
	sec.check("re-login: symauth ≤ 0.6× the sequential login", s.ratioText("BenchmarkRelogin/symauth", "BenchmarkRelogin/sequential", "ns/op"), r <= 0.6)
	sec.targetTable()
	return sec, nil
}
