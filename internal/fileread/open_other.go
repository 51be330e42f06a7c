//go:build !unix

package fileread

// openFlags: no flag is needed where opening a file does not wait.
const openFlags = 0
