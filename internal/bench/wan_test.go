//go:build linux

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/netlab"
)

// Section 2: the emulated WAN, p2pcopy against TCP cubic over delay and loss.

func wan(b *testing.B, lab *netlab.Lab, bin string, rep *report) {
	a, bh := lab.AddHost(b, netlab.None), lab.AddHost(b, netlab.None)
	link, err := lab.EmulateUplink(a, netlab.LinkConfig{})
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	src := filepath.Join(dir, "file.bin")
	want := randomFile(b, src, *wanBytes)
	const linkRate = 100_000_000
	var rows []string
	var rtts []time.Duration
	var losses []float64
	packet := sctpMTU // the largest packet size any row's sender ended with
	for _, v := range strings.Split(*rttFlag, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			b.Fatalf("-rtts: %v", err)
		}
		rtts = append(rtts, d)
	}
	for _, v := range strings.Split(*lossFlag, ",") {
		var f float64
		if _, err := fmt.Sscan(strings.TrimSpace(v), &f); err != nil {
			b.Fatalf("-losses: %v", err)
		}
		losses = append(losses, f)
	}
	for _, rtt := range rtts {
		for _, loss := range losses {
			cfg := netlab.LinkConfig{Rate: linkRate, Delay: rtt / 2, Loss: loss}
			if err := link.Set(cfg); err != nil {
				b.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			r := p2pcopy(b, bin, a, bh, src, out, *wanLimit, "--no-stun")
			if r.err != nil {
				b.Fatalf("p2pcopy over %v: %v", cfg, r.err)
			}
			packet = max(packet, r.packet)
			got := received(out, "file.bin")
			note := ""
			if r.timedOut {
				note = fmt.Sprintf("stopped after %v with %.0f MB", *wanLimit, float64(got)/mb)
			} else if fileHash(b, filepath.Join(out, "file.bin")) != want {
				b.Fatal("p2pcopy over the emulated WAN: received file differs")
			}
			p2p := rate(got, r.data)
			os.RemoveAll(out)
			if r.data == 0 {
				p2p = 0
			}

			n, d := *wanBytes, time.Duration(0)
			if *tcpFlag {
				n, d = tcpCopy(b, a, bh, src, filepath.Join(dir, "tcp.bin"), *wanLimit)
			}
			tcp := rate(n, d)
			if n < *wanBytes {
				note = strings.TrimPrefix(note+fmt.Sprintf("; TCP stopped after %v with %.0f MB", *wanLimit, float64(n)/mb), "; ")
			}
			os.Remove(filepath.Join(dir, "tcp.bin"))
			linkMB := float64(linkRate) / 8 / mb
			rows = append(rows, fmt.Sprintf("| %v | %g %% | %.2f | %.2f | %.2f | %.2f | %.0f %% | %s |",
				rtt, loss*100, p2p, tcp, linkMB, p2p/tcp, 100*p2p/linkMB, note))
			fmt.Fprintf(os.Stderr, "WAN %v: p2pcopy %.2f MB/s (%s), TCP %.2f MB/s\n", cfg, p2p, r.pair, tcp)
			b.Logf("WAN %v: p2pcopy %.2f MB/s (%s), TCP %.2f MB/s; link stats so far %+v", cfg, p2p, r.pair, tcp, link.Stats())
		}
	}
	rep.add(fmt.Sprintf("2. Emulated WAN: 100 Mbit/s, %.0f MB file, public hosts, emulator on the sender's uplink", float64(*wanBytes)/mb),
		"| RTT | loss each way | p2pcopy MB/s | TCP cubic MB/s | link MB/s | p2pcopy ÷ TCP | p2pcopy ÷ link | note |", rows)
	rep.note(fmt.Sprintf("The link rate counts whole Ethernet frames. pion sends SCTP packets of at most %d bytes "+
		"(a constant in pion/webrtc, safe on any Internet path); between two CLIs each side probes the path and "+
		"grows them (RFC 8899; here to %d bytes, as the senders reported). Every packet also carries a DTLS record "+
		"header, nonce and tag (37 bytes), UDP, IPv4 and Ethernet headers (42 bytes) and a DATA chunk header "+
		"(16 bytes in the SCTP packet): at most %.1f %% of the frame bytes can be file bytes with %d-byte packets "+
		"(%.2f MB/s here), %.1f %% with %d-byte ones. TCP's ceiling with 1448-byte segments in 1514-byte frames is "+
		"%.1f %%.", sctpMTU, packet, 100*p2pCeiling(packet), packet, p2pCeiling(packet)*float64(linkRate)/8/mb,
		100*p2pCeiling(sctpMTU), sctpMTU, 100*1448.0/1514))
}
