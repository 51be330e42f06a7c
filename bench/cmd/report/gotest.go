package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// result is one benchmark line: unit ("ns/op", "B/op", "req/s" …) → value.
type result map[string]float64

// benchRun is the parsed output of one go test run: benchmark name, without its
// -GOMAXPROCS suffix → result.
type benchRun map[string]result

// suite is the same go test command run several times (rounds), so that
// medians ride out a noisy machine.
type suite struct {
	command string // as a user would type it, from bench/
	runs    []benchRun
}

// goTestBench runs `go test -run '^$' -bench pattern -benchmem -count 1
// -benchtime benchtime .` rounds times in dir and parses each output.
func goTestBench(dir, pattern, benchtime string, rounds int, log io.Writer) (suite, error) {
	args := []string{"test", "-run", "^$", "-bench", pattern, "-benchmem", "-count", "1", "-benchtime", benchtime, "."}
	s := suite{command: "go test -run '^$' -bench '" + pattern + "' -benchmem -count 1 -benchtime " + benchtime + " ."}
	for i := range rounds {
		fmt.Fprintf(log, "report: round %d/%d: %s\n", i+1, rounds, s.command)
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			return suite{}, fmt.Errorf("%s: %w\n%s", s.command, err, out)
		}
		r := parseBench(bytes.NewReader(out))
		if len(r) == 0 {
			return suite{}, fmt.Errorf("%s: no benchmark results in:\n%s", s.command, out)
		}
		s.runs = append(s.runs, r)
	}
	return s, nil
}

// parseBench reads the benchmark lines of go test's output:
//
//	BenchmarkWarm/serial/stub-2   26533064   42.08 ns/op   144 B/op   1 allocs/op
//
// Other lines are skipped.
func parseBench(r io.Reader) benchRun {
	out := benchRun{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || len(f)%2 != 0 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		res := result{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				res = nil
				break
			}
			res[f[i+1]] = v
		}
		if res != nil {
			out[name] = res
		}
	}
	return out
}

// median returns the median over the rounds of name's unit; 0 if absent.
func (s suite) median(name, unit string) float64 {
	var vs []float64
	for _, r := range s.runs {
		if v, ok := r[name][unit]; ok {
			vs = append(vs, v)
		}
	}
	return median(vs)
}

// ratios returns, for each round, a's unit divided by b's in the same round,
// after subtracting base's from both when base is not "" (what a and b add to
// base). Rounds are seconds apart: a busy moment of the machine tends to hit
// both sides of a ratio, and the median of the ratios rides it out.
func (s suite) ratios(a, b, base, unit string) []float64 {
	var vs []float64
	for _, r := range s.runs {
		x, y := r[a][unit], r[b][unit]
		if base != "" {
			x, y = x-r[base][unit], y-r[base][unit]
		}
		if y != 0 {
			vs = append(vs, x/y)
		}
	}
	return vs
}

// ratio is the median of ratios(a, b, "", unit).
func (s suite) ratio(a, b, unit string) float64 { return median(s.ratios(a, b, "", unit)) }

// ratioText is ratio with the middle half of the rounds' ratios:
// "0.52× (runs: 0.50–0.55)".
func (s suite) ratioText(a, b, unit string) string {
	vs := s.ratios(a, b, "", unit)
	if len(vs) < 4 {
		return fmt.Sprintf("%.2f×", median(vs))
	}
	return fmt.Sprintf("%.2f× (middle half of the runs: %.2f–%.2f)", median(vs), quantile(vs, 0.25), quantile(vs, 0.75))
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	vs = slices.Sorted(slices.Values(vs))
	if n := len(vs); n%2 == 0 {
		return (vs[n/2-1] + vs[n/2]) / 2
	}
	return vs[len(vs)/2]
}

// quantile returns the q-quantile (0 ≤ q ≤ 1) of vs by linear interpolation.
func quantile(vs []float64, q float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	vs = slices.Sorted(slices.Values(vs))
	pos := q * float64(len(vs)-1)
	i := int(pos)
	if i+1 >= len(vs) {
		return vs[len(vs)-1]
	}
	return vs[i] + (pos-float64(i))*(vs[i+1]-vs[i])
}
