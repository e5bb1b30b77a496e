//go:build linux

package netlab

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	expectWait = 2 * time.Second        // for a packet that must arrive (timers can be late under load)
	absentWait = 300 * time.Millisecond // for a packet that must not arrive
)

func listenUDP(t *testing.T, h *Host, ap netip.AddrPort) *net.UDPConn {
	t.Helper()
	var c *net.UDPConn
	err := h.Run(t, func() error {
		var err error
		c, err = net.ListenUDP("udp4", net.UDPAddrFromAddrPort(ap))
		return err
	})
	if err != nil {
		t.Fatalf("listen %v in %s: %v", ap, h.Name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c *net.UDPConn, to netip.AddrPort, msg string) {
	t.Helper()
	if _, err := c.WriteToUDPAddrPort([]byte(msg), to); err != nil {
		t.Fatalf("send %q to %v: %v", msg, to, err)
	}
}

// recv returns the next datagram, or ok=false after the timeout.
func recv(t *testing.T, c *net.UDPConn, timeout time.Duration) (msg string, from netip.AddrPort, ok bool) {
	t.Helper()
	buf := make([]byte, 1500)
	c.SetReadDeadline(time.Now().Add(timeout))
	n, from, err := c.ReadFromUDPAddrPort(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", netip.AddrPort{}, false
		}
		t.Fatalf("recv: %v", err)
	}
	return string(buf[:n]), netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), true
}

// mustRecv waits for the datagram msg (skipping others) and returns its source.
func mustRecv(t *testing.T, c *net.UDPConn, msg string) netip.AddrPort {
	t.Helper()
	deadline := time.Now().Add(expectWait)
	for {
		got, from, ok := recv(t, c, time.Until(deadline))
		if !ok {
			t.Fatalf("%q did not arrive at %v within %v", msg, c.LocalAddr(), expectWait)
		}
		if got == msg {
			return from
		}
	}
}

type measured struct {
	mapping   string // endpoint-independent, address-dependent, address-and-port-dependent
	filtering string
	detail    string
}

// measure probes h's NAT against three servers on the internet host: A and B
// on the same address (two ports), C on a second address.
func measure(t *testing.T, lab *Lab, h *Host, basePort uint16) measured {
	t.Helper()
	inet := lab.Internet()
	aAddr := netip.AddrPortFrom(inet.Addr, basePort)
	bAddr := netip.AddrPortFrom(inet.Addr, basePort+1)
	cAddr := netip.AddrPortFrom(inet.Alt, basePort)
	a := listenUDP(t, inet, aAddr)
	b := listenUDP(t, inet, bAddr)
	c := listenUDP(t, inet, cAddr)

	// Mapping: one client socket, three destinations.
	m := listenUDP(t, h, netip.AddrPortFrom(h.Addr, 40000))
	send(t, m, aAddr, "map")
	send(t, m, bAddr, "map")
	send(t, m, cAddr, "map")
	sa, sb, sc := mustRecv(t, a, "map"), mustRecv(t, b, "map"), mustRecv(t, c, "map")
	for _, s := range []netip.AddrPort{sa, sb, sc} {
		if s.Addr() != h.Public {
			t.Errorf("%v: server saw source %v, want address %v", h.NAT, s, h.Public)
		}
	}
	var res measured
	switch {
	case sa == sb && sa == sc:
		res.mapping = "endpoint-independent"
	case sa == sb:
		res.mapping = "address-dependent"
	default:
		res.mapping = "address-and-port-dependent"
	}
	res.detail = fmt.Sprintf("port %d -> %d, %d, %d", 40000, sa.Port(), sb.Port(), sc.Port())

	// Filtering: a fresh socket contacts A only; then B (same address, other
	// port) and C (other address) send to the mapped endpoint, and A last as
	// a control that must arrive. Paths are identical, so B's and C's
	// packets, if let through, arrive before the control; wait a bit longer
	// anyway.
	f := listenUDP(t, h, netip.AddrPortFrom(h.Addr, 40001))
	send(t, f, aAddr, "hello")
	mapped := mustRecv(t, a, "hello")
	send(t, b, mapped, "from-port")
	send(t, c, mapped, "from-addr")
	send(t, a, mapped, "control")
	got := map[string]bool{}
	deadline := time.Now().Add(expectWait)
	for !got["control"] {
		msg, _, ok := recv(t, f, time.Until(deadline))
		if !ok {
			t.Fatalf("%v: control packet from the contacted server did not arrive", h.NAT)
		}
		got[msg] = true
	}
	for {
		msg, _, ok := recv(t, f, absentWait)
		if !ok {
			break
		}
		got[msg] = true
	}
	switch {
	case got["from-port"] && got["from-addr"]:
		res.filtering = "endpoint-independent"
	case got["from-port"]:
		res.filtering = "address-dependent"
	case !got["from-addr"]:
		res.filtering = "address-and-port-dependent"
	default:
		res.filtering = "inconsistent (other address passed, other port did not)"
	}
	return res
}

func TestNATBehaviour(t *testing.T) {
	start := time.Now()
	lab := New(t)
	want := []struct {
		nat                NAT
		mapping, filtering string
	}{
		{FullCone, "endpoint-independent", "endpoint-independent"},
		{AddressRestricted, "endpoint-independent", "address-dependent"},
		{PortRestricted, "endpoint-independent", "address-and-port-dependent"},
		{Symmetric, "address-and-port-dependent", "address-and-port-dependent"},
		{None, "endpoint-independent", "endpoint-independent"},
	}
	hosts := make([]*Host, len(want))
	for i, w := range want {
		hosts[i] = lab.AddHost(t, w.nat)
	}
	t.Logf("lab set up in %v", time.Since(start).Round(time.Millisecond))
	for i, w := range want {
		h := hosts[i]
		t.Run(w.nat.String(), func(t *testing.T) {
			got := measure(t, lab, h, uint16(5000+10*i))
			t.Logf("%s: mapping %s (%s), filtering %s", w.nat, got.mapping, got.detail, got.filtering)
			mapOK := got.mapping == w.mapping
			if w.nat == Symmetric {
				// Random ports: two of three may coincide by chance; any
				// dependence on the endpoint is symmetric.
				mapOK = got.mapping != "endpoint-independent"
			}
			if !mapOK || got.filtering != w.filtering {
				t.Errorf("%s: got mapping %s, filtering %s; want %s, %s", w.nat, got.mapping, got.filtering, w.mapping, w.filtering)
			}
			if w.nat != Symmetric && !strings.Contains(got.detail, "-> 40000, 40000, 40000") {
				t.Errorf("%s: port not preserved: %s", w.nat, got.detail)
			}
		})
	}
}

// TestLANAndOutage: two hosts on one LAN reach each other directly and share
// the router's public address; a public host is reachable from behind a NAT;
// the link emulator at 100 % loss cuts the uplink and restores it with
// mappings intact.
func TestLANAndOutage(t *testing.T) {
	lab := New(t)
	h1 := lab.AddHost(t, PortRestricted)
	h2 := lab.AddHostBehind(t, h1)
	pub := lab.AddHost(t, None)
	uplink, err := lab.EmulateUplink(h1, LinkConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if h2.Addr == h1.Addr || h2.Public != h1.Public || h2.Router != h1.Router {
		t.Fatalf("same-LAN host: %+v vs %+v", h2, h1)
	}

	c1 := listenUDP(t, h1, netip.AddrPortFrom(h1.Addr, 7000))
	c2 := listenUDP(t, h2, netip.AddrPortFrom(h2.Addr, 7000))
	send(t, c2, netip.AddrPortFrom(h1.Addr, 7000), "lan")
	if from := mustRecv(t, c1, "lan"); from.Addr() != h2.Addr {
		t.Errorf("LAN packet came from %v, want %v (no NAT inside the LAN)", from, h2.Addr)
	}

	p := listenUDP(t, pub, netip.AddrPortFrom(pub.Addr, 7000))
	send(t, c2, netip.AddrPortFrom(pub.Addr, 7000), "out2")
	if from := mustRecv(t, p, "out2"); from.Addr() != h1.Public {
		t.Errorf("h2 seen from %v, want %v", from, h1.Public)
	}
	send(t, c1, netip.AddrPortFrom(pub.Addr, 7000), "out1")
	from1 := mustRecv(t, p, "out1")
	if from1.Addr() != h1.Public {
		t.Errorf("h1 seen from %v, want %v", from1, h1.Public)
	}
	// Same local port on both hosts: the NAT must give them different ports.
	t.Logf("h1 and h2 both bound to port 7000; public host sees h1 as %v", from1)

	if err := uplink.Set(LinkConfig{Loss: 1}); err != nil {
		t.Fatal(err)
	}
	send(t, c1, netip.AddrPortFrom(pub.Addr, 7000), "during")
	send(t, p, from1, "during-in")
	if msg, _, ok := recv(t, p, absentWait); ok {
		t.Errorf("public host received %q during the outage", msg)
	}
	if msg, _, ok := recv(t, c1, absentWait); ok {
		t.Errorf("h1 received %q during the outage", msg)
	}
	if err := uplink.Set(LinkConfig{}); err != nil {
		t.Fatal(err)
	}
	send(t, c1, netip.AddrPortFrom(pub.Addr, 7000), "after")
	if from := mustRecv(t, p, "after"); from != from1 {
		t.Errorf("mapping changed across the outage: %v then %v", from1, from)
	}
	send(t, p, from1, "reply")
	mustRecv(t, c1, "reply")

	// Router settings from DESIGN.md §6.
	for key, want := range map[string]string{
		"ipv4/ip_forward":            "1",
		"ipv4/conf/all/rp_filter":    "0",
		"ipv4/conf/wan/rp_filter":    "0",
		"ipv4/conf/lan/rp_filter":    "0",
		"ipv6/conf/all/disable_ipv6": "1",
	} {
		out, err := exec.Command(ipTool(), "netns", "exec", h1.Router, "cat", "/proc/sys/net/"+key).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != want {
			t.Errorf("router %s: net.%s = %q (%v), want %s", h1.Router, key, out, err, want)
		}
	}

	// Command runs programs inside the namespace.
	out, err := h2.Command(t.Context(), "ip", "-4", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil || !strings.Contains(string(out), h2.Addr.String()+"/24") {
		t.Errorf("Command in %s: %v: %s", h2.Netns, err, out)
	}
}

func netnsList(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(ipTool(), "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v: %s", err, out)
	}
	return string(out)
}

func TestTeardown(t *testing.T) {
	Require(t)
	var names []string
	t.Run("lab", func(t *testing.T) {
		lab := New(t)
		lab.AddHost(t, FullCone)
		h := lab.AddHost(t, Symmetric)
		lab.AddHostBehind(t, h)
		lab.AddHost(t, None)
		names = lab.Namespaces()
		list := netnsList(t)
		for _, n := range names {
			if !strings.Contains(list, n) {
				t.Errorf("namespace %s missing while the lab is up", n)
			}
		}
	})
	if len(names) != 7 { // inet, r1, h1, r2, h2, h2-2, p3
		t.Fatalf("lab created %d namespaces, want 7: %v", len(names), names)
	}
	list := netnsList(t)
	for _, n := range names {
		if strings.Contains(list, n) {
			t.Errorf("namespace %s left after teardown", n)
		}
		if _, err := os.Stat(filepath.Join("/run/netns", n)); err == nil {
			t.Errorf("/run/netns/%s left after teardown", n)
		}
	}

	// A second lab right after works.
	lab := New(t)
	h := lab.AddHost(t, FullCone)
	srv := listenUDP(t, lab.Internet(), netip.AddrPortFrom(lab.Internet().Addr, 9000))
	c := listenUDP(t, h, netip.AddrPortFrom(h.Addr, 9000))
	send(t, c, netip.AddrPortFrom(lab.Internet().Addr, 9000), "again")
	if from := mustRecv(t, srv, "again"); from.Addr() != h.Public {
		t.Errorf("second lab: seen from %v, want %v", from, h.Public)
	}
}

// TestRunRestoresNamespace: Run switches back, also after f fails or panics.
func TestRunRestoresNamespace(t *testing.T) {
	lab := New(t)
	h := lab.AddHost(t, None)
	self := func() string {
		s, err := os.Readlink("/proc/thread-self/ns/net")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	var inside string
	if err := h.Run(t, func() error { inside = self(); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.Run(t, func() error { return errors.New("boom") }); err == nil || err.Error() != "boom" {
		t.Errorf("error from f: got %v", err)
	}
	if err := h.Run(t, func() error { panic("oops") }); err == nil || !strings.Contains(err.Error(), "oops") {
		t.Errorf("panic in f: got %v", err)
	}
	// Many goroutines: none of them may run in h's namespace after Run.
	errs := make(chan error, 50)
	for range 50 {
		go func() {
			s, err := os.Readlink("/proc/thread-self/ns/net")
			if err == nil && s == inside {
				err = fmt.Errorf("goroutine ran in the lab namespace %s", s)
			}
			errs <- err
		}()
	}
	for range 50 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if inside == "" {
		t.Fatal("Run did not run f")
	}
}
