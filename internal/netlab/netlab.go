//go:build linux

// Package netlab builds a real-kernel NAT lab for tests out of Linux network
// namespaces, veth pairs, bridges and nftables.
//
// Topology (every name carries a random lab id, so concurrent labs never collide):
//
//	nl-<id>-inet   the "internet": bridge br0 with 203.0.113.1/24 and 203.0.113.2/24
//	               (TEST-NET-3); Lab.Internet() runs code here (STUN/TURN servers).
//	               Its default route leads into a sink that drops everything, so
//	               sends to other addresses succeed and vanish, as on the internet.
//	nl-<id>-rN     router N: "wan" veth on br0 with 203.0.113.x, bridge "lan" with
//	               10.N.0.1/24, nftables NAT of the chosen kind, ip_forward=1,
//	               rp_filter=0, unsolicited WAN input dropped silently.
//	nl-<id>-hN     host behind router N: eth0 10.N.0.2/24, default via 10.N.0.1;
//	nl-<id>-hN-K   further hosts on the same LAN (AddHostBehind) get 10.N.0.(K+1).
//	nl-<id>-pN     public host: eth0 on br0 with its own 203.0.113.x, no NAT.
//	nl-<id>-lNa    a shaped LAN pair (AddLANPair): eth0 172.16.N.1/24, one veth to
//	nl-<id>-lNb    eth0 172.16.N.2/24, each end's egress shaped by tc tbf; no router.
//	nl-<id>-wX     a link emulator (EmulateUplink, EmulateLAN) cut into hop X: two
//	               TAP devices bridged to the two halves of the hop, frames moved
//	               between them by the test process with delay, loss and rate.
//
// IPv6 is disabled in every lab namespace; the lab is IPv4 only. All
// interfaces live inside the lab's namespaces: nothing is created in the
// caller's namespace and no traffic can leave the lab.
//
// Needs root, iproute2 (ip) and nftables (nft).
package netlab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const (
	internetAddr = "203.0.113.1"
	internetAlt  = "203.0.113.2"
	sinkGateway  = "198.51.100.1" // TEST-NET-2: the internet's default route, into a sink
	firstPublic  = 10             // first host octet handed to routers and public hosts
	lastPublic   = 254            // last one
	maxRouters   = 250            // 10.N.0.0/24 with N in 1..maxRouters
)

// Lab is one NAT lab. Create it with New; it is torn down when the test ends.
type Lab struct {
	id string

	mu         sync.Mutex
	namespaces []string // every namespace created, in creation order
	nextPublic int      // next last octet in 203.0.113.0/24
	routers    int      // routers and public hosts created so far
	closed     bool
	internet   *Host
	lanHosts   map[int]int // hosts on router N's LAN so far
	lanPairs   int         // shaped LAN pairs so far (AddLANPair)
	links      []*Link     // link emulators, stopped before namespaces go
}

// Host is a namespace with one address; run code in it with Run or Command.
type Host struct {
	Name   string     // short human name, e.g. "h1", "h1-2", "p3", "internet"
	Netns  string     // network namespace name (/run/netns/<Netns>)
	Addr   netip.Addr // the host's own address (private behind a NAT)
	Public netip.Addr // its router's WAN address, or Addr when public
	Alt    netip.Addr // a second own address; only set on Lab.Internet()
	NAT    NAT        // the kind of NAT in front of the host (None if public)
	Router string     // the router's namespace, "" when there is none

	lab      *Lab
	lanNet   int    // N of 10.N.0.0/24, 0 when public
	inetPort string // the uplink's port on the internet bridge ("rN" or "pN")
	lanPort  string // h's port on its router's LAN bridge, "" when public
}

// Require skips the test (or fails it when CI=true) unless the process is
// root and the ip and nft tools are installed.
func Require(t testing.TB) {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	fail := func(msg string) {
		t.Helper()
		if ci {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	if os.Geteuid() != 0 {
		if ci {
			t.Fatal("needs root in CI")
		}
		t.Skip("needs root: netlab creates network namespaces")
	}
	if toolPath("ip") == "" {
		fail("netlab needs the ip tool: apt-get install iproute2")
	}
	if toolPath("nft") == "" {
		fail("netlab needs the nft tool: apt-get install nftables")
	}
}

// toolPath finds a tool in PATH or, as non-root users' PATH often lacks
// them, in /usr/sbin and /sbin. It returns "" if the tool is missing.
func toolPath(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// ipTool is the path of the ip tool (falls back to "ip" for error messages).
func ipTool() string {
	if p := toolPath("ip"); p != "" {
		return p
	}
	return "ip"
}

// New creates a lab with its internet namespace. It calls Require first, and
// registers a cleanup that deletes every namespace the lab created, even when
// the test fails or panics.
func New(t testing.TB) *Lab {
	t.Helper()
	Require(t)
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	l := &Lab{id: hex.EncodeToString(b[:]), nextPublic: firstPublic, lanHosts: map[int]int{}}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("netlab teardown: %v", err)
		}
	})
	if err := l.setupInternet(); err != nil {
		t.Fatalf("netlab: %v", err)
	}
	return l
}

// Internet is a host on the internet side (addresses 203.0.113.1 and
// 203.0.113.2), for servers such as STUN/TURN.
func (l *Lab) Internet() *Host { return l.internet }

// Namespaces lists the namespaces the lab created.
func (l *Lab) Namespaces() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.namespaces...)
}

// AddHost adds a host behind a new router of the given kind, or directly on
// the internet when nat is None. It fails the test on error.
func (l *Lab) AddHost(t testing.TB, nat NAT) *Host {
	t.Helper()
	h, err := l.Add(nat)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// AddHostBehind adds a host on the same LAN as h, behind h's router. It fails
// the test on error, or when h is public or the internet host.
func (l *Lab) AddHostBehind(t testing.TB, h *Host) *Host {
	t.Helper()
	h2, err := l.AddBehind(h)
	if err != nil {
		t.Fatal(err)
	}
	return h2
}

// Add is AddHost returning an error instead of failing the test.
func (l *Lab) Add(nat NAT) (*Host, error) {
	if nat < FullCone || nat > None {
		return nil, fmt.Errorf("netlab: unknown NAT kind %d", int(nat))
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("netlab: lab is closed")
	}
	if l.routers >= maxRouters || l.nextPublic > lastPublic {
		l.mu.Unlock()
		return nil, errors.New("netlab: lab is full")
	}
	l.routers++
	n := l.routers
	pub := netip.AddrFrom4([4]byte{203, 0, 113, byte(l.nextPublic)})
	l.nextPublic++
	l.mu.Unlock()

	if nat == None {
		return l.addPublic(n, pub)
	}
	return l.addNATed(n, nat, pub)
}

// AddBehind is AddHostBehind returning an error instead of failing the test.
func (l *Lab) AddBehind(h *Host) (*Host, error) {
	if h == nil || h.lab != l || h.Router == "" {
		return nil, errors.New("netlab: AddHostBehind needs a host behind a router of this lab")
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("netlab: lab is closed")
	}
	k := l.lanHosts[h.lanNet] + 1
	if k > 250 {
		l.mu.Unlock()
		return nil, errors.New("netlab: LAN is full")
	}
	l.lanHosts[h.lanNet] = k
	l.mu.Unlock()
	h2, err := l.addLANHost(h.Router, h.lanNet, k, fmt.Sprintf("h%d-%d", h.lanNet, k), h.NAT, h.Public)
	if err != nil {
		return nil, err
	}
	h2.inetPort = h.inetPort
	return h2, nil
}

// Run runs f on a locked OS thread switched into h's network namespace and
// switches back afterwards. Sockets f opens stay in that namespace after Run
// returns; goroutines f starts do NOT run in the namespace. f must not call
// t.FailNow/t.Fatal. t may be nil.
func (h *Host) Run(t testing.TB, f func() error) error {
	if t != nil {
		t.Helper()
	}
	return runIn(h.Netns, f)
}

// Command returns `ip netns exec <h.Netns> name args...` (ip execs the
// program in place, so the process is the program itself). Kill it before
// the lab is torn down: a live process keeps its namespace alive.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, ipTool(), append([]string{"netns", "exec", h.Netns, name}, args...)...)
}

// Close deletes every namespace of the lab (which removes their interfaces).
// It is idempotent; New registers it with t.Cleanup.
func (l *Lab) Close() error {
	l.mu.Lock()
	l.closed = true
	nss := l.namespaces
	l.namespaces = nil
	links := l.links
	l.links = nil
	l.mu.Unlock()
	for _, k := range links {
		k.close()
	}
	var errs []error
	for i := len(nss) - 1; i >= 0; i-- {
		if err := ip("netns", "del", nss[i]); err != nil {
			if _, serr := os.Stat(filepath.Join("/run/netns", nss[i])); serr != nil {
				continue // already gone
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (l *Lab) nsName(short string) string { return "nl-" + l.id + "-" + short }

// addNS creates a namespace, records it for teardown, brings lo up and
// disables IPv6.
func (l *Lab) addNS(short string) (string, error) {
	ns := l.nsName(short)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return "", errors.New("netlab: lab is closed")
	}
	// Record first: if "add" half-succeeds, teardown still tries to delete it.
	l.namespaces = append(l.namespaces, ns)
	l.mu.Unlock()
	if err := ip("netns", "add", ns); err != nil {
		return "", err
	}
	if err := ip("-n", ns, "link", "set", "lo", "up"); err != nil {
		return "", err
	}
	// Before any interface exists, so new ones inherit "default". Kernels
	// without IPv6 have no such files; that is fine.
	_ = sysctl(ns, map[string]string{
		"net/ipv6/conf/all/disable_ipv6":     "1",
		"net/ipv6/conf/default/disable_ipv6": "1",
	})
	return ns, nil
}

func (l *Lab) setupInternet() error {
	ns, err := l.addNS("inet")
	if err != nil {
		return err
	}
	if err := ipBatch(ns,
		"link add br0 type bridge",
		"addr add "+internetAddr+"/24 dev br0",
		"addr add "+internetAlt+"/24 dev br0",
		"link set br0 up",
		// A default route into a sink, as a real internet host has one: without it a
		// server's send to an unroutable address (a peer's private host candidate)
		// fails with ENETUNREACH, and coturn then closes the whole relay socket of
		// that allocation. The sink is a veth pair whose far end has no address and
		// a different MAC, so it silently drops whatever it gets.
		"link add sink type veth peer name sink1",
		"link set sink up",
		"link set sink1 up",
		"neigh add "+sinkGateway+" lladdr 02:00:00:00:00:01 dev sink nud permanent",
		"route add default via "+sinkGateway+" dev sink onlink",
	); err != nil {
		return err
	}
	l.internet = &Host{
		Name: "internet", Netns: ns, lab: l, NAT: None,
		Addr:   netip.MustParseAddr(internetAddr),
		Public: netip.MustParseAddr(internetAddr),
		Alt:    netip.MustParseAddr(internetAlt),
	}
	return nil
}

// plug creates a veth pair: inetDev attached to the internet bridge, and
// farDev in namespace farNS.
func (l *Lab) plug(inetDev, farNS, farDev string) error {
	inet := l.internet.Netns
	if err := ip("-n", inet, "link", "add", inetDev, "type", "veth", "peer", "name", farDev, "netns", farNS); err != nil {
		return err
	}
	return ip("-n", inet, "link", "set", inetDev, "master", "br0", "up")
}

func (l *Lab) addPublic(n int, pub netip.Addr) (*Host, error) {
	name := fmt.Sprintf("p%d", n)
	ns, err := l.addNS(name)
	if err != nil {
		return nil, err
	}
	if err := l.plug(name, ns, "eth0"); err != nil {
		return nil, err
	}
	if err := ipBatch(ns,
		"addr add "+pub.String()+"/24 dev eth0",
		"link set eth0 up",
	); err != nil {
		return nil, err
	}
	return &Host{Name: name, Netns: ns, Addr: pub, Public: pub, NAT: None, lab: l, inetPort: name}, nil
}

func (l *Lab) addNATed(n int, nat NAT, pub netip.Addr) (*Host, error) {
	rules, err := natRules(nat, pub)
	if err != nil {
		return nil, err
	}
	rname := fmt.Sprintf("r%d", n)
	rns, err := l.addNS(rname)
	if err != nil {
		return nil, err
	}
	if err := sysctl(rns, map[string]string{
		"net/ipv4/ip_forward":              "1",
		"net/ipv4/conf/all/rp_filter":      "0",
		"net/ipv4/conf/default/rp_filter":  "0",
		"net/ipv4/conf/all/send_redirects": "0",
	}); err != nil {
		return nil, err
	}
	if err := l.plug(rname, rns, "wan"); err != nil {
		return nil, err
	}
	if err := ipBatch(rns,
		"addr add "+pub.String()+"/24 dev wan",
		"link set wan up",
		"link add lan type bridge",
		fmt.Sprintf("addr add 10.%d.0.1/24 dev lan", n),
		"link set lan up",
	); err != nil {
		return nil, err
	}
	if err := sysctl(rns, map[string]string{
		"net/ipv4/conf/wan/rp_filter": "0",
		"net/ipv4/conf/lan/rp_filter": "0",
	}); err != nil {
		return nil, err
	}
	if err := nft(rns, rules); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.lanHosts[n] = 1
	l.mu.Unlock()
	h, err := l.addLANHost(rns, n, 1, fmt.Sprintf("h%d", n), nat, pub)
	if err != nil {
		return nil, err
	}
	h.inetPort = rname
	return h, nil
}

// addLANHost plugs host k (address 10.n.0.(k+1)) into router rns's LAN bridge.
func (l *Lab) addLANHost(rns string, n, k int, name string, nat NAT, pub netip.Addr) (*Host, error) {
	ns, err := l.addNS(name)
	if err != nil {
		return nil, err
	}
	port := fmt.Sprintf("h%d", k)
	addr := netip.AddrFrom4([4]byte{10, byte(n), 0, byte(k + 1)})
	if err := ip("-n", rns, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns); err != nil {
		return nil, err
	}
	if err := ip("-n", rns, "link", "set", port, "master", "lan", "up"); err != nil {
		return nil, err
	}
	if err := ipBatch(ns,
		"addr add "+addr.String()+"/24 dev eth0",
		"link set eth0 up",
		fmt.Sprintf("route add default via 10.%d.0.1", n),
	); err != nil {
		return nil, err
	}
	return &Host{Name: name, Netns: ns, Addr: addr, Public: pub, NAT: nat, Router: rns, lab: l, lanNet: n, lanPort: port}, nil
}

// ip runs the ip tool.
func ip(args ...string) error {
	return runTool(nil, ipTool(), args...)
}

// ipBatch runs several ip commands in namespace ns with one process.
func ipBatch(ns string, cmds ...string) error {
	return runTool(strings.NewReader(strings.Join(cmds, "\n")+"\n"), ipTool(), "-n", ns, "-batch", "-")
}

// nft loads a ruleset into namespace ns.
func nft(ns, rules string) error {
	nftPath := toolPath("nft")
	if nftPath == "" {
		return errors.New("netlab: nft not found: apt-get install nftables")
	}
	return runTool(strings.NewReader(rules), ipTool(), "netns", "exec", ns, nftPath, "-f", "-")
}

func runTool(stdin *strings.Reader, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("netlab: %s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// sysctl writes /proc/sys/<key> values inside namespace ns.
func sysctl(ns string, kv map[string]string) error {
	return runIn(ns, func() error {
		var errs []error
		for k, v := range kv {
			if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644); err != nil {
				errs = append(errs, fmt.Errorf("netlab: sysctl %s=%s in %s: %w", k, v, ns, err))
			}
		}
		return errors.Join(errs...)
	})
}
