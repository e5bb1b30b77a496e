//go:build unix

package transfer

import (
	"io/fs"
	"syscall"
)

// umaskFallback reads the umask by setting it and setting it back, where nothing better
// exists. For that instant the mask is 077, so a file another goroutine creates then is
// at worst more private than the user's umask asks, never less.
func umaskFallback() fs.FileMode {
	m := syscall.Umask(0o077)
	syscall.Umask(m)
	return fs.FileMode(m) & fs.ModePerm
}
