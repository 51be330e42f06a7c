//go:build !unix

package main

import (
	"errors"
	"net"
)

// listenUnix refuses: a socket readable by its owner only is made on Unix
// systems.
func listenUnix(file string) (net.Listener, error) {
	return nil, errors.New("--listen unix:" + file + ": Unix sockets are supported on Unix systems only; listen on 127.0.0.1:PORT")
}
