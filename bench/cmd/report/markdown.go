package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// section is one part of BENCHMARKS.md: its Markdown and the targets it
// checked, which the summary repeats.
type section struct {
	title   string
	md      strings.Builder
	targets []target
}

// target is one goal of the issue and how the measurement fared.
type target struct {
	what     string
	measured string
	ok       bool
}

func (s *section) printf(format string, args ...any) { fmt.Fprintf(&s.md, format, args...) }

// command shows the command that produced the section's numbers.
func (s *section) command(cmd string, rounds int) {
	s.printf("```sh\ncd bench\n%s", cmd)
	if rounds > 1 {
		s.printf("   # run %d times: medians, and medians of the per-run ratios", rounds)
	}
	s.printf("\n```\n\n")
}

// table writes a Markdown table.
func (s *section) table(header []string, rows ...[]string) {
	s.printf("| %s |\n|", strings.Join(header, " | "))
	for range header {
		s.printf("---|")
	}
	s.printf("\n")
	for _, r := range rows {
		s.printf("| %s |\n", strings.Join(r, " | "))
	}
	s.printf("\n")
}

// check records a target and returns its verdict.
func (s *section) check(what, measured string, ok bool) string {
	s.targets = append(s.targets, target{what: what, measured: measured, ok: ok})
	return verdict(ok)
}

// targetTable lists the section's targets.
func (s *section) targetTable() {
	rows := make([][]string, len(s.targets))
	for i, t := range s.targets {
		rows[i] = []string{t.what, t.measured, "**" + verdict(t.ok) + "**"}
	}
	s.table([]string{"target", "measured", "verdict"}, rows...)
}

func verdict(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// Number formats.

func ns(v float64) string    { return fmt.Sprintf("%.0f", v) }
func ratio(v float64) string { return fmt.Sprintf("%.2f×", v) }
func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// thousands writes n with a space between groups of three digits: 10 000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + " " + s[i:]
	}
	return s
}
