//go:build linux

package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/netlab"
)

var (
	lanBytes = flag.Int64("lan-bytes", 1<<30, "file size for the LAN rows")
	lanRate  = flag.Int64("lan-rate", 1_000_000_000, "rate of the LAN rows' link in bit/s")
	lanQueue = flag.Int("lan-queue", 0, "each LAN host's queue in front of its shaper in bytes (0: netlab's default, 1 ms at the rate)")
	lanLimit = flag.Duration("lan-limit", 5*time.Minute, "longest a LAN copy may run")
)

// cpuPerGB is a process's user+system CPU seconds per 10^9 bytes of n.
func cpuPerGB(u *syscall.Rusage, n int64) float64 {
	if u == nil {
		return 0
	}
	return time.Duration(u.Utime.Nano()+u.Stime.Nano()).Seconds() / (float64(n) / 1e9)
}

var droppedRE = regexp.MustCompile(`dropped (\d+)`)

// shaperDrops is the number of packets h's shaper has dropped at its full queue so far.
func shaperDrops(b *testing.B, h *netlab.Host) int64 {
	b.Helper()
	stats, err := h.QdiscStats()
	if err != nil {
		b.Fatal(err)
	}
	m := droppedRE.FindStringSubmatch(stats)
	if m == nil {
		b.Fatalf("no drop count in %s's qdisc stats:\n%s", h.Name, stats)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// lan copies one file between two hosts of a LAN pair whose network cards send at -lan-rate
// (netlab.AddLANPair: a veth, tbf on each end), with p2pcopy, plain TCP, TCP + TLS + SHA-256
// and croc, and reports each one's rate, share of the link and CPU per GB on each side.
func lan(b *testing.B, lab *netlab.Lab, bin string, rep *report) {
	cfg := netlab.LANConfig{Rate: *lanRate, QueueBytes: *lanQueue}
	a, bh := lab.AddLANPair(b, cfg)
	dir := b.TempDir()
	src := filepath.Join(dir, "file.bin")
	size := *lanBytes
	want := randomFile(b, src, size)
	warmDisk(b, dir, size)
	linkMB := float64(*lanRate) / 8 / mb
	var rows []string
	row := func(tool string, mbs float64, send, recv *syscall.Rusage, note string) {
		rows = append(rows, fmt.Sprintf("| %s | %.1f | %.0f %% | %.1f | %.1f | %s |",
			tool, mbs, 100*mbs/linkMB, cpuPerGB(send, size), cpuPerGB(recv, size), note))
		fmt.Fprintf(os.Stderr, "LAN %v: %s %.1f MB/s (%.0f %% of link) %s\n", cfg, tool, mbs, 100*mbs/linkMB, note)
	}

	out := filepath.Join(dir, "p2pcopy-out")
	copyOnce := func(env []string) func() timedRun {
		return func() timedRun {
			drops := shaperDrops(b, a)
			r := p2pcopyEnv(b, bin, env, a, bh, src, out, *lanLimit, "--no-stun")
			if r.err != nil || r.timedOut {
				b.Fatalf("p2pcopy %v over the LAN failed (timed out: %v): %v", env, r.timedOut, r.err)
			}
			if fileHash(b, filepath.Join(out, "file.bin")) != want {
				b.Fatalf("p2pcopy %v over the LAN: received file differs", env)
			}
			os.RemoveAll(out)
			fmt.Fprintf(os.Stderr, "LAN %v: %.1f MB/s\n", env, rate(size, r.data))
			return timedRun{rate: rate(size, r.data), r: r, note: fmt.Sprintf("sender's shaper dropped %d packets", shaperDrops(b, a)-drops)}
		}
	}
	m := interleavedMedians(copyOnce(nil), copyOnce(noOffloadEnv))
	r := m[0].r
	packet := max(r.packet, sctpMTU)
	row("p2pcopy CLI → CLI (built binary, DTLS + SCTP, UDP GSO/GRO)", m[0].rate, r.sendUsage, r.recvUsage,
		fmt.Sprintf("%s; %d-byte SCTP packets; whole command %.1f MB/s; %s; median of %d runs", r.pair, packet, rate(size, r.total), m[0].note, p2pcopyRuns))
	row("p2pcopy without UDP GSO/GRO (P2PCOPY_UDP_OFFLOAD=0)", m[1].rate, m[1].r.sendUsage, m[1].r.recvUsage,
		fmt.Sprintf("%s; median of %d runs", m[1].note, p2pcopyRuns))

	for _, y := range []struct {
		tool   string
		secure bool
	}{
		{"plain TCP (Go, one connection, no encryption, no hash)", false},
		{"TCP + TLS 1.3 + SHA-256 both sides (Go)", true},
	} {
		dst := filepath.Join(dir, "tcp.bin")
		drops := shaperDrops(b, a)
		res := peerCopy(b, a, bh, src, dst, y.secure, *lanLimit)
		if res.n != size {
			b.Fatalf("%s moved %d of %d bytes", y.tool, res.n, size)
		}
		os.Remove(dst)
		row(y.tool, rate(size, res.d), res.sendUsage, res.recvUsage,
			fmt.Sprintf("sender's shaper dropped %d packets", shaperDrops(b, a)-drops))
	}

	if *crocFlag != "" {
		c := crocRun(b, a, bh, *crocFlag, src, filepath.Join(dir, "croc-out"), want)
		row("croc "+c.version+" (relay on the sender's host, whole command)", rate(size, c.d), c.sendUsage, c.recvUsage,
			fmt.Sprintf("its relay used %.1f CPU s/GB more on the sender's host", cpuPerGB(c.relayUsage, size)))
	} else {
		rows = append(rows, "| croc | – | – | – | – | not measured (no -croc binary) |")
	}
	rtt := pingRTT(b, a, bh)
	queueNote := " (1 ms at the rate)"
	if *lanQueue > 0 {
		queueNote = ""
	}
	b.Logf("LAN shapers after the rows:\n%s", qdiscs(a, bh))

	rep.add(fmt.Sprintf("5. LAN: %.4g Mbit/s each way, %.2f GiB random file, two hosts (namespaces) on one veth",
		float64(*lanRate)/1e6, float64(size)/(1<<30)),
		"| tool | MB/s | ÷ link | CPU s per GB, sender | CPU s per GB, receiver | note |", rows)
	rep.note(fmt.Sprintf("Each host's network card is a token bucket (tc tbf) at %.4g Mbit/s on its end of "+
		"the veth, counted on whole Ethernet frames like the WAN link (%.0f MB/s of frames), with a %d-byte "+
		"queue%s. No delay is added: this kernel has no netem (nor fq, which could delay by "+
		"timestamps) and the lab's TUN emulator, which can delay, moves at most ~350 Mbit/s; the round trip "+
		"is the veth's (%.2f ms by ping, idle) plus the queue under load. A 1 ms path would hold 125 KB in "+
		"flight, far under p2pcopy's 16 MiB SCTP receive window and TCP's, so it would not lower these "+
		"ceilings. p2pcopy's rate is its data phase (connection to end), the yardsticks' from the "+
		"connection to the last byte, croc's its whole receive command. Both peers share this machine's "+
		"%d cores; CPU is each process's user+system time; a veth delivers a packet inside the "+
		"sending system call, so the sender's also holds its shaper and the receiving kernel's network "+
		"stack, which a real card and the receiver's own kernel would carry. At most %.1f %% of the frame bytes can be file bytes with "+
		"%d-byte SCTP packets (TCP: %.1f %%); on a real Ethernet wire, which also carries 24 bytes of "+
		"preamble, FCS and gap per frame, the ceilings are %.1f %% and %.1f %%.",
		float64(*lanRate)/1e6, linkMB, cfg.Queue(), queueNote, rtt.Seconds()*1000, runtime.NumCPU(), 100*p2pCeiling(packet), packet,
		100*1448.0/1514, 100*p2pCeilingWire(packet, 24), 100*1448.0/1538))
}

func qdiscs(hosts ...*netlab.Host) string {
	var s string
	for _, h := range hosts {
		st, err := h.QdiscStats()
		if err != nil {
			st = err.Error()
		}
		s += h.Name + ": " + st + "\n"
	}
	return s
}

var pingTimeRE = regexp.MustCompile(`time=([0-9.]+) ms`)

// pingRTT is the median of five pings from a to bh on an idle link.
func pingRTT(b *testing.B, a, bh *netlab.Host) time.Duration {
	b.Helper()
	if _, err := exec.LookPath("ping"); err != nil {
		b.Fatal("the LAN rows need ping: apt-get install iputils-ping")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := a.Command(ctx, "ping", "-n", "-c", "5", "-i", "0.2", bh.Addr.String()).CombinedOutput()
	if err != nil {
		b.Fatalf("ping %v: %v\n%s", bh.Addr, err, out)
	}
	var rtts []time.Duration
	for _, m := range pingTimeRE.FindAllStringSubmatch(string(out), -1) {
		ms, _ := strconv.ParseFloat(m[1], 64)
		rtts = append(rtts, time.Duration(ms*float64(time.Millisecond)))
	}
	if len(rtts) == 0 {
		b.Fatalf("no replies from ping:\n%s", out)
	}
	slices.Sort(rtts)
	return rtts[len(rtts)/2]
}
