// Command report runs symauth's benchmark suite and writes BENCHMARKS.md at
// the repository root, with a chart of the stampede (docs/stampede.svg)
// that the README can link to.
//
// Run it from the bench module:
//
//	cd bench
//	go run ./cmd/report          # the full suite, a few minutes
//	go run ./cmd/report -quick -out /tmp/b.md -svg /tmp/b.svg   # a fast check of the tool
//
// The comparisons that are Go benchmarks (warm path, re-login, end to end,
// signing, the fake pod's login capacity) run as `go test -bench`
// subprocesses, several rounds each, and their medians are reported; the
// stampede, the signature counts and the memory figures run in this
// process, through package bench.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// config is what every section needs.
type config struct {
	dir          string // the bench module's directory, where go test runs
	rounds       int    // go test runs of the warm path and end-to-end comparisons
	slowRounds   int    // go test runs of the re-login, signing and fake login capacity benchmarks
	benchtime    string // -benchtime of the warm path benchmarks
	e2eTime      string // -benchtime of the end-to-end benchmark
	loginTime    string // -benchtime of the re-login benchmark
	signTime     string // -benchtime of the signing benchmarks
	capacityTime string // -benchtime of the fake pod's login capacity
	coldTime     string // -benchtime of the cold start benchmark
	stampedeNs   []int
	requests     int    // requests of the memory growth check
	svgLink      string // the chart's path relative to the Markdown file
	log          io.Writer
}

func main() {
	out := flag.String("out", "", "Markdown file to write (default: BENCHMARKS.md at the repository root)")
	svg := flag.String("svg", "", "SVG chart to write (default: docs/stampede.svg at the repository root)")
	rounds := flag.Int("rounds", 15, "go test runs of the warm path and end-to-end comparisons (medians are reported); re-login, signing and the fake's login capacity run a third as often")
	maxN := flag.Int("max-n", 10_000, "largest stampede N: 10, 100 … up to it")
	requests := flag.Int("requests", 1_000_000, "requests of the memory growth check")
	quick := flag.Bool("quick", false, "a small, fast run to check the tool: 1 round, short benchtimes, N up to 100, 10 000 requests")
	flag.Parse()

	cfg := config{rounds: *rounds, slowRounds: max(*rounds/3, 1), benchtime: "200ms", e2eTime: "1s",
		loginTime: "20x", signTime: "500ms", coldTime: "100x", capacityTime: "1s", requests: *requests, log: os.Stderr}
	if *quick {
		cfg.rounds, cfg.slowRounds, cfg.benchtime, cfg.e2eTime, cfg.loginTime, cfg.signTime, cfg.coldTime = 1, 1, "50ms", "100ms", "2x", "50ms", "5x"
		cfg.requests, *maxN = 10_000, min(*maxN, 100)
		cfg.capacityTime = "100ms"
	}
	for n := 10; n <= *maxN; n *= 10 {
		cfg.stampedeNs = append(cfg.stampedeNs, n)
	}
	if err := run(cfg, *out, *svg); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(cfg config, out, svg string) error {
	start := time.Now()
	dir, err := benchModuleDir()
	if err != nil {
		return err
	}
	cfg.dir = dir
	root := filepath.Dir(dir)
	if out == "" {
		out = filepath.Join(root, "BENCHMARKS.md")
	}
	if svg == "" {
		svg = filepath.Join(root, "docs", "stampede.svg")
	}
	if cfg.svgLink, err = filepath.Rel(filepath.Dir(out), svg); err != nil {
		cfg.svgLink = svg
	}
	cfg.svgLink = filepath.ToSlash(cfg.svgLink)
	if len(cfg.stampedeNs) == 0 {
		return errors.New("-max-n must be at least 10")
	}
	m := describeMachine()

	// Memory first, while this process is quiet; then the subprocesses;
	// then the stampede, the longest.
	mem, err := memorySection(cfg)
	if err != nil {
		return err
	}
	warm, err := warmSection(cfg)
	if err != nil {
		return err
	}
	relogin, err := reloginSection(cfg)
	if err != nil {
		return err
	}
	e2e, err := e2eSection(cfg)
	if err != nil {
		return err
	}
	cold, err := coldStartSection(cfg)
	if err != nil {
		return err
	}
	proxy, err := proxySection(cfg)
	if err != nil {
		return err
	}
	fakeLogin, err := fakeLoginSection(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), stampedeTimeout)
	defer cancel()
	signing, err := signingSection(ctx, cfg)
	if err != nil {
		return err
	}
	stampede, points, err := stampedeSection(ctx, cfg)
	if err != nil {
		return err
	}

	doc := document(m, cfg, time.Since(start), []*section{warm, stampede, relogin, e2e, signing, mem, cold, proxy, fakeLogin})
	if err := os.MkdirAll(filepath.Dir(svg), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(svg, []byte(loginsChart(points)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(out, []byte(doc), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(cfg.log, "report: wrote %s and %s in %s\n", out, svg, time.Since(start).Round(time.Second))
	return nil
}

// benchModuleDir returns the directory of the module github.com/symauth/symauth/bench,
// which must be the current one.
func benchModuleDir() (string, error) {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	path := strings.TrimSpace(string(gomod))
	data, err := os.ReadFile(path)
	if err != nil || !strings.HasPrefix(string(data), "module github.com/symauth/symauth/bench\n") {
		return "", errors.New("run the report from the bench module: cd bench && go run ./cmd/report")
	}
	return filepath.Dir(path), nil
}

// times says how many times: "once", "5 times".
func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// document assembles BENCHMARKS.md.
func document(m machine, cfg config, took time.Duration, sections []*section) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\n<!-- Generated by `cd bench && go run ./cmd/report`: do not edit, run it again. -->\n\n")
	fmt.Fprintf(&b, "symauth against its peers, on the measurements of issue 5. Generated on %s by "+
		"`cd bench && go run ./cmd/report` in %s; the benchmarks live in `bench/`, a module of its own so that "+
		"the peers (golang.org/x/oauth2 v0.35.0 …) never become dependencies of symauth.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second))
	fmt.Fprintf(&b, "| machine | |\n|---|---|\n| CPU | %s, %d logical cores (GOMAXPROCS %d) |\n| Go | %s, %s |\n"+
		"| load average when the report started (1, 5, 15 min) | %s |\n\n", m.cpu, m.cores, m.gomaxprocs, m.goVersion, m.platform, m.load)
	fmt.Fprintf(&b, "This machine is shared and noisy (other work ran on it at times). So every comparison that is a "+
		"Go benchmark runs as many short `go test` runs (the warm path and end to end %s, re-login, signing and the fake pod's login capacity %s): "+
		"the tables show medians, and each ratio is the median of the ratios within a run, whose two sides ran "+
		"within a second of each other; the middle half of the runs' ratios shows the spread. CI runs every "+
		"benchmark once (`go test -run '^$' -bench . -benchtime=1x ./...` in `bench/`) so that none can rot.\n\n",
		times(cfg.rounds), times(cfg.slowRounds))

	b.WriteString("## Summary\n\n| | target | measured | verdict |\n|---|---|---|---|\n")
	for _, s := range sections {
		num, _, _ := strings.Cut(s.title, ".")
		for _, t := range s.targets {
			fmt.Fprintf(&b, "| %s | %s | %s | **%s** |\n", num, t.what, t.measured, verdict(t.ok))
		}
	}
	b.WriteString("\n")
	for _, s := range sections {
		fmt.Fprintf(&b, "## %s\n\n%s", s.title, s.md.String())
	}
	return b.String()
}
