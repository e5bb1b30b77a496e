//go:build linux

package netlab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// errGoexit is returned by runIn when f ended its goroutine with runtime.Goexit
// (for example by calling t.FailNow, which must not be done inside Run).
var errGoexit = errors.New("netlab: function passed to Run called runtime.Goexit (t.FailNow/t.Fatal inside Run?)")

// runIn runs f on a fresh goroutine whose OS thread is locked and switched into
// the named network namespace (/run/netns/<ns>). The thread is switched back
// afterwards; if that fails, the thread stays locked so the Go runtime destroys
// it when the goroutine exits and no other goroutine ever runs in the wrong
// namespace. Sockets opened by f stay in the namespace for their whole life.
func runIn(ns string, f func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		ferr := errGoexit
		var orig *os.File
		switched := false
		defer func() {
			if r := recover(); r != nil {
				ferr = fmt.Errorf("netlab: panic in Run(%s): %v", ns, r)
			}
			if switched {
				if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
					// Leave the thread locked: it is discarded with this goroutine.
					orig.Close()
					done <- errors.Join(ferr, fmt.Errorf("netlab: switching back from %s: %w", ns, err))
					return
				}
			}
			if orig != nil {
				orig.Close()
			}
			runtime.UnlockOSThread()
			done <- ferr
		}()

		var err error
		orig, err = os.Open("/proc/thread-self/ns/net")
		if err != nil {
			ferr = fmt.Errorf("netlab: %w", err)
			return
		}
		target, err := os.Open(filepath.Join("/run/netns", ns))
		if err != nil {
			ferr = fmt.Errorf("netlab: namespace %s: %w", ns, err)
			return
		}
		err = unix.Setns(int(target.Fd()), unix.CLONE_NEWNET)
		target.Close()
		if err != nil {
			ferr = fmt.Errorf("netlab: entering %s: %w", ns, err)
			return
		}
		switched = true
		ferr = f()
	}()
	return <-done
}
