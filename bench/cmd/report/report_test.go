package main

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestParseBench(t *testing.T) {
	out := `goos: linux
BenchmarkWarm/serial/stub-2         	26533064	        42.08 ns/op	     144 B/op	       1 allocs/op
some log line
BenchmarkE2E/symauth-2      	   58518	     20663 ns/op	         0 new-conns	     48444 req/s
BenchmarkStampede/symauth/n=10-2 	       1	1164437370 ns/op	         1.000 logins/op
PASS
`
	r := parseBench(strings.NewReader(out))
	if got := r["BenchmarkWarm/serial/stub"]["ns/op"]; got != 42.08 {
		t.Errorf("stub ns/op = %v", got)
	}
	if got := r["BenchmarkE2E/symauth"]["req/s"]; got != 48444 {
		t.Errorf("symauth req/s = %v", got)
	}
	if got := r["BenchmarkStampede/symauth/n=10"]["logins/op"]; got != 1 {
		t.Errorf("logins/op = %v", got)
	}
	if len(r) != 3 {
		t.Errorf("%d results, want 3: %v", len(r), r)
	}
}

func TestSuiteMedianAndRatio(t *testing.T) {
	s := suite{runs: []benchRun{
		{"a": {"ns/op": 100}, "b": {"ns/op": 200}},
		{"a": {"ns/op": 300}, "b": {"ns/op": 400}},
		{"a": {"ns/op": 50}, "b": {"ns/op": 200}},
	}}
	if got := s.median("a", "ns/op"); got != 100 {
		t.Errorf("median = %v, want 100", got)
	}
	if got := s.ratio("a", "b", "ns/op"); got != 0.5 { // ratios 0.5, 0.75, 0.25
		t.Errorf("ratio = %v, want 0.5", got)
	}
}

func TestQuantile(t *testing.T) {
	vs := []float64{4, 1, 3, 2, 5}
	for q, want := range map[float64]float64{0: 1, 0.25: 2, 0.5: 3, 0.75: 4, 1: 5, 0.125: 1.5} {
		if got := quantile(vs, q); got != want {
			t.Errorf("quantile(%v) = %v, want %v", q, got, want)
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1 000", 1000000: "1 000 000", -12345: "-12 345"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestLoginsChartIsWellFormedSVG(t *testing.T) {
	svg := loginsChart([]stampedePoint{{10, 1, 10}, {100, 1, 100}, {1000, 1, 1000}, {10000, 1, 10000}})
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
	}
	for _, want := range []string{"<svg", "10 000", "symauth", "uncoordinated"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
}
