package main

import (
	"bufio"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a running symauth command whose stderr lines a test can wait for
// (startEmulator's emulator only collects them).
type proc struct {
	name string // the command, e.g. "emulator"
	cmd  *exec.Cmd
	done chan struct{} // closed when stderr ends

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed, and replaced, at each new line and at the end
	ended   bool

	stopOnce sync.Once
}

// emuProc is a running "symauth emulator".
type emuProc struct {
	*proc
	url string
}

// startEmu runs "symauth emulator args…" and waits until it serves. It is
// stopped with SIGINT at the end of the test, unless stop was called before.
func startEmu(t testing.TB, args ...string) *emuProc {
	t.Helper()
	p, line := startProc(t, "emulator", "symauth emulator: serving on ", args...)
	return &emuProc{proc: p, url: strings.Fields(line)[0]}
}

// startProc runs "symauth name args…" and waits for its stderr line
// holding ready; it returns what follows ready on that line. The process is
// stopped with SIGINT at the end of the test, unless stop was called
// before.
func startProc(t testing.TB, name, ready string, args ...string) (*proc, string) {
	t.Helper()
	e := &proc{name: name, changed: make(chan struct{}), done: make(chan struct{})}
	e.cmd = exec.Command(binary, append([]string{name}, args...)...)
	stderr, err := e.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(e.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			e.mu.Lock()
			e.lines = append(e.lines, sc.Text())
			close(e.changed)
			e.changed = make(chan struct{})
			e.mu.Unlock()
		}
		e.mu.Lock()
		e.ended = true
		close(e.changed)
		e.mu.Unlock()
	}()
	t.Cleanup(func() { e.stop(t) })
	_, line := e.waitFor(t, 0, ready)
	_, rest, _ := strings.Cut(line, ready)
	return e, rest
}

// waitFor waits for a line of stderr containing substr, from line number
// from on, and returns its number and the line. It fails the test if the
// process ends or 20 s pass first.
func (e *proc) waitFor(t testing.TB, from int, substr string) (int, string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		e.mu.Lock()
		for i := from; i < len(e.lines); i++ {
			if strings.Contains(e.lines[i], substr) {
				line := e.lines[i]
				e.mu.Unlock()
				return i, line
			}
		}
		from = max(from, len(e.lines))
		ended, changed := e.ended, e.changed
		e.mu.Unlock()
		if ended {
			t.Fatalf("symauth %s ended without writing %q:\n%s", e.name, substr, e.stderr())
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("symauth %s did not write %q within 20 s:\n%s", e.name, substr, e.stderr())
		}
	}
}

func (e *proc) stderr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.lines, "\n")
}

// stop sends SIGINT and checks that the process ends with status 0.
func (e *proc) stop(t testing.TB) {
	if err := e.end(t, syscall.SIGINT); err != nil {
		t.Errorf("symauth %s did not stop cleanly on SIGINT: %v\n%s", e.name, err, e.stderr())
	}
}

// end sends sig (unless it is nil: the test has signalled already), waits
// for the process to end (killing it after cliTimeout) and returns what Wait
// returned. Only the first call of end or stop does that: later ones return
// nil.
func (e *proc) end(t testing.TB, sig os.Signal) error {
	var err error
	e.stopOnce.Do(func() {
		if sig != nil {
			if err := e.cmd.Process.Signal(sig); err != nil {
				t.Errorf("signalling symauth %s: %v", e.name, err)
			}
		}
		select {
		case <-e.done:
		case <-time.After(cliTimeout):
			_ = e.cmd.Process.Kill()
			<-e.done
		}
		err = e.cmd.Wait()
	})
	return err
}

// newKeyPair makes an RSA key, writes its public half into dir as
// NAME-public.pem, and returns the key and that file's path.
func newKeyPair(t testing.TB, dir, name string) (*rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pub := filepath.Join(dir, name+"-public.pem")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return key, pub
}

// trustingClient is an HTTP client trusting only the CA in caFile; its idle
// connections are closed at the end of the test.
func trustingClient(t testing.TB, caFile string) *http.Client {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(readFile(t, caFile)) {
		t.Fatalf("%s: no certificate", caFile)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}
