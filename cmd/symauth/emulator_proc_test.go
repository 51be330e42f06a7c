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

// emuProc is a running "symauth emulator" whose stderr lines a test can wait
// for (startEmulator's emulator only collects them).
type emuProc struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{} // closed when stderr ends

	mu      sync.Mutex
	lines   []string
	changed chan struct{} // closed, and replaced, at each new line and at the end
	ended   bool

	stopOnce sync.Once
}

// startEmu runs "symauth emulator args…" and waits until it serves. It is
// stopped with SIGINT at the end of the test, unless stop was called before.
func startEmu(t testing.TB, args ...string) *emuProc {
	t.Helper()
	e := &emuProc{changed: make(chan struct{}), done: make(chan struct{})}
	e.cmd = exec.Command(binary, append([]string{"emulator"}, args...)...)
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
	_, line := e.waitFor(t, 0, "symauth emulator: serving on ")
	e.url = strings.Fields(strings.TrimPrefix(line, "symauth emulator: serving on "))[0]
	return e
}

// waitFor waits for a line of stderr containing substr, from line number
// from on, and returns its number and the line. It fails the test if the
// emulator ends or 20 s pass first.
func (e *emuProc) waitFor(t testing.TB, from int, substr string) (int, string) {
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
			t.Fatalf("the emulator ended without writing %q:\n%s", substr, e.stderr())
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("the emulator did not write %q within 20 s:\n%s", substr, e.stderr())
		}
	}
}

func (e *emuProc) stderr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return strings.Join(e.lines, "\n")
}

// stop sends SIGINT and checks that the emulator ends with status 0.
func (e *emuProc) stop(t testing.TB) {
	e.stopOnce.Do(func() {
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
	})
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
