//go:build unix

package fileread

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A named pipe with no writer is refused at once: opening it does not wait
// for one, and it is not a regular file.
func TestRefusesNamedPipes(t *testing.T) {
	name := filepath.Join(t.TempDir(), "key.pem")
	if err := syscall.Mkfifo(name, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	_, err := read(t, name, 4<<20)
	wantRefusal(t, err, ErrNotRegular, name+" is not a regular file (a named pipe)")
}

// /dev/zero is refused without a byte read: it would never end.
func TestRefusesDevices(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skipf("no /dev/zero: %v", err)
	}
	_, err := read(t, "/dev/zero", 4<<20)
	wantRefusal(t, err, ErrNotRegular, "/dev/zero is not a regular file (a device)")
}
