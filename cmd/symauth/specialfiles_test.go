//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A credential path that is a named pipe or a device is refused at once,
// naming the path (reading a pipe with no writer hung; whoami --key /dev/zero
// ran out of memory), and so is a file larger than 4 MiB. runCLI's timeout
// bounds each run.
func TestSpecialCredentialFiles(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skipf("no /dev/zero: %v", err)
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "key.pem")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	big := filepath.Join(dir, "big.pem")
	if err := os.WriteFile(big, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(big, 5<<20); err != nil {
		t.Fatal(err)
	}
	pod := "https://" + closedAddr(t)
	rsaLogin := []string{"--pod", pod, "--user", "files-bot"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append([]string{"whoami", "--key", "/dev/zero"}, rsaLogin...), "--key: /dev/zero is not a regular file (a device)"},
		{append([]string{"whoami", "--key", fifo}, rsaLogin...), "--key: " + fifo + " is not a regular file (a named pipe)"},
		{append([]string{"token", "--key", big}, rsaLogin...), "--key: " + big + " is larger than 4 MiB"},
		{[]string{"token", "--cert", fifo, "--sessionauth", pod}, "--cert: " + fifo + " is not a regular file (a named pipe)"},
		{[]string{"token", "--cert", "/dev/zero", "--sessionauth", pod}, "--cert: /dev/zero is not a regular file (a device)"},
		{[]string{"token", "--cert", big, "--sessionauth", pod, "--ca", "/dev/zero"}, "--ca: /dev/zero is not a regular file (a device)"},
		{[]string{"emulator", "--addr", "127.0.0.1:0", "--user", "alice=" + fifo}, fifo + " is not a regular file (a named pipe)"},
	} {
		r := runCLI(t, tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("symauth %s: exit %d, stderr %q; want %q", strings.Join(tc.args, " "), r.code, r.stderr, tc.want)
		}
	}
	for _, tc := range []struct {
		args               []string
		step, want, advice string
	}{
		{append([]string{"--key", "/dev/zero"}, rsaLogin...), "key file", "/dev/zero is not a regular file (a device)", "not of a pipe or a device"},
		{[]string{"--cert", fifo, "--sessionauth", pod}, "certificate file", fifo + " is not a regular file (a named pipe)", "not of a pipe or a device"},
		{[]string{"--cert", big, "--sessionauth", pod}, "certificate file", big + " is larger than 4 MiB", "no key or certificate file is that large"},
		{append([]string{"--key", big, "--ca", fifo}, rsaLogin...), "CA file", fifo + " is not a regular file (a named pipe)", "--ca needs the path of a file"},
	} {
		r, steps := runCheckCmd(t, tc.args...)
		if r.code != exitFail {
			t.Errorf("check %v: exit %d", tc.args, r.code)
		}
		wantStep(t, r.stdout, steps, "FAIL", tc.step, tc.want, tc.advice)
	}
}
