//go:build linux

package netlab

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// LinkConfig describes an emulated link. Every field applies to each
// direction on its own, like a symmetric cable: a Delay of 50 ms adds 100 ms
// to the round-trip time.
type LinkConfig struct {
	// Delay is the one-way propagation delay added to every frame.
	Delay time.Duration
	// Loss is the probability (0..1) that a frame is dropped; 1 cuts the link.
	Loss float64
	// Rate is the link rate in bits per second, counted on whole Ethernet
	// frames; 0 means unlimited.
	Rate int64
	// QueueBytes is the drop-tail queue in front of the rate limit. 0 means
	// one bandwidth-delay product of the configured round trip (at least
	// 64 KiB), the classic router sizing that lets one TCP flow fill the link.
	QueueBytes int
	// MTU is the largest IP packet the link carries; 0 means the 1500 bytes of
	// its Ethernet devices. A larger packet is dropped without an ICMP "packet
	// too big" (the path MTU black hole a tunnel or a misconfigured router
	// makes, which only packetization-layer probing finds); see LinkStats.TooBig.
	MTU int
}

func (c LinkConfig) String() string {
	rate := "unlimited"
	if c.Rate > 0 {
		rate = fmt.Sprintf("%.3g Mbit/s", float64(c.Rate)/1e6)
	}
	return fmt.Sprintf("%s, RTT +%v, loss %.3g%%, queue %d B", rate, 2*c.Delay, c.Loss*100, c.queueLimit())
}

func (c LinkConfig) validate() error {
	if c.Delay < 0 || c.Delay > time.Minute {
		return fmt.Errorf("netlab: link delay %v out of range 0..1m", c.Delay)
	}
	if c.Loss < 0 || c.Loss > 1 {
		return fmt.Errorf("netlab: link loss %v out of range 0..1", c.Loss)
	}
	if c.MTU < 0 || c.MTU > 0 && c.MTU < 576 {
		return fmt.Errorf("netlab: link MTU %d below IPv4's minimum of 576", c.MTU)
	}
	if c.Rate < 0 || c.QueueBytes < 0 {
		return errors.New("netlab: negative link rate or queue")
	}
	return nil
}

// queueLimit is the queue size in bytes (only meaningful with a rate).
func (c LinkConfig) queueLimit() int {
	if c.QueueBytes > 0 {
		return c.QueueBytes
	}
	bdp := int(float64(c.Rate) / 8 * (2 * c.Delay).Seconds())
	return max(bdp, 64<<10)
}

// LinkStats counts frames in one direction of a Link.
type LinkStats struct {
	Forwarded int64 // frames delivered
	Lost      int64 // frames dropped by the configured loss
	Overflow  int64 // frames dropped because the queue was full
	TooBig    int64 // frames dropped because their IP packet exceeded the MTU
}

// Link is a link emulator cut into one hop of the lab: a namespace with two
// TAP devices, each bridged to one side of the hop, and two goroutines per
// direction that move Ethernet frames from one TAP to the other with the
// configured delay, loss and rate. The kernel segments TSO/GSO packets before
// it hands them to a TAP (which offers no offloads), so every frame is at
// most one MTU and the rate is counted as on a real wire.
//
// Frames leave in arrival order; the rate and the queue are accounted when a
// frame arrives, so late timers on a loaded machine add delay but never
// bandwidth.
type Link struct {
	Name string // e.g. "uplink of h1"

	mu   sync.Mutex
	cfg  LinkConfig
	dirs [2]*direction // 0: from the host's side, 1: towards the host

	taps   [2]*os.File
	wg     sync.WaitGroup
	closed bool
}

const maxFrame = 1 << 16

// ethernetHeader is what a TAP frame (IFF_NO_PI, no VLAN tag) carries before the IP packet:
// destination and source MAC addresses and the EtherType.
const ethernetHeader = 14

type frame struct {
	at  time.Time // when it leaves the link
	buf []byte
}

type direction struct {
	link     *Link
	in, out  *os.File
	queue    chan frame
	rng      *rand.Rand
	busyTill time.Time // when the last accepted frame has been serialised

	mu    sync.Mutex
	stats LinkStats
}

// Set changes the link's behaviour from now on; frames already queued keep
// the timing they were given.
func (k *Link) Set(cfg LinkConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	k.mu.Lock()
	k.cfg = cfg
	k.mu.Unlock()
	return nil
}

// Config returns the current configuration.
func (k *Link) Config() LinkConfig {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cfg
}

// Stats returns the counters of both directions: [0] from the host's side
// (upload), [1] towards the host (download).
func (k *Link) Stats() [2]LinkStats {
	var s [2]LinkStats
	for i, d := range k.dirs {
		d.mu.Lock()
		s[i] = d.stats
		d.mu.Unlock()
	}
	return s
}

// close stops the emulator; the lab calls it before deleting namespaces.
func (k *Link) close() {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	k.closed = true
	k.mu.Unlock()
	for _, f := range k.taps {
		f.Close()
	}
	k.wg.Wait()
}

// EmulateUplink cuts a link emulator into the hop between h's router (or h
// itself when it is public) and the internet. Hosts behind the same router
// share it. Insert it before traffic starts: the hop is briefly down while
// it is rewired.
func (l *Lab) EmulateUplink(h *Host, cfg LinkConfig) (*Link, error) {
	if h == nil || h.lab != l || h.inetPort == "" {
		return nil, errors.New("netlab: EmulateUplink needs a NATed or public host of this lab")
	}
	return l.emulate("uplink of "+h.Name, "w"+h.inetPort, l.internet.Netns, "br0", h.inetPort, cfg)
}

// EmulateLAN cuts a link emulator into the hop between h and its router's LAN
// (for example the Wi-Fi of one laptop).
func (l *Lab) EmulateLAN(h *Host, cfg LinkConfig) (*Link, error) {
	if h == nil || h.lab != l || h.lanPort == "" {
		return nil, errors.New("netlab: EmulateLAN needs a host behind a router of this lab")
	}
	return l.emulate("LAN link of "+h.Name, "w"+h.Name, h.Router, "lan", h.lanPort, cfg)
}

// emulate moves port (a veth end enslaved to bridge in namespace ns) into a
// new wire namespace and replaces it in ns by a fresh veth whose other end is
// in the wire namespace too. Inside, each veth end shares a bridge with one
// TAP device, and a Link forwards between the TAPs:
//
//	far side ── port (in wire: "wa") ─ bra ─ ta ⇄ Link ⇄ tb ─ brb ─ wb ── port (in ns) ─ bridge
func (l *Lab) emulate(name, short, ns, bridge, port string, cfg LinkConfig) (*Link, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	wns, err := l.addNS(short)
	if err != nil {
		return nil, err
	}
	if err := ipBatch(ns,
		"link set dev "+port+" nomaster",
		"link set dev "+port+" down",
		"link set dev "+port+" netns "+wns,
	); err != nil {
		return nil, err
	}
	if err := ip("-n", wns, "link", "set", "dev", port, "name", "wa"); err != nil {
		return nil, err
	}
	if err := ip("-n", wns, "link", "add", "name", "wb", "type", "veth", "peer", "name", port, "netns", ns); err != nil {
		return nil, err
	}
	if err := ip("-n", ns, "link", "set", "dev", port, "master", bridge, "up"); err != nil {
		return nil, err
	}

	k := &Link{Name: name, cfg: cfg}
	err = runIn(wns, func() error {
		for i, dev := range []string{"ta", "tb"} {
			f, err := openTAP(dev)
			if err != nil {
				return err
			}
			k.taps[i] = f
		}
		return nil
	})
	if err != nil {
		for _, f := range k.taps {
			if f != nil {
				f.Close()
			}
		}
		return nil, err
	}
	if err := ipBatch(wns,
		"link add bra type bridge",
		"link add brb type bridge",
		"link set wa master bra up",
		"link set ta master bra up",
		"link set wb master brb up",
		"link set tb master brb up",
		"link set bra up",
		"link set brb up",
	); err != nil {
		k.taps[0].Close()
		k.taps[1].Close()
		return nil, err
	}

	for i := range k.dirs {
		k.dirs[i] = &direction{
			link: k, in: k.taps[i], out: k.taps[1-i],
			queue: make(chan frame, 1<<15),
			rng:   rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), uint64(i))),
		}
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		k.taps[0].Close()
		k.taps[1].Close()
		return nil, errors.New("netlab: lab is closed")
	}
	l.links = append(l.links, k)
	l.mu.Unlock()
	for _, d := range k.dirs {
		k.wg.Add(2)
		go d.receive()
		go d.deliver()
	}
	return k, nil
}

// receive reads frames, applies loss and the rate/queue accounting and
// queues them with their departure time.
func (d *direction) receive() {
	defer d.link.wg.Done()
	defer close(d.queue)
	scratch := make([]byte, maxFrame)
	for {
		n, err := d.in.Read(scratch)
		if err != nil {
			return
		}
		now := time.Now()
		cfg := d.link.Config()
		if cfg.MTU > 0 && n-ethernetHeader > cfg.MTU {
			d.count(func(s *LinkStats) { s.TooBig++ })
			continue
		}
		if cfg.Loss > 0 && d.rng.Float64() < cfg.Loss {
			d.count(func(s *LinkStats) { s.Lost++ })
			continue
		}
		leave := now
		if cfg.Rate > 0 {
			if d.busyTill.Before(now) {
				d.busyTill = now
			}
			backlog := float64(d.busyTill.Sub(now).Seconds()) * float64(cfg.Rate) / 8
			if int(backlog)+n > cfg.queueLimit() {
				d.count(func(s *LinkStats) { s.Overflow++ })
				continue
			}
			d.busyTill = d.busyTill.Add(time.Duration(float64(n*8) / float64(cfg.Rate) * float64(time.Second)))
			leave = d.busyTill
		}
		select {
		case d.queue <- frame{at: leave.Add(cfg.Delay), buf: append([]byte(nil), scratch[:n]...)}:
		default:
			d.count(func(s *LinkStats) { s.Overflow++ })
		}
	}
}

// deliver writes queued frames out when their time has come. Frames due
// within a quarter millisecond are sent at once rather than slept for.
func (d *direction) deliver() {
	defer d.link.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for f := range d.queue {
		if wait := time.Until(f.at); wait > 250*time.Microsecond {
			timer.Reset(wait)
			<-timer.C
		}
		if _, err := d.out.Write(f.buf); err != nil {
			if errors.Is(err, os.ErrClosed) {
				// Drain so receive never blocks; it ends on its own read error.
				for range d.queue {
				}
				return
			}
			continue // e.g. the bridge port is not up yet
		}
		d.count(func(s *LinkStats) { s.Forwarded++ })
	}
}

func (d *direction) count(f func(*LinkStats)) {
	d.mu.Lock()
	f(&d.stats)
	d.mu.Unlock()
}

// openTAP creates a TAP device (no packet-info header) in the calling
// thread's network namespace and returns it in non-blocking mode, so reads
// wait in Go's poller and Close interrupts them.
func openTAP(name string) (*os.File, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("netlab: open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err == nil {
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		err = unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("netlab: creating TAP %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), "tap "+name), nil
}
