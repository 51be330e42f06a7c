//go:build unix

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"syscall"
	"time"
)

// listenUnix listens on a Unix socket at file, created with mode 0600 (the
// umask is narrowed while it is created, so it is never reachable by
// others, not even for an instant: call it before other goroutines create
// files). A socket left there by a proxy that was killed, which no process
// listens on any more, is replaced; any other file is left alone.
func listenUnix(file string) (net.Listener, error) {
	if err := removeStaleSocket(file); err != nil {
		return nil, fmt.Errorf("--listen unix:%s: %w", file, err)
	}
	umask := syscall.Umask(0o177)
	ln, err := net.Listen("unix", file)
	syscall.Umask(umask)
	if err != nil {
		return nil, fmt.Errorf("--listen unix:%s: %w", file, err)
	}
	return ln, nil
}

// removeStaleSocket removes file if it is a socket that refuses
// connections.
func removeStaleSocket(file string) error {
	info, err := os.Lstat(file)
	if err != nil || info.Mode().Type() != fs.ModeSocket {
		return nil // nothing there, or not a socket: Listen reports it
	}
	c, err := net.DialTimeout("unix", file, time.Second)
	if err == nil {
		c.Close()
		return errors.New("another process listens on that socket")
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return nil
	}
	return os.Remove(file)
}
