package fileread

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// failSafe bounds each Read in these tests: far above what a refusal takes,
// it turns a regression into a failure instead of a hang.
const failSafe = 10 * time.Second

// read calls Read, failing t if it has not returned within failSafe (Read
// then keeps running until the test binary exits).
func read(t *testing.T, name string, max int64) ([]byte, error) {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := Read(name, max)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-time.After(failSafe):
		t.Fatalf("Read(%s) has not returned after %v", name, failSafe)
		return nil, nil
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "credential.pem")
	if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return name
}

// wantRefusal checks err: the sentinel, the message naming the path, and
// nothing of the content.
func wantRefusal(t *testing.T, err, sentinel error, want string) {
	t.Helper()
	if !errors.Is(err, sentinel) || err.Error() != want {
		t.Fatalf("err = %v; want %q (%v)", err, want, sentinel)
	}
}

func TestReadsRegularFiles(t *testing.T) {
	for _, content := range []string{"", "-----BEGIN PRIVATE KEY-----\n", strings.Repeat("x", 1024)} {
		name := writeFile(t, content)
		data, err := read(t, name, 1024)
		if err != nil || string(data) != content {
			t.Fatalf("%d bytes: %q, %v", len(content), data, err)
		}
	}
	// Through a symbolic link too, where the system has them.
	target := writeFile(t, "linked")
	link := filepath.Join(t.TempDir(), "link")
	if os.Symlink(target, link) == nil {
		if data, err := read(t, link, 10); err != nil || string(data) != "linked" {
			t.Fatalf("symlink: %q, %v", data, err)
		}
	}
}

// A file of more than max bytes is refused without its content in the error.
func TestRefusesLargeFiles(t *testing.T) {
	const secret = "SECRET-KEY-MATERIAL"
	name := writeFile(t, secret+strings.Repeat("x", 1024))
	_, err := read(t, name, 1024)
	wantRefusal(t, err, ErrTooLarge, name+" is larger than 1 KiB")
	for max, unit := range map[int64]string{10: "10 bytes", 1: "1 byte", 0: "0 bytes"} {
		_, err := read(t, name, max)
		wantRefusal(t, err, ErrTooLarge, name+" is larger than "+unit)
	}
	if data, err := read(t, name, 4<<20); err != nil || len(data) != len(secret)+1024 {
		t.Fatalf("under 4 MiB: %d bytes, %v", len(data), err)
	}
	if got := size(4 << 20); got != "4 MiB" {
		t.Errorf("size(4 MiB) = %q", got)
	}
	// The read is bounded even where the size says less: /proc files say 0.
	if _, err := os.Stat("/proc/self/status"); err == nil {
		_, err := read(t, "/proc/self/status", 10)
		wantRefusal(t, err, ErrTooLarge, "/proc/self/status is larger than 10 bytes")
	}
}

func TestRefusesDirectories(t *testing.T) {
	dir := t.TempDir()
	_, err := read(t, dir, 1<<20)
	wantRefusal(t, err, ErrNotRegular, dir+" is not a regular file (a directory)")
}

func TestMissingFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "missing.pem")
	_, err := read(t, name, 1<<20)
	var pathErr *fs.PathError
	if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &pathErr) || pathErr.Path != name {
		t.Fatalf("err = %v", err)
	}
}

func TestKinds(t *testing.T) {
	for mode, want := range map[fs.FileMode]string{
		fs.ModeNamedPipe: "a named pipe", fs.ModeSocket: "a socket", fs.ModeDevice: "a device",
		fs.ModeDevice | fs.ModeCharDevice: "a device", fs.ModeDir: "a directory", fs.ModeIrregular: "a special file",
	} {
		if got := kind(mode); got != want {
			t.Errorf("kind(%v) = %q; want %q", mode, got, want)
		}
	}
}
