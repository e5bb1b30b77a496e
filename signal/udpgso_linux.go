package signal

// UDP segmentation offload (GSO, UDP_SEGMENT) and receive coalescing (GRO, UDP_GRO) under pion's
// ICE sockets: fewer trips through the kernel's UDP/IP stack per byte. quic-go (sys_conn_oob.go)
// and wireguard-go (conn/) are the models: support is probed per socket, GSO is dropped for good
// on EIO (a device without checksum offload) and per size on EINVAL (a segment above the MTU).
//
// pion writes one datagram per call and never says where a burst ends, so writes are queued and
// a writer goroutine sends whatever has gathered while it was busy: runs of datagrams to one
// address and of one size (the last may be shorter) leave as one sendmsg with a UDP_SEGMENT
// control message. Reads take a coalesced datagram whole and hand it out one segment per call.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/pion/transport/v5"
	"golang.org/x/sys/unix"
)

// maxGSOSegments is the kernel's UDP_MAX_SEGMENTS before Linux 6.9 (64; 128 since): a send with
// more segments fails with EINVAL.
const maxGSOSegments = 64

// maxGSOSegmentsOut bounds a segmented send to anything but loopback: a send leaves as one
// line-rate burst, and a 64 KiB one overflowed a 1 ms queue in front of a 1 Gbit/s link
// (make bench, lan section: 7 541 drops, half the rate) where single sends dropped nothing.
const maxGSOSegmentsOut = 8

// segmentsTo is the most datagrams one segmented send to addr carries.
func segmentsTo(addr netip.AddrPort) int {
	if addr.Addr().Unmap().IsLoopback() {
		return maxGSOSegments
	}
	return maxGSOSegmentsOut
}

// maxGSOPayload bounds a segmented send: the kernel builds it as one IP packet of at most 64 KiB,
// so the payload must stay below 65535 minus the IPv6 (40) and UDP (8) headers.
const maxGSOPayload = 65535 - 40 - 8

// groReadBuffer holds the largest datagram GRO can hand over: one IP packet of at most 64 KiB.
const groReadBuffer = 1 << 16

// groOwnedSlab is the buffer owned reads (ReadOwnedFromAddrPort) read coalesced datagrams into:
// each read needs groReadBuffer bytes of room and keeps what it filled, so a slab takes at least
// 4 reads and leaves less than a quarter unused. Its segments go to pion without a copy, so a
// slab is garbage only once pion is done with every one of them.
const groOwnedSlab = 4 * groReadBuffer

// maxQueuedBatches bounds what waits for the writer (≤ 1 MiB of datagrams per socket): beyond it
// a write blocks, as a full socket buffer would, so the sender cannot run ahead of the kernel.
const maxQueuedBatches = 16

// gsoBatch is a run of datagrams to one address, back to back in buf: every one seg bytes long
// except perhaps the last.
type gsoBatch struct {
	buf   []byte
	to    netip.AddrPort
	seg   int
	n     int
	short bool // the last datagram is shorter than seg: nothing may follow it
}

// offloadConn is a system UDP socket with GSO on its writes and/or GRO on its reads.
type offloadConn struct {
	*net.UDPConn
	gro bool

	mu      sync.Mutex
	space   *sync.Cond // signalled when the writer frees queue slots or the conn closes
	queue   []*gsoBatch
	free    []*gsoBatch
	gso     bool // segmented sends work (cleared on EIO)
	tooBig  int  // the smallest segment size the kernel refused (EINVAL); 0 = none yet
	closed  bool
	kick    chan struct{} // wakes the writer; capacity 1
	done    chan struct{} // closed when the writer has returned
	writing bool          // a writer goroutine runs

	rmu    sync.Mutex // one reader at a time owns the fields below
	rbuf   []byte     // copying reads' buffer
	roob   []byte
	rcur   []byte // the coalesced datagram being handed out: in rbuf or in rslab
	rowned bool   // rcur is in rslab: its segments may be handed over
	rpos   int    // next segment in rcur
	rend   int
	rseg   int
	rfrom  netip.AddrPort
	rslab  []byte // owned reads' slab; rslab[:roff] is handed over
	roff   int

	stats offloadStats
}

// offloadStats counts what the offloads did, for tests and benchmarks.
type offloadStats struct {
	gsoSends    atomic.Int64 // segmented sendmsg calls that succeeded
	gsoSegments atomic.Int64 // datagrams they carried
	singleSends atomic.Int64 // datagrams sent one per call
	groReads    atomic.Int64 // reads that returned more than one datagram
	groSegments atomic.Int64 // datagrams those reads carried
}

// withOffload returns c wrapped so that it uses whichever of GSO and GRO the kernel supports on
// it, or c itself when it supports neither.
func withOffload(c *net.UDPConn) transport.UDPConn {
	raw, err := c.SyscallConn()
	if err != nil {
		return c
	}
	var gsoErr, groErr error
	if err := raw.Control(func(fd uintptr) {
		// quic-go's probe: kernels without UDP_SEGMENT (before 4.18) reject the option.
		_, gsoErr = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
		groErr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1)
	}); err != nil || gsoErr != nil && groErr != nil {
		return c
	}
	oc := &offloadConn{UDPConn: c, gso: gsoErr == nil, gro: groErr == nil, kick: make(chan struct{}, 1), done: make(chan struct{})}
	oc.space = sync.NewCond(&oc.mu)
	if oc.gro {
		oc.rbuf = make([]byte, groReadBuffer)        // copying reads only; owned reads use rslab
		oc.roob = make([]byte, unix.CmsgSpace(4)+64) // UDP_GRO's int, and room for others
	}
	return oc
}

// ReadFromAddrPort reads one datagram: the next segment of a coalesced read, or a fresh read.
func (c *offloadConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	if !c.gro {
		return c.UDPConn.ReadFromUDPAddrPort(p)
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for c.rpos >= c.rend {
		if err := c.readCoalesced(c.rbuf, false); err != nil {
			return 0, c.rfrom, err
		}
		if c.rend == 0 {
			return 0, c.rfrom, nil // an empty datagram is a datagram
		}
	}
	end := min(c.rpos+c.rseg, c.rend)
	n := copy(p, c.rcur[c.rpos:end])
	c.rpos = end
	return n, c.rfrom, nil
}

// readCoalesced reads one (maybe coalesced) datagram into buf and makes it the one being
// handed out (c.rmu held).
func (c *offloadConn) readCoalesced(buf []byte, owned bool) error {
	n, oobn, _, from, err := c.UDPConn.ReadMsgUDPAddrPort(buf, c.roob)
	if err != nil {
		c.rfrom = from
		return err
	}
	seg := groSegment(c.roob[:oobn])
	if seg <= 0 || seg > n {
		seg = n
	}
	if n > seg {
		c.stats.groReads.Add(1)
		c.stats.groSegments.Add(int64((n + seg - 1) / seg))
	}
	c.rcur, c.rowned = buf[:n], owned
	c.rpos, c.rend, c.rseg, c.rfrom = 0, n, seg, from
	return nil
}

// readsOwned reports whether ReadOwnedFromAddrPort hands over slices of coalesced reads: with
// GRO. Without it a plain read into pion's own buffer is already the only copy.
func (c *offloadConn) readsOwned() bool { return c.gro }

// ReadOwnedFromAddrPort reads one datagram like ReadFromAddrPort but returns it in a slice that
// belongs to the caller: a segment of the coalesced read itself, not a copy (pion-ice's
// OwnedPacketReader). Only with GRO (readsOwned).
func (c *offloadConn) ReadOwnedFromAddrPort() ([]byte, netip.AddrPort, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for c.rpos >= c.rend {
		if len(c.rslab)-c.roff < groReadBuffer {
			c.rslab, c.roff = make([]byte, groOwnedSlab), 0
		}
		if err := c.readCoalesced(c.rslab[c.roff:c.roff+groReadBuffer], true); err != nil {
			return nil, c.rfrom, err
		}
		c.roff += c.rend
		if c.rend == 0 {
			return []byte{}, c.rfrom, nil // an empty datagram is a datagram
		}
	}
	end := min(c.rpos+c.rseg, c.rend)
	p := c.rcur[c.rpos:end:end]
	if !c.rowned { // left over from a copying read: rbuf is reused
		p = bytes.Clone(p)
	}
	c.rpos = end
	return p, c.rfrom, nil
}

// groSegment returns the segment size in a UDP_GRO control message, or 0.
func groSegment(oob []byte) int {
	for len(oob) >= unix.CmsgLen(0) {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return 0
		}
		if h.Level == unix.IPPROTO_UDP && h.Type == unix.UDP_GRO && len(data) >= 4 {
			return int(binary.NativeEndian.Uint32(data))
		}
		oob = rest
	}
	return 0
}

func (c *offloadConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := c.ReadFromAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

func (c *offloadConn) ReadFromUDP(p []byte) (int, *net.UDPAddr, error) {
	n, from, err := c.ReadFromAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

func (c *offloadConn) Read(p []byte) (int, error) {
	n, _, err := c.ReadFromAddrPort(p)
	return n, err
}

// ReadMsgUDP reads one datagram; it returns no control messages (the socket's are GRO's).
func (c *offloadConn) ReadMsgUDP(p, _ []byte) (int, int, int, *net.UDPAddr, error) {
	n, addr, err := c.ReadFromUDP(p)
	return n, 0, 0, addr, err
}

// WriteToAddrPort queues one datagram; it is sent soon, maybe with others in one system call.
// Errors of the send itself are not reported (UDP is unreliable; pion ignores them too).
func (c *offloadConn) WriteToAddrPort(b []byte, to netip.AddrPort) (int, error) {
	if !c.gso {
		return c.UDPConn.WriteToUDPAddrPort(b, to)
	}
	if len(b) > maxGSOPayload {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(to), Err: syscall.EMSGSIZE}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for {
		if c.closed {
			return 0, net.ErrClosed
		}
		if n := len(c.queue); n > 0 && c.fits(c.queue[n-1], b, to) {
			c.queue[n-1].add(b)
			return len(b), nil
		}
		if len(c.queue) < maxQueuedBatches {
			break
		}
		c.space.Wait()
	}
	bt := c.batch()
	bt.to, bt.seg = to, len(b)
	bt.add(b)
	c.queue = append(c.queue, bt)
	if !c.writing {
		c.writing = true
		go c.writer()
	}
	if len(c.queue) == 1 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
	return len(b), nil
}

// fits reports whether b may join bt in one segmented send.
func (c *offloadConn) fits(bt *gsoBatch, b []byte, to netip.AddrPort) bool {
	return c.gso && !bt.short && bt.to == to && len(b) <= bt.seg && bt.n < segmentsTo(to) &&
		len(bt.buf)+len(b) <= maxGSOPayload && (c.tooBig == 0 || bt.seg < c.tooBig) && len(b) > 0
}

func (bt *gsoBatch) add(b []byte) {
	bt.buf = append(bt.buf, b...)
	bt.n++
	bt.short = len(b) < bt.seg
}

// batch takes an empty batch from the free list (c.mu held).
func (c *offloadConn) batch() *gsoBatch {
	if n := len(c.free); n > 0 {
		bt := c.free[n-1]
		c.free = c.free[:n-1]
		return bt
	}
	return &gsoBatch{buf: make([]byte, 0, maxGSOPayload)}
}

func (c *offloadConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if u, ok := addr.(*net.UDPAddr); ok {
		return c.WriteToAddrPort(b, u.AddrPort())
	}
	return c.UDPConn.WriteTo(b, addr)
}

func (c *offloadConn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	return c.WriteToAddrPort(b, addr.AddrPort())
}

// writer sends the queued batches until the conn closes.
func (c *offloadConn) writer() {
	defer close(c.done)
	var taken []*gsoBatch
	oob := make([]byte, unix.CmsgSpace(2))
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closed {
			c.mu.Unlock()
			<-c.kick
			c.mu.Lock()
		}
		if c.closed {
			c.mu.Unlock()
			return
		}
		taken, c.queue = c.queue, taken[:0]
		c.mu.Unlock()

		closed := false
		for _, bt := range taken {
			if !closed && c.send(bt, oob) {
				closed = true
			}
		}
		c.mu.Lock()
		for _, bt := range taken {
			bt.buf, bt.n, bt.short = bt.buf[:0], 0, false
			c.free = append(c.free, bt)
		}
		c.space.Broadcast()
		c.mu.Unlock()
		clear(taken)
		if closed {
			return
		}
	}
}

// send sends one batch and reports whether the socket is closed.
func (c *offloadConn) send(bt *gsoBatch, oob []byte) (closed bool) {
	if bt.n > 1 {
		putSegmentSize(oob, bt.seg)
		_, _, err := c.UDPConn.WriteMsgUDPAddrPort(bt.buf, oob, bt.to)
		switch {
		case err == nil:
			c.stats.gsoSends.Add(1)
			c.stats.gsoSegments.Add(int64(bt.n))
			return false
		case errors.Is(err, net.ErrClosed):
			return true
		case errors.Is(err, syscall.EIO):
			// quic-go's lesson: a device without checksum offload cannot segment; stop trying.
			c.mu.Lock()
			c.gso = false
			c.mu.Unlock()
		case errors.Is(err, syscall.EINVAL), errors.Is(err, syscall.EMSGSIZE):
			// A segment longer than the route's MTU (IP fragmentation is not done for GSO).
			c.mu.Lock()
			if c.tooBig == 0 || bt.seg < c.tooBig {
				c.tooBig = bt.seg
			}
			c.mu.Unlock()
		}
	}
	for off := 0; off < len(bt.buf); off += bt.seg {
		_, err := c.UDPConn.WriteToUDPAddrPort(bt.buf[off:min(off+bt.seg, len(bt.buf))], bt.to)
		if errors.Is(err, net.ErrClosed) {
			return true
		}
		c.stats.singleSends.Add(1)
	}
	return false
}

// putSegmentSize fills oob (CmsgSpace(2) bytes) with a UDP_SEGMENT control message.
func putSegmentSize(oob []byte, seg int) {
	h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
	h.Level = unix.IPPROTO_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	binary.NativeEndian.PutUint16(oob[unix.CmsgLen(0):], uint16(seg))
}

func (c *offloadConn) Close() error {
	c.mu.Lock()
	c.closed = true
	c.space.Broadcast()
	writing := c.writing
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	err := c.UDPConn.Close()
	if writing {
		<-c.done
	}
	return err
}
