//go:build linux

package netlab

import (
	"strings"
	"testing"
	"time"
)

// TestLANPair checks the shaped LAN hop against what it was told: one TCP flow each way
// carries at most 105 % of the configured rate (without the shaper a veth carries 15 Gbit/s
// here) and at least half of it (TCP's payload is 95.6 % of the frame bytes tbf counts; a
// gigabit of TCP is CPU work, and go test runs this beside other packages' tests on two
// cores: 713 Mbit/s was seen under load, 955 on a quiet machine).
func TestLANPair(t *testing.T) {
	lab := New(t)
	const rate = 1_000_000_000 // the make bench row's link
	cfg := LANConfig{Rate: rate}
	a, b := lab.AddLANPair(t, cfg)
	t.Logf("%s %v ↔ %s %v: %v", a.Name, a.Addr, b.Name, b.Addr, cfg)
	t.Logf("RTT unloaded: %v", median(pingRTTs(t, a, b.Addr, 5)))

	for _, dir := range []struct{ from, to *Host }{{a, b}, {b, a}} {
		got := tcpRateTo(t, dir.from, dir.to, 5002, 4*time.Second)
		stats, err := dir.from.QdiscStats()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s → %s: TCP goodput %.1f Mbit/s on a %.0f Mbit/s link\n%s", dir.from.Name, dir.to.Name, got/1e6, rate/1e6, stats)
		if got < rate*0.50 || got > rate*1.05 {
			t.Errorf("%s → %s: TCP goodput %.1f Mbit/s, want %.0f Mbit/s −50/+5 %%", dir.from.Name, dir.to.Name, got/1e6, rate/1e6)
		}
		if !strings.Contains(stats, "qdisc tbf") {
			t.Errorf("%s: no tbf on eth0:\n%s", dir.from.Name, stats)
		}
	}

	if _, _, err := lab.LANPair(LANConfig{}); err == nil {
		t.Error("a LAN without a rate was accepted")
	}
}
