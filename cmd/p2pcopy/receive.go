package main

import (
	"context"
	"errors"
	"os"
	"strings"

	"github.com/p2pcopy/p2pcopy/internal/session"
	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/p2pcopy/p2pcopy/transfer"
	"github.com/spf13/cobra"
)

func newReceiveCmd(env *Env, g *globals) *cobra.Command {
	var (
		output    string
		yes       bool
		overwrite bool
	)
	cmd := &cobra.Command{
		Use:   "receive [TOKEN]",
		Short: "Receive files from a peer",
		Long: `Receive files from a peer.

With TOKEN (the offer printed by "p2pcopy send"), shows what is offered, asks before accepting and
prints the answer to send back. Without TOKEN, prints an offer token and waits for the sender's
answer ("p2pcopy send FILE TOKEN").

Files are written as NAME.p2pcopy-part and renamed only after their SHA-256 matched. Received text
messages and "-o -" data go to stdout (tokens then go to stderr).`,
		Example: `  p2pcopy receive p2pc1.AbC...
  p2pcopy receive -o ~/Downloads
  p2pcopy receive -y -o - > backup.tar`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			token := ""
			if len(args) == 1 {
				token = args[0]
				if strings.TrimSpace(token) == "" {
					_, err := signal.Decode(token) // the codec's own "nothing was pasted" message
					return err
				}
			}
			return runReceive(cmd.Context(), env, g, token, output, yes, overwrite)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", ".", "directory to save into (created if missing), or - for stdout")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "accept without asking")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace files that already exist")
	return cmd
}

var errDeclined = errors.New("you declined the transfer; nothing was received")

func runReceive(ctx context.Context, env *Env, g *globals, token, output string, yes, overwrite bool) error {
	if !yes && !env.StdinTTY {
		return usagef("cannot ask whether to accept: standard input is not a terminal; add -y to accept without asking")
	}
	u := newUI(env, g)
	opts := transfer.ReceiveOptions{
		Dir:       output,
		Text:      env.Stdout,
		Overwrite: overwrite,
		App:       "p2pcopy/" + version,
		OnEvent:   u.transferEvent,
	}
	tokenOut := env.Stdout
	if output == "-" {
		opts.Dir, opts.Stdout, tokenOut = "", env.Stdout, env.Stderr
	} else if err := os.MkdirAll(output, 0o755); err != nil {
		return usagef("cannot use %s as the output directory: %v", output, errors.Unwrap(err))
	}
	cfg, err := g.signalConfig(env, signal.RoleReceiver)
	if err != nil {
		return err
	}
	tio, err := newTokenIO(env, g, u, tokenOut, false)
	if err != nil {
		return err
	}
	defer tio.close()
	tio.warning = natWarning(ctx, env, g, cfg)
	peer, conn, err := session.Connect(ctx, cfg, session.Exchange{
		PeerToken:      token,
		Publish:        tio.publish,
		ReadPeer:       tio.read,
		BadToken:       tio.badToken,
		Notice:         func(msg string) { u.info("%s", msg) },
		ConnectTimeout: g.timeout,
		Confirm: func(ctx context.Context, offered *signal.Summary) error {
			u.offered(offered)
			if yes {
				return nil
			}
			ok, err := tio.ask(ctx, "Accept? [Y/n] ")
			if err != nil {
				return err
			}
			if !ok {
				return errDeclined
			}
			return nil
		},
	})
	if err != nil {
		return err
	}
	defer peer.Close()
	u.connected(conn.Info)

	stallCtx, stopStall := context.WithCancel(ctx)
	defer stopStall()
	go u.watchStalls(stallCtx)
	res, err := transfer.Receive(ctx, conn, opts)
	_ = conn.Close()
	if err != nil {
		u.abort()
		return err
	}
	u.received(res, output)
	return nil
}

// describeDir names the output directory for messages.
func describeDir(dir string) string {
	if dir == "." {
		return "the current directory"
	}
	return dir
}
