// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

//go:build !js

package ice

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/pion/transport/v5"
	"github.com/pion/transport/v5/packetio"
	"github.com/pion/transport/v5/stdnet"
	"github.com/stretchr/testify/require"
)

// ownedPair connects a sender and a receiver agent (the latter with receiverOpts) over loopback
// UDP.
func ownedPair(t *testing.T, receiverOpts ...AgentOption) (*Conn, *Conn) {
	t.Helper()
	base := []AgentOption{
		WithNetworkTypes([]NetworkType{NetworkTypeUDP4}),
		WithIncludeLoopback(),
		WithMulticastDNSMode(MulticastDNSModeDisabled),
		WithInterfaceFilter(func(name string) bool { return name == "lo" }),
	}
	sender, err := NewAgentWithOptions(base...)
	require.NoError(t, err)
	receiver, err := NewAgentWithOptions(append(base, receiverOpts...)...)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, sender.Close())
		require.NoError(t, receiver.Close())
	})

	return connect(t, sender, receiver)
}

// sendPaced writes n datagrams, pausing every 50 so that the kernel's socket buffer never
// overflows: only the agent's own buffer may drop.
func sendPaced(t *testing.T, c *Conn, n int, datagram func(int) []byte) {
	t.Helper()
	for i := range n {
		_, err := c.Write(datagram(i))
		require.NoError(t, err)
		if i%50 == 49 {
			time.Sleep(time.Millisecond)
		}
	}
}

// readAllOwned reads datagrams with ReadOwned until none comes for 200 ms.
func readAllOwned(t *testing.T, c *Conn) [][]byte {
	t.Helper()
	var got [][]byte
	for {
		require.NoError(t, c.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
		p, err := c.ReadOwned()
		if errors.Is(err, packetio.ErrTimeout) {
			return got
		}
		require.NoError(t, err)
		got = append(got, p)
	}
}

func numbered(size int) func(int) []byte {
	return func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, size/2) }
}

// index is the number numbered put in a datagram.
func index(p []byte) int {
	return int(p[0]) | int(p[1])<<8
}

// checkNumbered checks that got holds intact datagrams of numbered(size) in increasing order,
// and returns their bytes. On a loaded machine the kernel's socket buffer may drop a few
// (pion's socket reader not scheduled in time) before the agent sees them.
func checkNumbered(t *testing.T, got [][]byte, size int) uint64 {
	t.Helper()
	var total uint64
	for i, p := range got {
		require.Len(t, p, size, "datagram %d", i)
		require.Equal(t, numbered(size)(index(p)), p, "datagram %d", i)
		if i > 0 {
			require.Greater(t, index(p), index(got[i-1]), "datagram %d", i)
		}
		total += uint64(len(p))
	}

	return total
}

// With WithOwnedReceive, ReadOwned returns the buffer the socket was read into: datagrams read
// one after the other lie back to back in one slab (a copy, in an allocation of its own per
// datagram, would not: 1000 bytes is no allocation size class), and each keeps its bytes while
// later ones arrive.
func TestOwnedReceiveHandsOverSocketBuffers(t *testing.T) {
	const n, size = 500, 1000
	senderConn, receiverConn := ownedPair(t, WithOwnedReceive())
	sendPaced(t, senderConn, n, numbered(size))
	got := readAllOwned(t, receiverConn)
	require.Greater(t, len(got), n/2)
	require.Equal(t, checkNumbered(t, got, size), receiverConn.BytesReceived())

	adjacent := 0
	for i, p := range got {
		require.Equal(t, len(p), cap(p), "datagram %d: a reader's append must not reach the next", i)
		if i > 0 {
			prev := got[i-1]
			if unsafe.Pointer(unsafe.SliceData(p)) == unsafe.Add(unsafe.Pointer(unsafe.SliceData(prev)), len(prev)) {
				adjacent++
			}
		}
	}
	// A 64 KiB slab takes 57 datagrams of 1000 bytes before it needs a new one.
	t.Logf("%d of %d datagrams received, %d directly after the one before", len(got), n, adjacent)
	require.Greater(t, adjacent, (len(got)-1)*9/10)

	// Read still copies, into the caller's buffer, and refuses a short one as packetio does.
	sendPaced(t, senderConn, 2, numbered(size))
	buf := make([]byte, size)
	require.NoError(t, receiverConn.SetReadDeadline(time.Now().Add(5*time.Second)))
	k, err := receiverConn.Read(buf)
	require.NoError(t, err)
	require.Equal(t, numbered(size)(index(buf)), buf[:k])
	_, err = receiverConn.Read(buf[:10])
	require.ErrorIs(t, err, io.ErrShortBuffer)
}

// The receive buffer's limit holds with WithOwnedReceive: datagrams beyond it are dropped,
// counted as packetio.Buffer counts (payload plus two bytes each).
func TestOwnedReceiveKeepsLimit(t *testing.T) {
	const n, size, limit = 300, 1000, 100
	senderConn, receiverConn := ownedPair(t, WithOwnedReceive(), WithReceiveBufferSize(limit*(size+2)))
	sendPaced(t, senderConn, n, numbered(size))
	time.Sleep(200 * time.Millisecond)
	got := readAllOwned(t, receiverConn)
	require.Len(t, got, limit)
	checkNumbered(t, got, size)
}

// The owned queue ends like packetio.Buffer: a read past the deadline fails with a timeout that
// is packetio.ErrTimeout, and after Close queued datagrams are still read, then io.EOF.
func TestOwnedQueueDeadlineAndClose(t *testing.T) {
	q := newOwnedQueue()
	require.NoError(t, q.SetReadDeadline(time.Now().Add(10*time.Millisecond)))
	_, _, err := q.ReadOwned(nil)
	require.ErrorIs(t, err, packetio.ErrTimeout)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout())
	require.NoError(t, q.SetReadDeadline(time.Time{}))

	_, err = q.WriteOwned([]byte("one"), nil)
	require.NoError(t, err)
	require.NoError(t, q.Close())
	_, err = q.WriteOwned([]byte("two"), nil)
	require.ErrorIs(t, err, io.ErrClosedPipe)
	p, _, err := q.ReadOwned(nil)
	require.NoError(t, err)
	require.Equal(t, "one", string(p))
	_, _, err = q.ReadOwned(nil)
	require.ErrorIs(t, err, io.EOF)
}

// handingNet's UDP sockets hand over the buffers they read into (OwnedPacketReader), and it
// remembers them.
type handingNet struct {
	*stdnet.Net
	mu     sync.Mutex
	handed map[*byte]bool
}

func (n *handingNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return c, err
	}

	return &handingUDPConn{UDPConn: c, net: n}, nil
}

func (n *handingNet) wasHanded(p []byte) bool {
	n.mu.Lock()
	defer n.mu.Unlock()

	return n.handed[unsafe.SliceData(p)]
}

type handingUDPConn struct {
	transport.UDPConn
	net *handingNet
}

func (c *handingUDPConn) ReadOwnedFromAddrPort() ([]byte, netip.AddrPort, error) {
	b := make([]byte, 1500)
	n, addr, err := c.UDPConn.ReadFrom(b)
	if err != nil {
		return nil, netip.AddrPort{}, err
	}
	c.net.mu.Lock()
	c.net.handed[unsafe.SliceData(b)] = true
	c.net.mu.Unlock()

	return b[:n:n], netAddrToAddrPort(addr), nil
}

// With WithOwnedReceive, a candidate whose conn is an OwnedPacketReader reads with it, and
// ReadOwned returns the very buffers that conn handed over.
func TestOwnedReceiveTakesSocketsOwnedReads(t *testing.T) {
	const n, size = 200, 1000
	stdNet, err := stdnet.NewNet()
	require.NoError(t, err)
	hn := &handingNet{Net: stdNet, handed: map[*byte]bool{}}
	senderConn, receiverConn := ownedPair(t, WithOwnedReceive(), WithNet(hn))
	sendPaced(t, senderConn, n, numbered(size))
	got := readAllOwned(t, receiverConn)
	require.Greater(t, len(got), n/2)
	checkNumbered(t, got, size)
	for i, p := range got {
		require.True(t, hn.wasHanded(p), "datagram %d is not a buffer the socket handed over", i)
	}
}
