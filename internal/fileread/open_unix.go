//go:build unix

package fileread

import "syscall"

// openFlags makes opening a named pipe return at once, without a writer.
// Reads of a regular file ignore it.
const openFlags = syscall.O_NONBLOCK
