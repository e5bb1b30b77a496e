package signal

// The sockets of the direct path (docs/PROTOCOL.md §4.3): every UDP socket pion opens for ICE is
// wrapped so that rendezvous packets are taken out of what it reads and handed to the Peer, and
// so that the Peer can send from the very sockets ICE uses (through the same NAT mappings).

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/pion/transport/v5"
)

// Rendezvous packets start with directMagic. Its first byte is 12: RFC 7983 (updated for QUIC by
// RFC 9443) gives a UDP port shared by WebRTC's protocols to STUN 0-3, ZRTP 16-19, DTLS 20-63,
// TURN channels 64-79, QUIC 80-127 and 192-255 (64-127 when there are no TURN channels) and
// RTP/RTCP 128-191; 4-15 belong to none of them, and a demultiplexer that follows these RFCs
// (pion's, a browser's) drops such packets. So nothing that ICE, DTLS or SCTP sends is ever taken
// for ours, and one of ours that reaches a stack that does not know it is dropped unseen. The
// three letters that follow make a stray packet of some other 4-15 user unlikely to be tried.
var directMagic = [4]byte{12, 'p', '2', 'r'}

// directHeaderSize is the magic and the kind byte (sealKindAnswer or sealKindAck).
const directHeaderSize = len(directMagic) + 1

// maxDirectPacket bounds what is looked at: a header and a sealed blob.
const maxDirectPacket = directHeaderSize + MaxSealedSize

// mdnsPort is the multicast DNS port. pion opens its mDNS sockets through the same Net; they are
// left alone: they are not ICE sockets (nothing is sent from them to a peer) and the multicast
// code needs the socket's own type.
const mdnsPort = 5353

// preReadBuffer is the buffer of a socket read before pion reads it: a UDP datagram of an IPv4
// path MTU, larger than any rendezvous packet (larger ones are dropped anyway).
const preReadBuffer = 2048

// isDirect reports whether a datagram is a rendezvous packet.
func isDirect(b []byte) bool {
	return len(b) >= len(directMagic) && [4]byte(b[:4]) == directMagic
}

// directHub is one Peer's set of ICE sockets and the handler of their rendezvous packets.
type directHub struct {
	// handle is called with every rendezvous packet, on the reading goroutine; it must not
	// block and must not keep pkt.
	handle func(c *directConn, pkt []byte, from netip.AddrPort)

	mu    sync.Mutex
	conns []*directConn
	pre   *preReaders // non-nil while the sockets are read before pion reads them
	noPre bool        // pion reads now (or soon): never pre-read again
}

// rendezvousNet wraps the Net given to pion so that every ICE socket joins the hub.
type rendezvousNet struct {
	transport.Net
	hub *directHub
}

func (n rendezvousNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil || laddr != nil && laddr.Port == mdnsPort {
		return c, err
	}
	dc := &directConn{UDPConn: c, hub: n.hub}
	if u, ok := c.(*net.UDPConn); ok {
		dc.raw = udpAddrPortConn{u}
	} else if a, ok := c.(addrPortConn); ok {
		dc.raw = a
	}
	n.hub.mu.Lock()
	n.hub.conns = append(n.hub.conns, dc)
	n.hub.mu.Unlock()
	if o, ok := c.(ownedSocket); ok && o.readsOwned() {
		return &ownedDirectConn{directConn: dc, owned: o}, nil
	}
	return dc, nil
}

// ownedSocket is a socket that can hand over the buffers it reads datagrams into (offloadConn
// with GRO: segments of a coalesced read).
type ownedSocket interface {
	readsOwned() bool
	ReadOwnedFromAddrPort() ([]byte, netip.AddrPort, error)
}

// ownedDirectConn is a directConn over an ownedSocket: pion's ICE (third_party/pion-ice
// P2PCOPY-PATCH.md §2, its OwnedPacketReader) then takes each datagram in the socket's own
// buffer instead of a copy.
type ownedDirectConn struct {
	*directConn
	owned ownedSocket
}

// ReadOwnedFromAddrPort is ReadFromAddrPort without the copy; rendezvous packets still go to
// the hub.
func (c *ownedDirectConn) ReadOwnedFromAddrPort() ([]byte, netip.AddrPort, error) {
	for {
		p, from, err := c.owned.ReadOwnedFromAddrPort()
		if err == nil && isDirect(p) {
			c.hub.deliver(c.directConn, p, from)
			continue
		}
		return p, from, err
	}
}

// sockets returns the ICE sockets open now.
func (h *directHub) sockets() []*directConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*directConn(nil), h.conns...)
}

func (h *directHub) remove(c *directConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, x := range h.conns {
		if x == c {
			h.conns = append(h.conns[:i], h.conns[i+1:]...)
			return
		}
	}
}

// deliver hands a datagram that isDirect to the handler when it is not too large.
func (h *directHub) deliver(c *directConn, pkt []byte, from netip.AddrPort) {
	if len(pkt) >= directHeaderSize && len(pkt) <= maxDirectPacket && h.handle != nil {
		h.handle(c, pkt, from)
	}
}

// startPreReading reads every socket until stopPreReading: pion reads a socket only once it has
// the peer's description, and the offerer waits for a direct answer before that. Datagrams
// other than rendezvous packets are dropped meanwhile: they can only be the peer's early
// connectivity checks, which it repeats. Call it once gathering is over, or STUN replies to
// the gathering would be taken away from it.
func (h *directHub) startPreReading() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.noPre || h.pre != nil {
		return
	}
	pr := &preReaders{stop: make(chan struct{}), conns: append([]*directConn(nil), h.conns...)}
	for _, c := range pr.conns {
		pr.wg.Add(1)
		go c.preRead(pr)
	}
	h.pre = pr
}

// stopPreReading ends pre-reading for good and returns once no pre-reader reads any more: only
// then may pion start reading, as a deadline left behind would end its reading loop.
func (h *directHub) stopPreReading() {
	h.mu.Lock()
	pr := h.pre
	h.pre, h.noPre = nil, true
	h.mu.Unlock()
	if pr == nil {
		return
	}
	close(pr.stop)
	for _, c := range pr.conns {
		_ = c.UDPConn.SetReadDeadline(time.Now())
	}
	pr.wg.Wait()
	for _, c := range pr.conns {
		_ = c.UDPConn.SetReadDeadline(time.Time{})
	}
}

type preReaders struct {
	stop  chan struct{}
	conns []*directConn
	wg    sync.WaitGroup
}

// directConn is an ICE socket whose rendezvous packets go to the hub, never to pion.
type directConn struct {
	transport.UDPConn
	raw addrPortConn // the system socket, for allocation-free reads and writes; nil in vnet
	hub *directHub
}

// addrPortConn is a socket's allocation-free reads and writes (pion ICE's AddrPortReaderWriter).
type addrPortConn interface {
	ReadFromAddrPort(p []byte) (int, netip.AddrPort, error)
	WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

// udpAddrPortConn is a system socket as an addrPortConn.
type udpAddrPortConn struct{ *net.UDPConn }

func (c udpAddrPortConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	return c.ReadFromUDPAddrPort(p)
}

func (c udpAddrPortConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	return c.WriteToUDPAddrPort(b, addr)
}

func (c *directConn) preRead(pr *preReaders) {
	defer pr.wg.Done()
	buf := make([]byte, preReadBuffer)
	for {
		n, from, err := c.readAddrPort(buf)
		select {
		case <-pr.stop:
			return
		default:
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || isTimeout(err) {
				continue // a deadline meant for the stop, seen before the stop channel
			}
			return // closed
		}
		if isDirect(buf[:n]) {
			c.hub.deliver(c, buf[:n], from)
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// readAddrPort reads one datagram from the socket itself.
func (c *directConn) readAddrPort(p []byte) (int, netip.AddrPort, error) {
	if c.raw != nil {
		return c.raw.ReadFromAddrPort(p)
	}
	n, addr, err := c.UDPConn.ReadFrom(p)
	return n, addrPortOf(addr), err
}

func addrPortOf(a net.Addr) netip.AddrPort {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort()
	}
	return netip.AddrPort{}
}

// ReadFromAddrPort is what pion's ICE reads with (its allocation-free path for wrapped sockets).
func (c *directConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	for {
		n, from, err := c.readAddrPort(p)
		if err == nil && isDirect(p[:n]) {
			c.hub.deliver(c, p[:n], from)
			continue
		}
		return n, from, err
	}
}

// WriteToAddrPort is what pion's ICE writes with.
func (c *directConn) WriteToAddrPort(b []byte, addr netip.AddrPort) (int, error) {
	if c.raw != nil {
		return c.raw.WriteToAddrPort(b, addr)
	}
	return c.UDPConn.WriteTo(b, net.UDPAddrFromAddrPort(addr))
}

func (c *directConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFrom(p)
		if err == nil && isDirect(p[:n]) {
			c.hub.deliver(c, p[:n], addrPortOf(addr))
			continue
		}
		return n, addr, err
	}
}

func (c *directConn) ReadFromUDP(p []byte) (int, *net.UDPAddr, error) {
	for {
		n, addr, err := c.UDPConn.ReadFromUDP(p)
		if err == nil && isDirect(p[:n]) {
			c.hub.deliver(c, p[:n], addr.AddrPort())
			continue
		}
		return n, addr, err
	}
}

func (c *directConn) ReadMsgUDP(p, oob []byte) (int, int, int, *net.UDPAddr, error) {
	for {
		n, oobn, flags, addr, err := c.UDPConn.ReadMsgUDP(p, oob)
		if err == nil && isDirect(p[:n]) {
			c.hub.deliver(c, p[:n], addr.AddrPort())
			continue
		}
		return n, oobn, flags, addr, err
	}
}

func (c *directConn) Read(p []byte) (int, error) {
	for {
		n, err := c.UDPConn.Read(p)
		if err == nil && isDirect(p[:n]) {
			c.hub.deliver(c, p[:n], addrPortOf(c.RemoteAddr()))
			continue
		}
		return n, err
	}
}

func (c *directConn) Close() error {
	c.hub.remove(c)
	return c.UDPConn.Close()
}

// localAddrPort is the socket's own address ({} when unknown).
func (c *directConn) localAddrPort() netip.AddrPort {
	return addrPortOf(c.LocalAddr())
}

// canReach reports whether the socket can send to addr: an IPv4 socket cannot reach an IPv6
// address and the other way round (a socket on "::" may reach both).
func (c *directConn) canReach(addr netip.Addr) bool {
	l := c.localAddrPort().Addr()
	if !l.IsValid() || l.Is6() && l.IsUnspecified() && !l.Is4In6() {
		return true
	}
	return l.Unmap().Is4() == addr.Unmap().Is4()
}
