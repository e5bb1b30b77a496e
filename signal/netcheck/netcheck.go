// Package netcheck diagnoses this machine's path to the internet before two people exchange
// tokens, like tailscale's netcheck: it asks several STUN servers, from one UDP socket, which
// public address they see, and derives whether UDP works, whether the NAT keeps one public port
// for every destination (endpoint-independent mapping) and what that means for p2pcopy.
package netcheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// Config says which servers to ask and how.
type Config struct {
	// Servers are STUN URLs or HOST:PORT; at least two are needed to judge the mapping.
	Servers []string
	// Net replaces the system network (pion vnet in tests).
	Net transport.Net
	// Timeout bounds the whole check; zero means 3 s.
	Timeout time.Duration
}

// Probe is one server's answer.
type Probe struct {
	Server string         `json:"server"`
	Addr   netip.AddrPort `json:"server_addr"`
	Mapped netip.AddrPort `json:"mapped,omitzero"`
	RTT    time.Duration  `json:"rtt_ns,omitempty"`
	Err    string         `json:"error,omitempty"`
}

// Mapping is what the NAT does to the source port per destination.
type Mapping string

const (
	MappingUnknown     Mapping = "unknown"              // fewer than two servers answered
	MappingNone        Mapping = "none"                 // the public address is our own: no NAT
	MappingIndependent Mapping = "endpoint-independent" // one public port for every destination
	MappingDependent   Mapping = "endpoint-dependent"   // a new public port per destination: symmetric
)

// Report is the outcome of a check.
type Report struct {
	UDP     bool             `json:"udp"`
	IPv4    bool             `json:"ipv4"`
	IPv6    bool             `json:"ipv6"`
	Public  []netip.AddrPort `json:"public"`
	Mapping Mapping          `json:"mapping"`
	Probes  []Probe          `json:"probes"`
	Verdict Verdict          `json:"verdict"`
}

// Verdict is what a check means for connecting to a peer, as a stable code (it appears in
// p2pcopy nat --json); the CLI words it with its own flags (library errors carry no advice).
type Verdict string

// Verdicts.
const (
	// VerdictBlocked: no STUN server answered; UDP is probably blocked, and only a TURN
	// relay reached over TCP or TLS can help.
	VerdictBlocked Verdict = "udp-blocked"
	// VerdictPublic: this side has a public address (no NAT); direct connections work with
	// most peers.
	VerdictPublic Verdict = "public"
	// VerdictEIM: the NAT keeps one public port for every destination; direct connections work
	// unless the peer's NAT is symmetric.
	VerdictEIM Verdict = "endpoint-independent"
	// VerdictSymmetric: the NAT changes ports per destination; direct connections work only
	// with a peer that has a public address or a lenient (full-cone) NAT.
	VerdictSymmetric Verdict = "symmetric"
	// VerdictUnknown: only one server answered, so the mapping could not be compared.
	VerdictUnknown Verdict = "unknown"
)

// ErrNoServers: the check was given no STUN server to ask.
var ErrNoServers = errors.New("netcheck: no STUN servers to ask")

// Run performs the check.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.Servers) == 0 {
		return nil, ErrNoServers
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	n := cfg.Net
	if n == nil {
		var err error
		if n, err = stdnet.NewNet(); err != nil {
			return nil, fmt.Errorf("listing network interfaces: %w", err)
		}
	}
	rep := &Report{Mapping: MappingUnknown}
	v6c := make(chan family, 1)
	go func() {
		v6, _ := probeAll(ctx, n, "udp6", cfg.Servers) // many machines have no IPv6 at all
		v6c <- v6
	}()
	v4, err := probeAll(ctx, n, "udp4", cfg.Servers)
	v6 := <-v6c
	if err != nil {
		return nil, err
	}
	rep.Probes = v4.probes
	for _, p := range v6.probes {
		if p.Addr.IsValid() { // servers without an IPv6 address are not IPv6 probes
			rep.Probes = append(rep.Probes, p)
		}
	}
	rep.IPv4, rep.IPv6 = v4.answered(), v6.answered()
	rep.UDP = rep.IPv4 || rep.IPv6
	seen := map[netip.AddrPort]bool{}
	for _, p := range rep.Probes {
		if p.Err == "" && !seen[p.Mapped] {
			seen[p.Mapped] = true
			rep.Public = append(rep.Public, p.Mapped)
		}
	}
	rep.Mapping = v4.mapping()
	rep.Verdict = verdict(rep)
	return rep, nil
}

func verdict(r *Report) Verdict {
	switch {
	case !r.UDP:
		return VerdictBlocked
	case r.Mapping == MappingNone:
		return VerdictPublic
	case r.Mapping == MappingIndependent:
		return VerdictEIM
	case r.Mapping == MappingDependent:
		return VerdictSymmetric
	}
	return VerdictUnknown
}

// family is the probes of one address family, all from one socket.
type family struct {
	local    netip.AddrPort
	localIPs map[netip.Addr]bool // this machine's interface addresses
	probes   []Probe
}

func (f family) answered() bool {
	for _, p := range f.probes {
		if p.Err == "" {
			return true
		}
	}
	return false
}

// mapping compares what servers at different addresses saw of the same socket.
func (f family) mapping() Mapping {
	var ok []Probe
	for _, p := range f.probes {
		if p.Err == "" {
			ok = append(ok, p)
		}
	}
	if len(ok) == 0 {
		return MappingUnknown
	}
	if ok[0].Mapped.Port() == f.local.Port() && f.localIPs[ok[0].Mapped.Addr()] {
		return MappingNone
	}
	for _, p := range ok[1:] {
		if p.Addr != ok[0].Addr && p.Mapped != ok[0].Mapped {
			return MappingDependent
		}
	}
	for _, p := range ok[1:] {
		if p.Addr != ok[0].Addr {
			return MappingIndependent
		}
	}
	return MappingUnknown
}

func localIPs(n transport.Net) map[netip.Addr]bool {
	ips := map[netip.Addr]bool{}
	ifaces, err := n.Interfaces()
	if err != nil {
		return ips
	}
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				ips[p.Addr().Unmap()] = true
			}
		}
	}
	return ips
}

// probeAll asks every server from one socket. Each request is repeated every 500 ms until it is
// answered or ctx ends.
func probeAll(ctx context.Context, n transport.Net, network string, servers []string) (family, error) {
	f := family{localIPs: localIPs(n)}
	unspecified := net.IPv4zero
	if network == "udp6" {
		unspecified = net.IPv6zero
	}
	conn, err := n.ListenUDP(network, &net.UDPAddr{IP: unspecified})
	if err != nil {
		return f, fmt.Errorf("opening a UDP socket: %w", err)
	}
	defer conn.Close()
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		f.local = la.AddrPort()
	}
	type pending struct {
		idx  int
		msg  *stun.Message
		sent time.Time
	}
	byID := map[[stun.TransactionIDSize]byte]*pending{}
	for i, s := range servers {
		p := Probe{Server: s}
		addr, err := resolve(n, network, s)
		if err != nil {
			p.Err = err.Error()
			f.probes = append(f.probes, p)
			continue
		}
		p.Addr = addr
		f.probes = append(f.probes, p)
		msg, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
		if err != nil {
			return f, err
		}
		byID[msg.TransactionID] = &pending{idx: i, msg: msg}
	}
	send := func() {
		for _, p := range byID {
			p.sent = time.Now()
			_, _ = conn.WriteTo(p.msg.Raw, net.UDPAddrFromAddrPort(f.probes[p.idx].Addr))
		}
	}
	send()
	next := time.Now().Add(500 * time.Millisecond)
	buf := make([]byte, 1500)
	for len(byID) > 0 {
		deadline, _ := ctx.Deadline()
		_ = conn.SetReadDeadline(minTime(next, deadline))
		k, _, err := conn.ReadFrom(buf)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			if time.Now().After(next) {
				send()
				next = time.Now().Add(500 * time.Millisecond)
			}
			continue
		}
		m := &stun.Message{Raw: append([]byte(nil), buf[:k]...)}
		if m.Decode() != nil {
			continue
		}
		p, ok := byID[m.TransactionID]
		if !ok {
			continue
		}
		var xor stun.XORMappedAddress
		if err := xor.GetFrom(m); err != nil {
			f.probes[p.idx].Err = "answer without a mapped address"
		} else if ip, ok := netip.AddrFromSlice(xor.IP); ok {
			f.probes[p.idx].Mapped = netip.AddrPortFrom(ip.Unmap(), uint16(xor.Port))
			f.probes[p.idx].RTT = time.Since(p.sent)
		}
		delete(byID, m.TransactionID)
	}
	for _, p := range byID {
		f.probes[p.idx].Err = "no answer"
	}
	return f, nil
}

func minTime(a, b time.Time) time.Time {
	if !b.IsZero() && b.Before(a) {
		return b
	}
	return a
}

func resolve(n transport.Net, network, server string) (netip.AddrPort, error) {
	s := strings.TrimPrefix(strings.TrimPrefix(server, "stun:"), "stuns:")
	if _, _, err := net.SplitHostPort(s); err != nil {
		s = net.JoinHostPort(s, "3478")
	}
	a, err := n.ResolveUDPAddr(network, s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("cannot resolve %s", server)
	}
	ap := a.AddrPort()
	ip := ap.Addr().Unmap()
	if (network == "udp6") != ip.Is6() {
		return netip.AddrPort{}, fmt.Errorf("%s has no %s address", server, map[bool]string{true: "IPv6", false: "IPv4"}[network == "udp6"])
	}
	return netip.AddrPortFrom(ip, ap.Port()), nil
}
