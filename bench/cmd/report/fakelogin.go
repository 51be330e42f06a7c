package main

import "fmt"

// fakeLoginGoal is issue 15's goal for the fake pod: a user's load test
// must not be bottlenecked by it.
const fakeLoginGoal = 3000

// fakeLoginSection: issue 15, the login capacity of symauthtest (and so of
// `symauth emulator`), beside the floor of one bare HTTP/2 exchange.
func fakeLoginSection(cfg config) (*section, error) {
	s, err := goTestBench(cfg.dir, "^BenchmarkFakeLoginCapacity$", cfg.capacityTime, cfg.slowRounds, cfg.log)
	if err != nil {
		return nil, err
	}
	sec := &section{title: "9. Fake pod login capacity"}
	sec.printf("How many RSA pod logins (`POST /login/pubkey/authenticate`) per second symauthtest answers, from " +
		"GOMAXPROCS×32 goroutines over one loopback TLS HTTP/2 connection, client and server in one process on the " +
		"same cores (`bench/fakelogin_test.go`). The client's share is kept small: its login JWT is signed once before " +
		"timing and sent again (the fake checks its RS512 signature, sub and exp window each time), and the answer is " +
		"read, not decoded. **floor** is a `net/http/httptest` HTTP/2 server answering a fixed login-shaped JSON: one " +
		"bare HTTP/2 POST exchange, the physical limit of this setup. **default** is symauthtest's zero `Options`, " +
		"which signs session and bearer tokens HS512 with a key of its own (clients never verify them; see " +
		"`symauthtest/tokensign.go`); **emulator** adds what `symauth emulator` sets (a `Logf` line per login, to " +
		"`io.Discard` here, and `StrictStreams`); **rs512** is `Options.RS512Tokens`, both tokens signed RS512 with " +
		"the server's RSA-2048 key like a real pod: two RSA private-key operations per login.\n\n")
	sec.command(s.command, cfg.slowRounds)
	name := func(c string) string { return "BenchmarkFakeLoginCapacity/" + c }
	var rows [][]string
	for _, c := range []string{"floor", "default", "emulator", "rs512"} {
		rows = append(rows, []string{"**" + c + "**", ns(s.median(name(c), "logins/s")),
			ratio(s.ratio(name(c), name("floor"), "logins/s")), ns(s.median(name(c), "B/op")), ns(s.median(name(c), "allocs/op"))})
	}
	sec.table([]string{"server", "logins/s", "of the floor's", "B/op", "allocs/op"}, rows...)
	for _, c := range []struct{ name, what string }{{"default", "zero Options"}, {"emulator", "the emulator's Options"}} {
		v := s.median(name(c.name), "logins/s")
		sec.check(fmt.Sprintf("fake pod login capacity, %s: ≥ %s logins/s", c.what, thousands(fakeLoginGoal)),
			fmt.Sprintf("%s logins/s, %s the floor's; RS512Tokens: %s of it", ns(v),
				s.ratioText(name(c.name), name("floor"), "logins/s"), ratio(s.ratio(name("rs512"), name(c.name), "logins/s"))),
			v >= fakeLoginGoal)
	}
	sec.targetTable()
	return sec, nil
}
