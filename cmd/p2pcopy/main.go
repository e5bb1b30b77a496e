// Command p2pcopy copies files directly between two computers, peer to peer, over WebRTC.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"golang.org/x/term"
)

// memoryLimit is the Go heap size at which the garbage collector starts working harder (a soft
// limit, GOMEMLIMIT overrides it). The SCTP receive window alone may hold 16 MiB, and with Go's
// default pacing the heap grew to twice what was live: 99 MiB peak RSS for a 10 GiB copy.
const memoryLimit = 48 << 20

func main() {
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	stopProfiles := startProfiles(os.Getenv, os.Stderr)
	code := run(os.Args[1:])
	stopProfiles()
	os.Exit(code)
}

func run(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	env := &Env{
		Stdin:       os.Stdin,
		Stdout:      os.Stdout,
		Stderr:      os.Stderr,
		Getenv:      os.Getenv,
		StdinTTY:    term.IsTerminal(int(os.Stdin.Fd())),
		StdoutTTY:   term.IsTerminal(int(os.Stdout.Fd())),
		StderrTTY:   term.IsTerminal(int(os.Stderr.Fd())),
		OpenTTY:     func() (*os.File, error) { return os.OpenFile("/dev/tty", os.O_RDWR, 0) },
		Interrupted: func() bool { return ctx.Err() != nil },
	}
	return Main(ctx, env, args)
}
