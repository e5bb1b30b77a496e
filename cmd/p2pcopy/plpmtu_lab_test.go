//go:build linux

package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/internal/netlab"
)

// TestPacketSizeProbedInLab copies between two CLIs on public hosts of the lab, across a link
// emulator (100 Mbit/s, 20 ms RTT) on the sender's uplink. On a 1500-byte path the sender's
// packets grow, by probing, to the largest SCTP packet that fits one 1500-byte IPv4 datagram
// (1432: 1500 - IPv4 20 - UDP 8 - DTLS 37, rounded to 4). With the link's MTU at 1300 (larger
// packets dropped without any ICMP message) the larger probes are lost at the link, the packets
// stay within what it carries (at most 1235) and the copy completes: no black hole.
func TestPacketSizeProbedInLab(t *testing.T) {
	lab := netlab.New(t)
	bin := binary(t)
	a, b := lab.AddHost(t, netlab.None), lab.AddHost(t, netlab.None)
	link, err := lab.EmulateUplink(a, netlab.LinkConfig{})
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "file.bin")
	want := writeRandomFile(t, src, 30_000_000)
	for _, tc := range []struct {
		mtu      int
		min, max int // the sender's packet size at the end
	}{
		{0, 1432, 1432},
		{1300, 1191, 1300 - 20 - 8 - 37},
	} {
		cfg := netlab.LinkConfig{Rate: 100_000_000, Delay: 10 * time.Millisecond, MTU: tc.mtu}
		if err := link.Set(cfg); err != nil {
			t.Fatal(err)
		}
		before := link.Stats()[0].TooBig
		out := filepath.Join(t.TempDir(), "out")
		r := labTransfer(t, bin, a, b, src, out, false, nil, "--no-stun")
		if r.code != 0 {
			t.Fatalf("MTU %d: exit %d\n%s", tc.mtu, r.code, r.stderr)
		}
		if fileSHA256(t, filepath.Join(out, "file.bin")) != want {
			t.Fatalf("MTU %d: received file differs", tc.mtu)
		}
		size := -1
		sender, _, _ := strings.Cut(r.stderr, "receiver:\n")
		for _, line := range strings.Split(sender, "\n") {
			var ev struct {
				Event       string
				PacketBytes int `json:"packet_bytes"`
			}
			if json.Unmarshal([]byte(line), &ev) == nil && ev.Event == "done" {
				size = ev.PacketBytes
			}
		}
		tooBig := link.Stats()[0].TooBig - before
		t.Logf("link MTU %d (%s): sender's SCTP packets %d bytes, %d frames too big dropped at the link",
			tc.mtu, r.path, size, tooBig)
		if size < tc.min || size > tc.max {
			t.Fatalf("link MTU %d: sender's packets %d bytes at the end, want %d..%d", tc.mtu, size, tc.min, tc.max)
		}
		if tc.mtu != 0 && tooBig < 3 {
			t.Fatalf("link MTU %d: only %d frames too big: the larger probes never reached the link", tc.mtu, tooBig)
		}
	}
}
