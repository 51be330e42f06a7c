package main

import (
	"fmt"
	"net"
	"strings"
)

// refusedListen explains why the proxy listens only on loopback or a Unix
// socket.
const refusedListen = "the proxy adds the bot's tokens to every request it gets, so whoever reaches it acts as the bot: " +
	"listen on a loopback address (127.0.0.1:PORT, [::1]:PORT, localhost:PORT) or a Unix socket (unix:/PATH), " +
	"and give the bot's process access to it"

// checkListen checks addr, the --listen flag: a loopback HOST:PORT (port 0
// picks a free one; HOST is localhost or a literal loopback IP), or
// unix:PATH. Any other address is refused, and so is a Linux abstract
// socket (unix:@NAME), which has no file mode: the error says why.
func checkListen(addr string) error {
	if file, ok := strings.CutPrefix(addr, "unix:"); ok {
		switch {
		case file == "":
			return fmt.Errorf("--listen %s: want unix:PATH, e.g. unix:/run/symauth.sock", addr)
		case strings.HasPrefix(file, "@"):
			return fmt.Errorf("--listen %q: unix:@NAME is a Linux abstract socket: it has no file, so no mode, "+
				"and every process of every user in the network namespace can connect to it and act as the bot; "+
				"give a file path, e.g. unix:/run/symauth.sock (unix:./@NAME for a file named @NAME)", addr)
		case strings.IndexByte(file, 0) >= 0:
			return fmt.Errorf("--listen %q: the path holds a NUL byte, which ends it for the system: give a plain file path", addr)
		}
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %s: want a loopback HOST:PORT (127.0.0.1:8080) or unix:PATH: %v", addr, err)
	}
	if !isLoopbackHost(host) {
		return fmt.Errorf("--listen %s: %s; %s", addr, notLoopback(host), refusedListen)
	}
	return nil
}

// proxyListen listens on addr, which checkListen accepts: on loopback, or
// on a Unix socket that only this user can connect to.
func proxyListen(addr string) (net.Listener, error) {
	if err := checkListen(addr); err != nil {
		return nil, err
	}
	if file, ok := strings.CutPrefix(addr, "unix:"); ok {
		return listenUnix(file)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--listen %s: %w", addr, err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() { // a localhost that resolves elsewhere
		ln.Close()
		return nil, fmt.Errorf("--listen %s: it listens on %s, not a loopback address; %s", addr, ln.Addr(), refusedListen)
	}
	return ln, nil
}

// isLoopbackHost reports whether host is a loopback IP address or localhost.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// notLoopback says what is wrong with host, which is not a loopback host.
func notLoopback(host string) string {
	ip := net.ParseIP(host)
	switch {
	case host == "" || ip != nil && ip.IsUnspecified():
		return "that is every network interface, not loopback only"
	case ip == nil && strings.Trim(host, "0123456789.") == "":
		return host + " is not an IP address in full form: write a literal loopback IP (127.0.0.1, ::1) or localhost"
	}
	return host + " is not a loopback address"
}
