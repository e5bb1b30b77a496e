package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/p2pcopy/p2pcopy/transfer"
	"github.com/spf13/cobra"
)

// Exit codes (documented in README.md).
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitNoConnect   = 3
	exitInterrupted = 130
)

// Env is everything the commands touch outside the process, so tests can run them in-process.
type Env struct {
	Stdin       io.Reader
	Stdout      io.Writer
	Stderr      io.Writer
	Getenv      func(string) string
	StdinTTY    bool
	StdoutTTY   bool
	StderrTTY   bool
	OpenTTY     func() (*os.File, error)
	Interrupted func() bool
}

// usageError marks mistakes in how the command was called (exit code 2).
type usageError struct {
	msg   string
	cause error // what the library said, for errors.Is; may be nil
}

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return e.cause }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// Main runs the command line and returns the exit code. Errors are printed once, here: as a JSON
// event with --json, else as one "p2pcopy: ..." line.
func Main(ctx context.Context, env *Env, args []string) int {
	g := &globals{}
	cmd := newRootCmd(env, g)
	cmd.SetArgs(args)
	cmd.SetIn(env.Stdin)
	cmd.SetOut(env.Stderr)
	cmd.SetErr(env.Stderr)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(ctx, env, err)
	msg := oneLine(advice(err))
	if code == exitInterrupted {
		msg = "interrupted; run both commands again to continue (a partial transfer resumes where it stopped)"
	}
	if g.json {
		writeJSON(env.Stderr, map[string]any{"event": "error", "exit": code, "message": msg})
	} else {
		fmt.Fprintln(env.Stderr, "p2pcopy: "+msg)
	}
	return code
}

func exitCode(ctx context.Context, env *Env, err error) int {
	var (
		ue *usageError
		te *signal.TokenError
		ce *signal.ConnectError
		xe *transfer.Error
	)
	switch {
	case ctx.Err() != nil && (env.Interrupted == nil || env.Interrupted()):
		return exitInterrupted
	case errors.As(err, &ue), errors.As(err, &te):
		return exitUsage
	case errors.As(err, &ce):
		return exitNoConnect
	case errors.As(err, &xe):
		return exitFailed
	case strings.HasPrefix(err.Error(), "unknown command "):
		return exitUsage // the one usage error cobra reports before any hook of ours runs
	}
	return exitFailed
}

// usageArgs marks a cobra argument check's failures as usage errors.
func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &usageError{msg: err.Error()}
		}
		return nil
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
