package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/symauth/symauth/symauthtest"
)

// demoEndLine matches a report line about one session end that went as it
// should: one re-login, and every request that got a 401 replayed with success.
var demoEndLine = regexp.MustCompile(`(?m)^  session end (\d+) \(after \d+ requests?\): (\d+) requests? got a 401 -> 1 re-login -> (\d+) replayed, all OK$`)

// demoTokenLike matches what a token would look like in the output: a JWT
// (the emulator's session tokens) or a long hex string (its key manager tokens).
var demoTokenLike = regexp.MustCompile(`eyJ|[0-9a-fA-F]{32,}`)

// checkDemoOK checks a run that should have succeeded with requests sent and
// sessionEnds session ends, each followed by exactly one login.
func checkDemoOK(t *testing.T, r result, requests, sessionEnds int) {
	t.Helper()
	if r.code != exitOK {
		t.Fatalf("exit status %d, want 0\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	logins := strconv.Itoa(1 + sessionEnds)
	for _, want := range []string{
		"  requests   " + strconv.Itoa(requests) + " sent, 0 failed\n",
		"  logins     " + logins + " (pod) + " + logins + " (key manager): 1 first login + 1 per session end\n",
		"  latency    p50 ",
		"  took       ",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	ends := demoEndLine.FindAllStringSubmatch(r.stdout, -1)
	if len(ends) != sessionEnds {
		t.Fatalf("%d good session end lines, want %d:\n%s", len(ends), sessionEnds, r.stdout)
	}
	for k, m := range ends {
		if m[1] != strconv.Itoa(k+1) || m[2] != m[3] || m[2] == "0" {
			t.Errorf("session end line %q: want end %d, with as many requests replayed as got a 401 (at least 1)", m[0], k+1)
		}
	}
	checkDemoNoToken(t, r)
}

// checkDemoNoToken checks that nothing token-like was printed.
func checkDemoNoToken(t *testing.T, r result) {
	t.Helper()
	if m := demoTokenLike.FindString(r.stdout + r.stderr); m != "" {
		t.Errorf("the output holds something token-like: %q\nstdout:\n%s\nstderr:\n%s", m, r.stdout, r.stderr)
	}
}

// TestDemo runs "symauth demo" as the README shows it.
func TestDemo(t *testing.T) {
	start := time.Now()
	r := runCLI(t, "demo")
	took := time.Since(start)
	checkDemoOK(t, r, 4000, 2)
	for _, want := range []string{
		"symauth demo: 4000 requests (pod reads, agent reads, message posts) from 64 goroutines\n",
		"session end 1 (after 1333 requests)",
		"session end 2 (after 2666 requests)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if r.stderr != "" {
		t.Errorf("stderr is not empty:\n%s", r.stderr)
	}
	if took > 10*time.Second {
		t.Errorf("the demo took %s; it should take well under 10 s", took)
	}
	t.Logf("symauth demo took %s:\n%s", took.Round(time.Millisecond), r.stdout)
}

// TestDemoFlags runs the demo with other sizes.
func TestDemoFlags(t *testing.T) {
	tests := []struct {
		args                  []string
		requests, sessionEnds int
	}{
		{[]string{"-requests", "500", "-workers", "16", "-session-ends", "3"}, 500, 3},
		{[]string{"--requests=200", "--workers=1", "--session-ends=1"}, 200, 1},
		{[]string{"-requests", "300", "-session-ends", "0"}, 300, 0},
		{[]string{"-requests", "100"}, 100, 2},
		{[]string{"-requests", "10", "-session-ends", "9"}, 10, 9},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, append([]string{"demo"}, tt.args...)...)
			checkDemoOK(t, r, tt.requests, tt.sessionEnds)
			if r.stderr != "" {
				t.Errorf("stderr is not empty:\n%s", r.stderr)
			}
		})
	}
}

// TestDemoFlagErrors checks that bad flags end with status 2 and a message
// naming the flag.
func TestDemoFlagErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-requests", "0"}, "symauth demo: --requests 0: give 1 to 1000000"},
		{[]string{"-requests", "1000001"}, "symauth demo: --requests 1000001: give 1 to 1000000"},
		{[]string{"-workers", "0"}, "symauth demo: --workers 0: give 1 to 10000"},
		{[]string{"-workers", "-3"}, "symauth demo: --workers -3: give 1 to 10000"},
		{[]string{"-session-ends", "-1"}, "symauth demo: --session-ends -1: must not be negative"},
		{[]string{"-requests", "5", "-session-ends", "5"}, "symauth demo: --session-ends 5: must be less than --requests (5)"},
		{[]string{"-requests", "many"}, `invalid value "many" for flag -requests`},
		{[]string{"-bogus"}, "flag provided but not defined: -bogus"},
		{[]string{"extra"}, `symauth demo: unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := runCLI(t, append([]string{"demo"}, tt.args...)...)
			if r.code != exitUsage {
				t.Errorf("exit status %d, want %d", r.code, exitUsage)
			}
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout is not empty:\n%s", r.stdout)
			}
		})
	}
}

// TestDemoHelp checks that "symauth demo -h" documents the flags.
func TestDemoHelp(t *testing.T) {
	for _, args := range [][]string{{"demo", "-h"}, {"help", "demo"}} {
		r := runCLI(t, args...)
		if r.code != exitOK {
			t.Errorf("symauth %s: exit status %d, want 0", strings.Join(args, " "), r.code)
		}
		help := r.stdout + r.stderr
		for _, want := range []string{
			"Usage: symauth demo [flags]",
			"symauth.NewTransport",
			"-requests N", "(default 4000)",
			"-workers N", "(default 64)",
			"-session-ends N", "(default 2)",
		} {
			if !strings.Contains(help, want) {
				t.Errorf("symauth %s: the help lacks %q:\n%s", strings.Join(args, " "), want, help)
			}
		}
	}
}

// TestDemoInterrupt sends SIGINT to a demo that has just begun a long run:
// it must stop at once, report what it did, and say that it was interrupted.
func TestDemoInterrupt(t *testing.T) {
	cmd := exec.Command(binary, "demo", "-requests", "1000000", "-workers", "64", "-session-ends", "5")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := bufio.NewReader(stdout)
	header, err := out.ReadString('\n') // printed when the requests begin
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("reading the demo's first line: %v\nstderr:\n%s", err, stderr.String())
	}
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(out)
	err = cmd.Wait()
	took := time.Since(start)

	r := result{stdout: header + string(rest), stderr: stderr.String()}
	if exitErr, ok := err.(*exec.ExitError); ok {
		r.code = exitErr.ExitCode()
	}
	if r.code != exitFail {
		t.Errorf("exit status %d (%v), want %d", r.code, err, exitFail)
	}
	if !regexp.MustCompile(`^symauth demo: interrupted after \d+ of 1000000 requests\n$`).MatchString(r.stderr) {
		t.Errorf("stderr should say only that the demo was interrupted:\n%s", r.stderr)
	}
	if !regexp.MustCompile(`(?m)^  requests   \d+ sent, 0 failed`).MatchString(r.stdout) {
		t.Errorf("the report lacks the requests line, with none failed:\n%s", r.stdout)
	}
	if took > 5*time.Second {
		t.Errorf("the demo took %s to stop after SIGINT", took)
	}
	checkDemoNoToken(t, r)
}

// TestDemoInProcess runs the demo inside the test, to check that it leaves no
// goroutine behind.
func TestDemoInProcess(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out, errOut bytes.Buffer
	code := runDemo(context.Background(), []string{"-requests", "300", "-workers", "8"}, &out, &errOut)
	checkDemoOK(t, result{out.String(), errOut.String(), code}, 300, 2)
}

// TestDemoInterruptedDuringLogin cancels the demo's context while symauth
// logs in again after the first session end: the demo must stop, count the
// requests cut short apart from failures, and wait for the login, which runs
// detached, before it closes the emulator.
func TestDemoInterruptedDuringLogin(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfg := demoConfig{requests: 4000, workers: 16, sessionEnds: 3}
	env, err := startDemoEnv(cfg.workers)
	if err != nil {
		t.Fatal(err)
	}
	reached, hold := make(chan struct{}, 1), make(chan struct{})
	env.srv.InjectFault(symauthtest.PathRelay, symauthtest.Fault{Times: 1}) // the first login: untouched
	env.srv.InjectFault(symauthtest.PathRelay, symauthtest.Fault{Times: 1, Reached: reached, Hold: hold})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		select {
		case <-reached:
			cancel()
			close(hold)
		case <-done:
		}
	}()

	res := runDemoLoad(ctx, env, cfg)
	close(done)
	env.close()

	if !res.interrupted || res.cancelled == 0 || res.failed != 0 || len(res.ends) != 1 {
		t.Errorf("interrupted %v, %d cut short, %d failed, %d session ends; want true, some, 0, 1",
			res.interrupted, res.cancelled, res.failed, len(res.ends))
	}
	if err := res.verdict(); err == nil || !strings.HasPrefix(err.Error(), "interrupted after ") {
		t.Errorf("verdict: %v, want interrupted", err)
	}
	if n := env.srv.Calls(symauthtest.PathRelay); n != 2 {
		t.Errorf("%d key manager logins, want 2: the first, and the one the interrupt caught", n)
	}
}
