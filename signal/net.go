package signal

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/stdnet"
)

// socketBuffer is the UDP receive/send buffer asked for on every socket. The kernel default
// (208 KiB) overflows at a few hundred Mbit/s and each drop costs an SCTP retransmission timeout.
// The kernel caps the request at net.core.rmem_max.
const socketBuffer = 4 << 20

// bufferedNet is the system network whose UDP sockets get large buffers and, with offload, UDP
// segmentation and receive coalescing where the kernel has them (udpgso_linux.go).
type bufferedNet struct {
	*stdnet.Net
	offload bool
}

func newBufferedNet(offload bool) (transport.Net, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("listing network interfaces: %w", err)
	}
	return bufferedNet{Net: n, offload: offload}, nil
}

type bufferSetter interface {
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
}

func enlarge(c any) {
	if b, ok := c.(bufferSetter); ok {
		_ = b.SetReadBuffer(socketBuffer)
		_ = b.SetWriteBuffer(socketBuffer)
	}
}

func (n bufferedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return c, err
	}
	enlarge(c)
	// The mDNS sockets keep their own type: the multicast code needs it.
	if u, ok := c.(*net.UDPConn); ok && n.offload && (laddr == nil || laddr.Port != mdnsPort) {
		return withOffload(u), nil
	}
	return c, nil
}

func (n bufferedNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err == nil {
		enlarge(c)
	}
	return c, err
}

// sameLAN reports whether two addresses are in one /24 (or /64) network, or both loopback: a host
// or peer reflexive candidate seen from a host candidate on the same subnet is a LAN path.
func sameLAN(a, b string) bool {
	x, err1 := netip.ParseAddr(a)
	y, err2 := netip.ParseAddr(b)
	if err1 != nil || err2 != nil || x.Is4() != y.Is4() {
		return false
	}
	if x.IsLoopback() && y.IsLoopback() {
		return true
	}
	bits := 24
	if x.Is6() {
		bits = 64
	}
	px, _ := x.Prefix(bits)
	py, _ := y.Prefix(bits)
	return px == py
}

// bothPublic reports whether both addresses are global unicast and not private.
func bothPublic(a, b string) bool {
	public := func(s string) bool {
		ip, err := netip.ParseAddr(s)
		return err == nil && ip.IsGlobalUnicast() && !ip.IsPrivate()
	}
	return public(a) && public(b)
}
