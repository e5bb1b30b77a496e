package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/p2pcopy/p2pcopy/signal/netcheck"
	"github.com/spf13/cobra"
)

func newNATCmd(env *Env, g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "nat",
		Short: "Check this network before exchanging tokens: public address, NAT kind, what to expect",
		Long: `Asks two or more STUN servers (--stun, or the defaults) from one UDP socket which public
address they see, and says whether UDP works, whether the NAT keeps one public port for every
destination, and what that means for connecting to a peer.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			servers, err := g.stunServers(env)
			if err != nil {
				return err
			}
			rep, err := netcheck.Run(cmd.Context(), netcheck.Config{Servers: servers, Timeout: 3 * time.Second})
			if err != nil {
				return err
			}
			if g.json {
				b, _ := json.Marshal(map[string]any{"event": "nat", "report": rep, "advice": verdictAdvice(rep.Verdict)})
				fmt.Fprintln(env.Stderr, string(b))
				return nil
			}
			printReport(env, rep)
			return nil
		},
	}
}

func printReport(env *Env, r *netcheck.Report) {
	w := env.Stderr
	yes := map[bool]string{true: "yes", false: "no"}
	fmt.Fprintf(w, "UDP: %s   IPv4: %s   IPv6: %s\n", yes[r.UDP], yes[r.IPv4], yes[r.IPv6])
	for _, p := range r.Probes {
		if p.Err != "" {
			fmt.Fprintf(w, "  %s: %s\n", p.Server, p.Err)
		} else {
			fmt.Fprintf(w, "  %s sees you as %s (%v)\n", p.Server, p.Mapped, p.RTT.Round(time.Millisecond))
		}
	}
	fmt.Fprintf(w, "NAT mapping: %s\n", r.Mapping)
	fmt.Fprintf(w, "verdict: %s\n", verdictAdvice(r.Verdict))
}

// verdictAdvice words a check's verdict with what to do about it, in this CLI's flags.
func verdictAdvice(v netcheck.Verdict) string {
	switch v {
	case netcheck.VerdictBlocked:
		return "UDP is blocked (no STUN server answered): use --turn with a TCP or TLS TURN server (turn:USER:PASS@HOST:PORT?transport=tcp or turns:...)"
	case netcheck.VerdictPublic:
		return "you have a public address (no NAT): direct connections will work with most peers"
	case netcheck.VerdictEIM:
		return "your NAT keeps one public port for every destination: direct connections will work unless the peer is behind a symmetric NAT; use --turn to be safe"
	case netcheck.VerdictSymmetric:
		return "your NAT changes ports per destination (symmetric): direct connections will work only if the peer has a public address or a lenient (full-cone) NAT; use --turn to be safe"
	case netcheck.VerdictUnknown:
		return "only one STUN server answered, so whether your NAT keeps one public port per destination is unknown: name two servers with --stun to find out"
	}
	return string(v)
}

// stunServers are the servers a check asks: --stun, P2PCOPY_STUN, or the defaults.
func (g *globals) stunServers(env *Env) ([]string, error) {
	if g.noSTUN {
		return nil, usagef("--no-stun leaves nothing to check; name STUN servers with --stun")
	}
	cfg, err := g.signalConfig(env, signal.RoleUnknown)
	if err != nil {
		return nil, err
	}
	if len(cfg.STUN) == 0 {
		return signal.DefaultSTUNServers(), nil
	}
	servers := make([]string, len(cfg.STUN))
	for i, s := range cfg.STUN {
		servers[i], _ = signal.ParseSTUN(s) // validated by signalConfig
	}
	return servers, nil
}

// natWarning checks the NAT while candidates are gathered and returns a channel that yields a
// one-line warning when the NAT is symmetric (empty otherwise).
func natWarning(ctx context.Context, env *Env, g *globals, cfg signal.Config) <-chan string {
	out := make(chan string, 1)
	if cfg.NoSTUN {
		out <- ""
		return out
	}
	servers, err := g.stunServers(env)
	if err != nil || len(servers) < 2 {
		out <- ""
		return out
	}
	go func() {
		rep, err := netcheck.Run(ctx, netcheck.Config{Servers: servers, Net: cfg.Net, Timeout: 3 * time.Second})
		if err == nil && rep.Mapping == netcheck.MappingDependent {
			out <- "your NAT changes ports per destination (symmetric): if your peer's does too, connecting will fail; add --turn to be safe (details: p2pcopy nat)"
			return
		}
		out <- ""
	}()
	return out
}
