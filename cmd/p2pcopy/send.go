package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/p2pcopy/p2pcopy/internal/session"
	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/p2pcopy/p2pcopy/transfer"
	"github.com/spf13/cobra"
)

func newSendCmd(env *Env, g *globals) *cobra.Command {
	var (
		text      string
		name      string
		chunkSize int
		webListen string
		webURL    string
	)
	cmd := &cobra.Command{
		Use:   "send PATH... [TOKEN]",
		Short: "Offer files, directories, stdin (-) or a text message to a peer",
		Long: `Offer files, directories, standard input ("-") or a text message (--text) to a peer.

Without TOKEN, prints an offer token and waits for the peer's answer, which comes back by itself
(directly or through the DHT mailbox) or is pasted. With TOKEN (an offer printed by "p2pcopy
receive"), answers it: the answer goes back by itself where it can, and is printed for pasting.`,
		Example: `  p2pcopy send vm.vmdk
  p2pcopy send photos/ notes.txt
  tar c dir | p2pcopy send - --name dir.tar
  p2pcopy send --text "the wifi password is ..."`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSend(cmd.Context(), env, g, args, text, name, chunkSize, webListen, webURL)
		},
	}
	cmd.Flags().StringVar(&text, "text", "", "send this text message instead of files")
	cmd.Flags().StringVar(&name, "name", "stdin", "file name the receiver uses for data from stdin (-)")
	cmd.Flags().IntVar(&chunkSize, "chunk-size", 0, "bytes per data message (tuning; default chosen by measurement)")
	_ = cmd.Flags().MarkHidden("chunk-size")
	cmd.Flags().StringVar(&webListen, "web-listen", "", "with --qr: serve the page on this `host:port` (default: this machine's LAN address, a free port)")
	cmd.Flags().StringVar(&webURL, "web-url", "", "with --qr: link to a hosted copy of the page at this `URL` instead (the answer still comes back here)")
	return cmd
}

func runSend(ctx context.Context, env *Env, g *globals, args []string, text, streamName string, chunkSize int, webListen, webURL string) error {
	paths, token := splitToken(args)
	if text == "" && len(paths) == 0 {
		return usagef("nothing to send: name files or directories, - for stdin, or --text \"message\"")
	}
	if text != "" && len(paths) > 0 {
		return usagef("--text sends a message only: send files in a separate run")
	}
	u := newUI(env, g)
	items, sum, usesStdin, err := collectItems(env, u, paths, text, streamName)
	if err != nil {
		return err
	}
	cfg, err := g.signalConfig(env, signal.RoleSender)
	if err != nil {
		return err
	}
	cfg.Summary = &sum

	tio, err := newTokenIO(env, g, u, env.Stdout, usesStdin && token == "")
	if err != nil {
		return err
	}
	defer tio.close()
	tio.answerTravels = offerTravels(token)
	tio.warning = natWarning(ctx, env, g, cfg)
	readPeer := tio.read
	if g.qr && token == "" { // scan-and-go: serve the page, take the answer back from it
		cfg.BrowserPeer = true
		sg, err := startScanAndGo(webListen, webURL, cfg.NoSTUN)
		if err != nil {
			return err
		}
		defer sg.close()
		tio.link, readPeer = sg.link, sg.race(tio.read)
	} else if webListen != "" || webURL != "" {
		return usagef("--web-listen and --web-url go with --qr when this side makes the first token")
	}
	ex := session.Exchange{
		PeerToken:      token,
		Publish:        tio.publish,
		ReadPeer:       readPeer,
		BadToken:       tio.badToken,
		Notice:         func(msg string) { u.info("%s", msg) },
		ConnectTimeout: g.timeout,
		SymmetricNAT:   tio.symmetricNAT,
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
	res, err := transfer.Send(ctx, conn, items, transfer.SendOptions{
		ChunkSize:   chunkSize,
		IdleTimeout: g.idleTimeout(),
		App:         "p2pcopy/" + version,
		OnEvent:     u.transferEvent,
	})
	_ = conn.Close()
	if err != nil {
		u.abort()
		return err
	}
	u.sent(res, conn.PacketSize())
	return nil
}

// splitToken separates a trailing token from the paths: "send FILE TOKEN" answers an offer.
func splitToken(args []string) (paths []string, token string) {
	if n := len(args); n > 0 && looksLikeToken(args[n-1]) {
		if _, err := os.Lstat(args[n-1]); err != nil {
			return args[:n-1], args[n-1]
		}
	}
	return args, ""
}

func looksLikeToken(s string) bool {
	s = strings.Trim(strings.TrimSpace(s), "\"'`“”‘’«»<>")
	return strings.HasPrefix(s, "p2pc") || strings.Contains(s, "#p2pc") || strings.HasPrefix(s, "eyJ")
}

func collectItems(env *Env, u *ui, paths []string, text, streamName string) ([]transfer.Item, signal.Summary, bool, error) {
	var (
		items     []transfer.Item
		sum       signal.Summary
		usesStdin bool
	)
	if text != "" {
		it := transfer.TextItem(text)
		return []transfer.Item{it}, signal.Summary{Entries: 1, TotalBytes: uint64(len(text)), Name: "a text message"}, false, nil
	}
	for _, p := range paths {
		if p == "-" {
			if usesStdin {
				return nil, sum, false, usagef("- (stdin) can be sent only once")
			}
			if strings.ContainsAny(streamName, "/\\") || streamName == "" || streamName == "." || streamName == ".." {
				return nil, sum, false, usagef("--name %q: give a plain file name without directories", streamName)
			}
			usesStdin = true
			items = append(items, transfer.StreamItem(streamName, env.Stdin))
			sum.Entries++
			if sum.Name == "" {
				sum.Name = streamName
			}
			continue
		}
		got, warnings, err := transfer.FileItems(p)
		if err != nil {
			return nil, sum, false, usagef("%v", err)
		}
		for _, w := range warnings {
			u.warn(w)
		}
		for _, it := range got {
			if it.Entry.Size > 0 {
				sum.TotalBytes += uint64(it.Entry.Size)
			}
		}
		items = append(items, got...)
		sum.Entries++
		if sum.Name == "" {
			sum.Name = filepath.Base(filepath.Clean(p))
		}
	}
	if dup := duplicateTop(items); dup != "" {
		return nil, sum, false, usagef("two of the paths would both arrive as %q: send them in separate runs", dup)
	}
	return items, sum, usesStdin, nil
}

// duplicateTop finds two entries with the same path (e.g. a/x and b/x both sent as "x").
func duplicateTop(items []transfer.Item) string {
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if seen[it.Entry.Path] {
			return it.Entry.Path
		}
		seen[it.Entry.Path] = true
	}
	return ""
}

// offeredText describes a peer's summary: "vm.vmdk (17.2 GB)" or "3 items starting with photos (1.2 GB)".
func offeredText(s *signal.Summary) string {
	if s == nil {
		return "files (no summary in the token)"
	}
	name := printable(s.Name)
	size := ""
	if s.TotalBytes > 0 {
		size = " (" + humanBytes(int64(s.TotalBytes)) + ")"
	}
	if s.Entries <= 1 {
		return name + size
	}
	return fmt.Sprintf("%d items: %s and more%s", s.Entries, name, size)
}

// printable strips control characters (terminal escapes) from text that came from the peer.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, s)
}
