// Package fileread reads the files a user names — keys, certificates, trust
// stores, configurations — with a bound on their size, refusing what is not a
// regular file: a named pipe would hang the read until something writes to
// it, and a device such as /dev/zero would fill the memory.
package fileread

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// The errors of Read that are not the operating system's, for errors.Is.
var (
	ErrNotRegular = errors.New("not a regular file")
	ErrTooLarge   = errors.New("file too large")
)

// Read returns the content of the regular file name, of at most max bytes.
//
// It opens name without waiting (on Unix, with O_NONBLOCK, so that opening a
// named pipe does not wait for a writer), checks with fstat that what it
// opened is a regular file, and reads at most max+1 bytes of it. A named
// pipe, a device, a socket or a directory is refused, as is a file of more
// than max bytes. The errors name the path and the limit, never the content.
func Read(name string, max int64) ([]byte, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, &readError{fmt.Sprintf("%s is not a regular file (%s)", name, kind(info.Mode())), ErrNotRegular}
	}
	if info.Size() > max {
		return nil, tooLarge(name, max)
	}
	// A file may hold more than its size says (those of /proc say 0), or
	// grow meanwhile: the read is bounded too.
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, tooLarge(name, max)
	}
	return data, nil
}

// readError is an error of Read's own: its message, and the sentinel it is.
type readError struct {
	msg  string
	kind error
}

func (e *readError) Error() string { return e.msg }
func (e *readError) Unwrap() error { return e.kind }

func tooLarge(name string, max int64) error {
	return &readError{fmt.Sprintf("%s is larger than %s", name, size(max)), ErrTooLarge}
}

// size writes n bytes in the largest binary unit that divides it.
func size(n int64) string {
	switch {
	case n > 0 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n > 0 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

// kind names what a file that is not regular is.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return "a special file"
}
