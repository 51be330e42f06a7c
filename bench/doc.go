// Package bench measures symauth against its peers: golang.org/x/oauth2's
// Transport on the warm path, a client that refreshes on every 401 the way
// the official Symphony SDKs do, the SDKs' sequential two-call login, and a
// bare http.Transport end to end.
//
// It is a module of its own (github.com/symauth/symauth/bench), so that the
// peers never become dependencies of symauth. The benchmarks live in the
// _test.go files, one comparison per file; the in-process measurements that
// are not benchmarks (the 401 stampede, signatures per login, retained
// memory) are functions of this package, used by both the tests and
// cmd/report, which runs everything and writes BENCHMARKS.md at the
// repository root:
//
//	cd bench
//	go test ./...                                      # quick: small stampedes only
//	go test -run '^$' -bench . -benchtime=1x ./...     # every benchmark once, as CI does
//	go run ./cmd/report                                # the full suite -> ../BENCHMARKS.md
package bench
