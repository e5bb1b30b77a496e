package main

import (
	"context"
	"errors"
	"io"
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
answers: the answer goes back by itself where it can (directly or through the DHT mailbox), and
is printed for pasting where it cannot. Without TOKEN, prints an offer token and waits for the
sender's answer ("p2pcopy send FILE TOKEN").

Files are written as NAME.p2pcopy-part and renamed only after their SHA-256 matched. Received text
messages and "-o -" data go to stdout (tokens then go to stderr).`,
		Example: `  p2pcopy receive p2pc1.AbC...
  p2pcopy receive -o ~/Downloads
  p2pcopy receive -y -o - > backup.tar`,
		Args: usageArgs(cobra.MaximumNArgs(1)),
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
		Dir:         output,
		Text:        textOutput(env),
		Overwrite:   overwrite,
		IdleTimeout: g.idleTimeout(),
		App:         "p2pcopy/" + version,
		OnEvent:     u.transferEvent,
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
	tio.answerTravels = offerTravels(token)
	tio.warning = natWarning(ctx, env, g, cfg)
	ex := session.Exchange{
		PeerToken:      token,
		Publish:        tio.publish,
		ReadPeer:       tio.read,
		BadToken:       tio.badToken,
		Notice:         func(msg string) { u.info("%s", msg) },
		ConnectTimeout: g.timeout,
		SymmetricNAT:   tio.symmetricNAT,
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
	}
	closeMailbox := onePaste(env, g, u, &ex, token != "")
	peer, conn, err := session.Connect(ctx, cfg, ex)
	closeMailbox() // the answer is through (or never will be): leave the DHT
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
	u.received(res, output, conn.PacketSize())
	return nil
}

// describeDir names the output directory for messages.
func describeDir(dir string) string {
	if dir == "." {
		return "the current directory"
	}
	return dir
}

// textOutput is where a received text message goes: stdout, with terminal control characters
// removed when stdout is a terminal, so a hostile peer cannot drive the user's terminal.
func textOutput(env *Env) io.Writer {
	if env.StdoutTTY {
		return &terminalSafe{w: env.Stdout}
	}
	return env.Stdout
}

// terminalSafe drops C0 controls other than tab and newline, DEL, and C1 controls (U+0080 to
// U+009F, two bytes in UTF-8, possibly split across writes) from what it passes on.
type terminalSafe struct {
	w       io.Writer
	pending bool // the previous write ended with the first byte (0xC2) of a possible C1 control
}

func (t *terminalSafe) Write(p []byte) (int, error) {
	out := make([]byte, 0, len(p)+1)
	for _, b := range p {
		if t.pending {
			t.pending = false
			if b >= 0x80 && b <= 0x9f {
				continue // a C1 control: drop both bytes
			}
			out = append(out, 0xc2)
		}
		switch {
		case b == 0xc2:
			t.pending = true
		case b < 0x20 && b != '\n' && b != '\t', b == 0x7f:
		default:
			out = append(out, b)
		}
	}
	if _, err := t.w.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
