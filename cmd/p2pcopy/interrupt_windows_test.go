//go:build windows

package main

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// interruptible starts cmd in a process group of its own, so that interrupt reaches it alone
// (and not the test). Windows has no SIGINT to send to a process (os.Process.Signal refuses
// it): a console control event goes to a process group instead.
func interruptible(cmd *exec.Cmd) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_NEW_PROCESS_GROUP
}

// interrupt does what Ctrl-Break in its console does; Go delivers it to the program as
// os.Interrupt, the same as Ctrl-C (Ctrl-C itself cannot be sent to another process group).
func interrupt(cmd *exec.Cmd) error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(cmd.Process.Pid))
}
