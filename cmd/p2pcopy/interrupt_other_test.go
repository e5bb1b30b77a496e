//go:build !windows

package main

import (
	"os/exec"
	"syscall"
)

// interruptible prepares cmd to be interrupted by interrupt; nothing to do outside Windows.
func interruptible(*exec.Cmd) {}

// interrupt does what Ctrl-C in its terminal does: SIGINT.
func interrupt(cmd *exec.Cmd) error { return cmd.Process.Signal(syscall.SIGINT) }
