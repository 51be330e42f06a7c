package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// binary is the symauth command built once for all tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "symauth-cli-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "symauth")
	args := []string{"build", "-o", binary}
	// SYMAUTH_CLI_COVERDIR (set by .ci/run) makes the binary record its
	// coverage there, for the coverage of this package and of those it uses.
	if coverDir := os.Getenv("SYMAUTH_CLI_COVERDIR"); coverDir != "" {
		args = append(args, "-cover", "-coverpkg=github.com/symauth/symauth/...")
		os.Setenv("GOCOVERDIR", coverDir)
	}
	build := exec.Command("go", append(args, ".")...)
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the symauth command:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := 0
	func() {
		defer os.RemoveAll(dir)
		code = m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				code = 1
			}
		}
	}()
	os.Exit(code)
}

// cliTimeout bounds every run of the binary.
const cliTimeout = 60 * time.Second

// result is what a run of the binary produced.
type result struct {
	stdout, stderr string
	code           int
}

// runCLI runs the binary with args and returns its output and exit status.
func runCLI(t testing.TB, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		exitErr, ok := err.(*exec.ExitError)
		if !ok || ctx.Err() != nil {
			t.Fatalf("symauth %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
		}
		code = exitErr.ExitCode()
	}
	return result{stdout.String(), stderr.String(), code}
}

// emulator is a running "symauth emulator" process.
type emulator struct {
	url, dir string
	cmd      *exec.Cmd
	mu       sync.Mutex
	log      bytes.Buffer // its stderr
	done     chan struct{}
}

// startEmulator starts "symauth emulator --dir" on a free port and waits until
// it serves. It is stopped with SIGINT at the end of the test, which must end
// it cleanly.
func startEmulator(t testing.TB, extra ...string) *emulator {
	t.Helper()
	e := &emulator{dir: t.TempDir(), done: make(chan struct{})}
	args := append([]string{"emulator", "--addr", "127.0.0.1:0", "--dir", e.dir, "--key-bits", "2048"}, extra...)
	e.cmd = exec.Command(binary, args...)
	stderr, err := e.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	go func() {
		defer close(e.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			e.mu.Lock()
			e.log.WriteString(line + "\n")
			e.mu.Unlock()
			if rest, ok := strings.CutPrefix(line, "symauth emulator: serving on "); ok {
				ready <- strings.Fields(rest)[0]
			}
		}
	}()
	select {
	case e.url = <-ready:
	case <-e.done:
		_ = e.cmd.Wait()
		t.Fatalf("the emulator ended before serving:\n%s", e.stderr())
	case <-time.After(cliTimeout):
		_ = e.cmd.Process.Kill()
		<-e.done
		_ = e.cmd.Wait()
		t.Fatalf("the emulator did not start:\n%s", e.stderr())
	}
	t.Cleanup(func() { e.stop(t) })
	return e
}

func (e *emulator) stderr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.log.String()
}

// stop sends SIGINT and checks that the emulator ends with status 0.
func (e *emulator) stop(t testing.TB) {
	if err := e.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Errorf("signalling the emulator: %v", err)
	}
	select {
	case <-e.done:
	case <-time.After(cliTimeout):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
	if err := e.cmd.Wait(); err != nil {
		t.Errorf("the emulator did not stop cleanly on SIGINT: %v\n%s", err, e.stderr())
	}
}

func (e *emulator) file(name string) string { return filepath.Join(e.dir, name) }

// rsaFlags are the login flags for the emulator's bot with its RSA key.
func (e *emulator) rsaFlags() []string {
	return []string{"--pod", e.url, "--user", "symauth-bot", "--key", e.file("bot-private.pem"), "--ca", e.file("ca.pem")}
}

// certFlags are the login flags for the emulator's bot with its certificate.
func (e *emulator) certFlags() []string {
	return []string{"--pod", e.url, "--sessionauth", e.url, "--cert", e.file("bot.p12"), "--password", "changeit", "--ca", e.file("ca.pem")}
}
