package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/spf13/cobra"
)

const version = "0.1.0"

// globals are the flags every command shares.
type globals struct {
	stun    []string
	noSTUN  bool
	turn    []string
	timeout time.Duration
	stall   time.Duration
	json    bool
	quiet   bool
	verbose bool
	qr      bool

	dhtNodes []string // --dht-bootstrap
	noDHT    bool
}

func newRootCmd(env *Env, g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "p2pcopy",
		Short: "Copy files directly between two computers, peer to peer",
		Long: `p2pcopy copies files directly between two computers, each behind its own router, with no
server in between. One side prints a token, the other pastes it, and the bytes flow over an
encrypted WebRTC connection, verified end to end. The answer goes back by itself (directly, or
through a mailbox on the BitTorrent DHT); where neither works, it is pasted back.

  sender:    p2pcopy send big.iso          (prints a token, then waits for the answer)
  receiver:  p2pcopy receive TOKEN         (answers; the answer goes back by itself)

Either side may start: "p2pcopy receive" prints a token, "p2pcopy send FILE TOKEN" answers it.

Exit codes: 0 ok, 1 transfer failed, 2 usage or bad token, 3 could not connect, 130 interrupted.`,
		Version:       version,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	pf := root.PersistentFlags()
	pf.StringArrayVar(&g.stun, "stun", nil, "STUN server `URL` to learn the public address (repeatable; replaces the defaults; env P2PCOPY_STUN, comma-separated)")
	pf.BoolVar(&g.noSTUN, "no-stun", false, "use no STUN server: local addresses only (same LAN)")
	pf.StringArrayVar(&g.turn, "turn", nil, "TURN relay `turn:USER:PASS@HOST:PORT` for when no direct path exists (repeatable; turns: too; env P2PCOPY_TURN)")
	pf.StringSliceVar(&g.dhtNodes, "dht-bootstrap", nil, "start the DHT mailbox from these `HOST:PORT` nodes instead of the public routers (comma-separated; env P2PCOPY_DHT_BOOTSTRAP)")
	pf.BoolVar(&g.noDHT, "no-dht", false, "do not use the DHT mailbox that carries the answer back when it cannot come directly (--no-stun implies it)")
	pf.DurationVar(&g.timeout, "timeout", 30*time.Second, "give up connecting this long after the answer")
	pf.DurationVar(&g.stall, "stall-timeout", signal.DefaultStallTimeout, "keep waiting this long for a peer that went silent (a Wi-Fi blip, a stuck program) before giving up")
	pf.BoolVar(&g.json, "json", false, "print one JSON event per line on stderr instead of text (tokens still go to stdout)")
	pf.BoolVarP(&g.quiet, "quiet", "q", false, "print only tokens and errors")
	pf.BoolVarP(&g.verbose, "verbose", "v", false, "also print the addresses used and timings")
	pf.BoolVar(&g.qr, "qr", false, "also print tokens as QR codes (send: a link to the page, served on this LAN, which hands the answer back)")
	root.AddCommand(newSendCmd(env, g), newReceiveCmd(env, g), newNATCmd(env, g), newWebCmd(env, g))
	addVersion(root, env, g) // p2pcopy version, and the details behind --version (version.go)
	return root
}

// udpOffloadEnv set to 0 switches UDP segmentation and receive offload off (see signalConfig).
const udpOffloadEnv = "P2PCOPY_UDP_OFFLOAD"

// signalConfig builds the network configuration from flags and environment.
func (g *globals) signalConfig(env *Env, role signal.Role) (signal.Config, error) {
	// Our offers carry a rendezvous secret, so that the answer can come back by itself (§4).
	cfg := signal.Config{Role: role, NoSTUN: g.noSTUN, STUN: g.stun, TURN: g.turn, StallTimeout: g.stall, Rendezvous: true}
	if len(cfg.STUN) == 0 {
		cfg.STUN = splitList(env.Getenv("P2PCOPY_STUN"))
	}
	if len(cfg.TURN) == 0 {
		cfg.TURN = splitList(env.Getenv("P2PCOPY_TURN"))
	}
	// P2PCOPY_UDP_OFFLOAD=0 turns UDP GSO/GRO off (signal.Config.DisableUDPOffload): a way out
	// should a kernel or driver mishandle it, and the other row of `make bench` (issue 11).
	switch strings.ToLower(strings.TrimSpace(env.Getenv(udpOffloadEnv))) {
	case "0", "false", "off", "no":
		cfg.DisableUDPOffload = true
	}
	for _, s := range cfg.STUN {
		if _, err := signal.ParseSTUN(s); err != nil {
			return cfg, usagef("%v", err)
		}
	}
	for _, t := range cfg.TURN {
		if _, err := signal.ParseTURN(t); err != nil {
			return cfg, usagef("%v", err)
		}
	}
	if g.timeout <= 0 {
		return cfg, usagef("--timeout must be positive, e.g. --timeout 1m")
	}
	if g.stall < 2*time.Second {
		return cfg, usagef("--stall-timeout must be at least 2s, e.g. --stall-timeout 1m")
	}
	return cfg, nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// humanBytes formats a byte count the way a person reads it: 17.2 GB.
func humanBytes(n int64) string {
	if n < 1000 {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, unit := range []string{"kB", "MB", "GB", "TB", "PB"} {
		f /= 1000
		if f < 999.95 {
			return fmt.Sprintf("%.1f %s", f, unit)
		}
	}
	return fmt.Sprintf("%.1f EB", f/1000)
}

// idleGrace is how much longer than --stall-timeout the transfer waits for a peer that is
// connected but sends nothing, not even a keep-alive. When the network itself went quiet,
// the connection's own watcher (no packet for --stall-timeout) gives up first and names
// that cause; this one catches a peer whose network is fine but whose program is stuck.
const idleGrace = 5 * time.Second

// idleTimeout is the transfer's idle timeout (transfer.ReceiveOptions.IdleTimeout).
func (g *globals) idleTimeout() time.Duration { return g.stall + idleGrace }
