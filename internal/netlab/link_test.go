//go:build linux

package netlab

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pingRTTs pings to from h and returns the round-trip times it printed.
func pingRTTs(t *testing.T, h *Host, to netip.Addr, count int) []time.Duration {
	t.Helper()
	if _, err := exec.LookPath("ping"); err != nil {
		if ciMode() {
			t.Fatal("the link test needs ping: apt-get install iputils-ping")
		}
		t.Skip("the link test needs ping: apt-get install iputils-ping")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(count)*time.Second+20*time.Second)
	defer cancel()
	out, err := h.Command(ctx, "ping", "-n", "-c", strconv.Itoa(count), "-i", "0.2", "-W", "5", to.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("ping %v from %s: %v\n%s", to, h.Name, err, out)
	}
	var rtts []time.Duration
	for _, m := range regexp.MustCompile(`time=([0-9.]+) ms`).FindAllStringSubmatch(string(out), -1) {
		ms, _ := strconv.ParseFloat(m[1], 64)
		rtts = append(rtts, time.Duration(ms*float64(time.Millisecond)))
	}
	if len(rtts) != count {
		t.Fatalf("ping printed %d replies, want %d:\n%s", len(rtts), count, out)
	}
	return rtts
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// tcpRate sends as much as it can from h to the internet host for d and
// returns the receiver's goodput in bits per second, measured after the
// first second (slow start is not the link's rate).
func tcpRate(t *testing.T, lab *Lab, h *Host, port uint16, d time.Duration) float64 {
	t.Helper()
	return tcpRateTo(t, h, lab.Internet(), port, d)
}

// tcpRateTo is tcpRate from h to any host of the lab.
func tcpRateTo(t *testing.T, h, to *Host, port uint16, d time.Duration) float64 {
	t.Helper()
	srvAddr := netip.AddrPortFrom(to.Addr, port)
	var ln net.Listener
	if err := to.Run(t, func() (err error) {
		ln, err = net.Listen("tcp4", srvAddr.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	type result struct {
		bits float64
		span time.Duration
		err  error
	}
	got := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			got <- result{err: err}
			return
		}
		defer c.Close()
		buf := make([]byte, 1<<16)
		var start time.Time
		var n int64
		first := time.Now()
		for {
			m, err := c.Read(buf)
			now := time.Now()
			if start.IsZero() && now.Sub(first) >= time.Second {
				start = now
			} else if !start.IsZero() {
				n += int64(m)
			}
			if err == io.EOF {
				got <- result{bits: float64(n * 8), span: now.Sub(start)}
				return
			}
			if err != nil {
				got <- result{err: err}
				return
			}
		}
	}()
	var c net.Conn
	if err := h.Run(t, func() (err error) {
		c, err = net.DialTimeout("tcp4", srvAddr.String(), 10*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<16)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if _, err := c.Write(buf); err != nil {
			t.Fatalf("tcp write: %v", err)
		}
	}
	c.Close()
	r := <-got
	if r.err != nil {
		t.Fatalf("tcp read: %v", r.err)
	}
	return r.bits / r.span.Seconds()
}

func ciMode() bool { return os.Getenv("CI") == "true" }

// TestLinkEmulator checks the emulator against what it was told: ping's
// round-trip time and one TCP flow's rate within 10 %, the configured loss,
// a total cut and its end, on a NATed host's uplink and on a LAN hop.
func TestLinkEmulator(t *testing.T) {
	lab := New(t)
	h := lab.AddHost(t, PortRestricted)
	inet := lab.Internet()

	base := median(pingRTTs(t, h, inet.Addr, 5))
	t.Logf("RTT without emulator: %v", base)

	const delay = 20 * time.Millisecond
	const rate = 40_000_000
	link, err := lab.EmulateUplink(h, LinkConfig{Delay: delay, Rate: rate})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %v", link.Name, link.Config())

	// The least of several pings: on a loaded host a ping's reply can wait for the CPU far
	// longer than the emulator's delay (62 ms for a 30 ms LAN once), while no reply can come
	// back sooner than the emulator lets it.
	rtt := slices.Min(pingRTTs(t, h, inet.Addr, 10))
	want := 2*delay + base
	t.Logf("RTT with emulator: %v (want %v)", rtt, want)
	if rtt < want*9/10 || rtt > want*11/10 {
		t.Errorf("ping RTT %v, want %v ±10%%", rtt, want)
	}

	got := tcpRate(t, lab, h, 5001, 4*time.Second)
	t.Logf("TCP goodput %.1f Mbit/s on a %.0f Mbit/s link; stats %+v", got/1e6, float64(rate)/1e6, link.Stats())
	if got < rate*0.9 || got > rate*1.1 {
		t.Errorf("TCP goodput %.1f Mbit/s, want %.0f Mbit/s ±10%%", got/1e6, float64(rate)/1e6)
	}

	// Loss: 20 % of one-way datagrams.
	srv := listenUDP(t, inet, netip.AddrPortFrom(inet.Addr, 9100))
	c := listenUDP(t, h, netip.AddrPortFrom(h.Addr, 9100))
	if err := link.Set(LinkConfig{Loss: 0.2}); err != nil {
		t.Fatal(err)
	}
	const probes = 400
	for i := range probes {
		send(t, c, netip.AddrPortFrom(inet.Addr, 9100), fmt.Sprint(i))
		time.Sleep(time.Millisecond)
	}
	arrived := 0
	for {
		if _, _, ok := recv(t, srv, absentWait); !ok {
			break
		}
		arrived++
	}
	lost := float64(probes-arrived) / probes
	t.Logf("20%% loss configured: %d of %d datagrams lost (%.1f%%)", probes-arrived, probes, lost*100)
	if lost < 0.12 || lost > 0.28 { // ±4.5 standard deviations
		t.Errorf("lost %.1f%% of datagrams with 20%% loss configured", lost*100)
	}

	// A total cut, then back: nothing passes, then everything does.
	if err := link.Set(LinkConfig{Loss: 1}); err != nil {
		t.Fatal(err)
	}
	send(t, c, netip.AddrPortFrom(inet.Addr, 9100), "cut")
	if msg, _, ok := recv(t, srv, absentWait); ok {
		t.Fatalf("%q crossed a link with 100%% loss", msg)
	}
	if err := link.Set(LinkConfig{}); err != nil {
		t.Fatal(err)
	}
	send(t, c, netip.AddrPortFrom(inet.Addr, 9100), "back")
	mustRecv(t, srv, "back")

	// A smaller MTU: an IP packet of exactly 1400 bytes (IPv4 20 + UDP 8 + 1372) passes, one
	// byte more is dropped silently, and the default (0) carries 1500 again.
	if err := link.Set(LinkConfig{MTU: 1400}); err != nil {
		t.Fatal(err)
	}
	fits, tooBig := strings.Repeat("f", 1400-28), strings.Repeat("b", 1401-28)
	send(t, c, netip.AddrPortFrom(inet.Addr, 9100), tooBig)
	send(t, c, netip.AddrPortFrom(inet.Addr, 9100), fits)
	if msg, _, ok := recv(t, srv, expectWait); !ok || msg != fits {
		t.Fatalf("first datagram over a link with MTU 1400: %d bytes (arrived %v), want the %d that fit", len(msg), ok, len(fits))
	}
	if msg, _, ok := recv(t, srv, absentWait); ok {
		t.Fatalf("a %d-byte datagram crossed a link with MTU 1400", len(msg))
	}
	if st := link.Stats(); st[0].TooBig != 1 {
		t.Fatalf("stats %+v, want one frame too big", st)
	}
	if err := link.Set(LinkConfig{}); err != nil {
		t.Fatal(err)
	}
	full := strings.Repeat("x", 1500-28)
	send(t, c, netip.AddrPortFrom(inet.Addr, 9100), full)
	mustRecv(t, srv, full)

	// A LAN hop: another host on h's LAN sees the delay to h, the internet does not.
	h2 := lab.AddHostBehind(t, h)
	lanLink, err := lab.EmulateLAN(h2, LinkConfig{Delay: 15 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	lanRTT := slices.Min(pingRTTs(t, h2, h.Addr, 10))
	t.Logf("%s: RTT to %s %v", lanLink.Name, h.Name, lanRTT)
	if lanRTT < 27*time.Millisecond || lanRTT > 33*time.Millisecond+base {
		t.Errorf("LAN RTT %v, want 30ms ±10%%", lanRTT)
	}

	if err := link.Set(LinkConfig{Loss: 2}); err == nil {
		t.Error("loss 2 accepted")
	}
}
