//go:build linux

package netlab

import (
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// LANConfig describes the Ethernet segment AddLANPair builds: two hosts whose network cards
// send at Rate, joined by a cable (or a switch that never blocks). It models a wired LAN, where
// the bottleneck is the sender's own card: the queue in front of the shaper is the card's
// transmit queue, so a full queue pushes back on the sender's socket (TCP small queues, the UDP
// send buffer) before it drops, as on real hardware.
type LANConfig struct {
	// Rate is each host's sending rate in bits per second, counted on whole Ethernet frames
	// (14-byte header and payload; no preamble, FCS or gap), like LinkConfig.Rate. Required.
	Rate int64
	// QueueBytes is each side's queue in front of the shaper. 0 means lanQueueTime at Rate
	// (at least minLANQueue).
	QueueBytes int
}

const (
	// lanQueueTime is the default queue as time at the configured rate: 1 ms (125 KB at
	// 1 Gbit/s), the round-trip time of the LAN hop that issue 11 asks for. A queue of at least
	// one bandwidth-delay product keeps a loss-based sender (TCP, pion's SCTP) at the full rate
	// through its window halvings; more would only add delay.
	lanQueueTime = 0.001
	// minLANQueue keeps slow links able to queue a few frames and one GSO burst of TCP.
	minLANQueue = 64 << 10
	// lanBurst is the token bucket's depth in bytes: a little more than one 64 KiB GSO packet
	// with the headers of its ~45 segments (tbf counts those too), so the kernel hands the
	// shaper whole GSO packets instead of cutting each into frames first (CPU is what this
	// machine lacks). After idle it lets 80 KB through at once, 0.6 ms at 1 Gbit/s: nothing
	// against a copy of seconds.
	lanBurst = 80 << 10
	// lanNetBase is the second octet of the LAN pairs' subnets, 172.16.N.0/24 inside
	// 172.16.0.0/12 (private): routers' LANs use 10.N.0.0/24 and the internet 203.0.113.0/24.
	lanNetBase = 16
	// maxLANs is the number of /24s taken from 172.16.0.0/12 (172.16.1–172.16.250).
	maxLANs = 250
)

func (c LANConfig) validate() error {
	if c.Rate <= 0 {
		return fmt.Errorf("netlab: LAN rate %d bit/s: a rate is required", c.Rate)
	}
	if c.QueueBytes < 0 {
		return errors.New("netlab: negative LAN queue")
	}
	return nil
}

// Queue is each side's queue in bytes: QueueBytes, or the default when it is 0.
func (c LANConfig) Queue() int {
	if c.QueueBytes > 0 {
		return c.QueueBytes
	}
	return max(int(float64(c.Rate)/8*lanQueueTime), minLANQueue)
}

func (c LANConfig) String() string {
	return fmt.Sprintf("%.4g Mbit/s each way (tbf), queue %d B", float64(c.Rate)/1e6, c.Queue())
}

// AddLANPair adds two hosts joined by one veth pair whose ends each send at cfg.Rate (a token
// bucket, tc's tbf, on each end's egress). They have no router and no way out of the lab:
// a is 172.16.N.1 and b 172.16.N.2. It fails the test on error.
//
// There is no added delay: this kernel has no netem (the qdisc that delays), the round trip is
// the veth's own (tens of microseconds) plus what the queue holds under load. The lab's TUN
// emulator (EmulateLAN) can add delay but moves at most ~350 Mbit/s.
func (l *Lab) AddLANPair(t testing.TB, cfg LANConfig) (a, b *Host) {
	t.Helper()
	a, b, err := l.LANPair(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// LANPair is AddLANPair returning an error instead of failing the test.
func (l *Lab) LANPair(cfg LANConfig) (a, b *Host, err error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, err
	}
	tc := toolPath("tc")
	if tc == "" {
		return nil, nil, errors.New("netlab: tc not found: apt-get install iproute2")
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, nil, errors.New("netlab: lab is closed")
	}
	if l.lanPairs >= maxLANs {
		l.mu.Unlock()
		return nil, nil, errors.New("netlab: no LAN subnet left")
	}
	l.lanPairs++
	n := l.lanPairs
	l.mu.Unlock()

	hosts := [2]*Host{}
	for i, side := range []string{"a", "b"} {
		name := fmt.Sprintf("l%d%s", n, side)
		ns, err := l.addNS(name)
		if err != nil {
			return nil, nil, err
		}
		addr := netip.AddrFrom4([4]byte{172, lanNetBase, byte(n), byte(i + 1)})
		hosts[i] = &Host{Name: name, Netns: ns, Addr: addr, Public: addr, NAT: None, lab: l}
	}
	a, b = hosts[0], hosts[1]
	if err := ip("-n", a.Netns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", b.Netns); err != nil {
		return nil, nil, err
	}
	for _, h := range hosts {
		if err := ipBatch(h.Netns,
			"addr add "+h.Addr.String()+"/24 dev eth0",
			"link set eth0 up",
		); err != nil {
			return nil, nil, err
		}
		if err := shape(tc, h.Netns, "eth0", cfg); err != nil {
			return nil, nil, err
		}
	}
	return a, b, nil
}

// shape puts a token-bucket shaper (tbf) of cfg's rate, burst lanBurst and queue
// cfg.Queue() on dev's egress in namespace ns.
func shape(tc, ns, dev string, cfg LANConfig) error {
	return runTool(nil, ipTool(), "netns", "exec", ns, tc, "qdisc", "replace", "dev", dev, "root", "tbf",
		"rate", strconv.FormatInt(cfg.Rate, 10)+"bit",
		"burst", strconv.Itoa(lanBurst),
		"limit", strconv.Itoa(cfg.Queue()))
}

// QdiscStats returns `tc -s qdisc show dev eth0` in h's namespace: for a host of a LAN pair,
// the shaper's counters (bytes and packets sent, drops at the full queue, times it held a
// packet back). For logs; the format is tc's.
func (h *Host) QdiscStats() (string, error) {
	tc := toolPath("tc")
	if tc == "" {
		return "", errors.New("netlab: tc not found: apt-get install iproute2")
	}
	out, err := exec.Command(ipTool(), "netns", "exec", h.Netns, tc, "-s", "qdisc", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("netlab: tc -s qdisc in %s: %v: %s", h.Netns, err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}
