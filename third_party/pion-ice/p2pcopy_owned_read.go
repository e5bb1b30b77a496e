// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package ice

// p2pcopy patch (P2PCOPY-PATCH.md §2): received datagrams reach a reader that opts in without
// being copied. Upstream reads each datagram into one pooled buffer per candidate, copies it
// into the agent's packetio.Buffer, and Conn.Read copies it out again. With WithOwnedReceive
// the candidates read into slabs (ownedSlabSize bytes, cut into the datagrams read into them),
// the agent queues each datagram's slice itself (ownedQueue, same limit and drops), and
// Conn.ReadOwned hands that slice over. Conn.Read still copies, so any reader keeps working.

import (
	"net/netip"

	"github.com/pion/transport/v5/packetio"
)

// ownedSlabSize is the size of the buffers candidates read into with WithOwnedReceive. A read
// needs receiveMTU bytes of room, and each datagram keeps only the bytes it filled, so a slab
// carries at least 7 datagrams and leaves less than receiveMTU (an eighth) unused; a slab is
// garbage once the last of its datagrams is. Larger slabs would waste less but keep more memory
// alive for one datagram a reader holds on to.
const ownedSlabSize = 64 << 10

// WithOwnedReceive makes the agent queue received datagrams in the buffers they were read into,
// so that Conn.ReadOwned returns them without a copy. Conn.Read works as before (one copy); the
// receive buffer's limit (WithReceiveBufferSize) and its drops when full are unchanged.
func WithOwnedReceive() AgentOption {
	return func(a *Agent) error {
		a.ownedReceive = true

		return nil
	}
}

// startOwnedReceive creates the owned queue with buf's limit, if WithOwnedReceive was given.
func (a *Agent) startOwnedReceive() {
	if a.ownedReceive {
		a.owned = newOwnedQueue()
		a.owned.SetLimitSize(a.receiveBufferLimit())
	}
}

func (a *Agent) closeOwnedReceive() {
	if a.owned != nil {
		_ = a.owned.Close()
	}
}

// queueInbound queues a received datagram for Conn.Read: buf itself with WithOwnedReceive (the
// caller must leave it alone unless an error is returned), else a copy in buf.
func (a *Agent) queueInbound(buf []byte, attrs packetio.Attributes) (int, error) {
	if a.owned != nil {
		return a.owned.WriteOwned(buf, attrs)
	}

	return a.buf.Write(buf, attrs)
}

// ReadOwned reads the next datagram like Read and returns it in a slice that belongs to the
// caller. With WithOwnedReceive it is the buffer the datagram was read into from the socket
// (no copy); otherwise a new slice holding a copy. Errors are Read's.
func (c *Conn) ReadOwned() ([]byte, error) {
	if err := c.agent.loop.Err(); err != nil {
		return nil, err
	}
	if c.agent.owned == nil {
		bufPtr, ok := bufferPool.Get().(*[]byte)
		if !ok {
			b := make([]byte, receiveMTU)
			bufPtr = &b
		}
		defer bufferPool.Put(bufPtr)
		n, err := c.Read(*bufPtr)
		if err != nil {
			return nil, err
		}

		return append([]byte(nil), (*bufPtr)[:n]...), nil
	}
	var attrs [1]packetio.Attribute
	p, _, err := c.agent.owned.ReadOwned(attrs[:0])
	c.bytesReceived.Add(uint64(len(p))) //nolint:gosec // G115

	return p, err
}

// OwnedPacketReader is an optional capability of a candidate's net.PacketConn: it returns each
// datagram in a buffer the caller may keep (a socket wrapper that reads several datagrams at
// once, with UDP GRO say, hands out slices of its read buffer). With WithOwnedReceive such a
// candidate reads with it instead of reading into slabs of its own.
type OwnedPacketReader interface {
	ReadOwnedFromAddrPort() ([]byte, netip.AddrPort, error)
}

// slabReader reads a candidate's datagrams with WithOwnedReceive: into slabs, or with the
// conn's ReadOwnedFromAddrPort.
type slabReader struct {
	owned OwnedPacketReader // the conn, if it hands over its buffers
	slab  []byte
	off   int // slab[:off] belongs to datagrams handed over
}

// newSlabReader returns the candidate's slab reader, or nil without WithOwnedReceive.
func (c *candidateBase) newSlabReader() *slabReader {
	if c.agent().owned == nil {
		return nil
	}
	owned, _ := c.conn.(OwnedPacketReader)

	return &slabReader{owned: owned}
}

// read reads the next datagram into buf[:n], which the caller may keep if it calls keep(n).
func (s *slabReader) read(
	readPacket packetReader, attrs packetio.Attributes,
) (buf []byte, n int, from netip.AddrPort, _ packetio.Attributes, err error) {
	if s.owned != nil {
		buf, from, err = s.owned.ReadOwnedFromAddrPort()

		return buf, len(buf), from, attrs, err
	}
	buf = s.next()
	n, from, attrs, err = readPacket(buf, attrs)

	return buf, n, from, attrs, err
}

// next returns room for one datagram (receiveMTU bytes, capacity included).
func (s *slabReader) next() []byte {
	if len(s.slab)-s.off < receiveMTU {
		s.slab, s.off = make([]byte, ownedSlabSize), 0
	}

	return s.slab[s.off : s.off+receiveMTU : s.off+receiveMTU]
}

// keep gives the first n bytes of the last read away: the following read starts after them.
func (s *slabReader) keep(n int) {
	if s.owned == nil {
		s.off += n
	}
}
