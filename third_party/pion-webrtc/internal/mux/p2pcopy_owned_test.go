// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package mux

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/packetio"
	"github.com/stretchr/testify/require"
)

// handingConn is a net.Conn with ReadOwned, as ice.Conn with ice.WithOwnedReceive: each
// datagram is read into a new buffer, which it hands over and remembers.
type handingConn struct {
	net.Conn
	mu     sync.Mutex
	handed [][]byte
}

func (c *handingConn) ReadOwned() ([]byte, error) {
	b := make([]byte, 2000)
	n, err := c.Conn.Read(b)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.handed = append(c.handed, b[:n])
	c.mu.Unlock()

	return b[:n], nil
}

func (c *handingConn) datagram(t *testing.T, i int) []byte {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	require.Greater(t, len(c.handed), i, "the mux did not read with ReadOwned")

	return c.handed[i]
}

// ownedMux returns a mux with Config.OwnedReads over a handingConn, the end to write its
// datagrams into, and one owned endpoint (NewOwnedEndpoint) that takes them all.
func ownedMux(t *testing.T, limit int) (*handingConn, net.Conn, *Endpoint) {
	t.Helper()
	conn, in, mux := ownedMuxOnly(t, limit)

	// Everything but flush's datagram.
	return conn, in, mux.NewOwnedEndpoint(func(b []byte) bool { return b[0] != 0xff })
}

// ownedMuxOnly returns a mux with Config.OwnedReads over a handingConn and the end to write its
// datagrams into.
func ownedMuxOnly(t *testing.T, limit int) (*handingConn, net.Conn, *Mux) {
	t.Helper()
	in, out := net.Pipe()
	conn := &handingConn{Conn: out}
	mux := NewMux(Config{
		Conn: conn, BufferSize: 2000, EndpointLimit: limit, OwnedReads: true,
		LoggerFactory: logging.NewDefaultLoggerFactory(),
	})
	t.Cleanup(func() {
		require.NoError(t, mux.Close())
		require.NoError(t, in.Close())
	})

	return conn, in, mux
}

// With OwnedReads, an endpoint made by NewEndpoint (SRTP's, SRTCP's: nobody may read them in a
// data-channel-only session) holds copies, never the conn's slices, so a datagram waiting there
// keeps only its own bytes, not the whole buffer the conn read it into.
func TestOwnedReadsOnlyForOwnedEndpoints(t *testing.T) {
	const n, size = 20, 1000
	conn, in, mux := ownedMuxOnly(t, 0)
	e := mux.NewEndpoint(func(b []byte) bool { return b[0] != 0xff })
	for i := range n {
		_, err := in.Write(numbered(i, size))
		require.NoError(t, err)
	}
	for i := range n {
		require.NoError(t, e.SetReadDeadline(time.Now().Add(5*time.Second)))
		p, err := e.ReadOwned()
		require.NoError(t, err)
		require.Equal(t, numbered(i, size), p)
		require.False(t, unsafe.SliceData(conn.datagram(t, i)) == unsafe.SliceData(p),
			"datagram %d: a plain endpoint holds the conn's own slice", i)
	}
}

// flush returns once the mux has dispatched every datagram written before: it reads one
// datagram at a time and has read flush's when the write returns.
func flush(t *testing.T, in net.Conn) {
	t.Helper()
	_, err := in.Write([]byte{0xff})
	require.NoError(t, err)
}

func numbered(i, size int) []byte {
	p := make([]byte, size)
	for j := range p {
		p[j] = byte(i + j)
	}

	return p
}

// With OwnedReads, Endpoint.ReadOwned returns the very slice the conn's ReadOwned handed over.
func TestOwnedReadsPassConnSlices(t *testing.T) {
	const n, size = 100, 1000
	conn, in, e := ownedMux(t, 0)
	for i := range n {
		// net.Pipe returns once the mux has read the datagram.
		_, err := in.Write(numbered(i, size))
		require.NoError(t, err)
	}
	for i := range n {
		require.NoError(t, e.SetReadDeadline(time.Now().Add(5*time.Second)))
		p, err := e.ReadOwned()
		require.NoError(t, err)
		require.Equal(t, numbered(i, size), p)
		require.True(t, unsafe.SliceData(conn.datagram(t, i)) == unsafe.SliceData(p), "datagram %d was copied", i)
	}

	// Read still works: it copies, and refuses a short buffer as packetio.Buffer does.
	_, err := in.Write(numbered(7, size))
	require.NoError(t, err)
	buf := make([]byte, size)
	k, err := e.Read(buf)
	require.NoError(t, err)
	require.Equal(t, numbered(7, size), buf[:k])
}

// The endpoint's limit holds with OwnedReads: what does not fit is dropped.
func TestOwnedReadsKeepEndpointLimit(t *testing.T) {
	const n, size, limit = 30, 1000, 10
	_, in, e := ownedMux(t, limit*(size+2))
	for i := range n {
		_, err := in.Write(numbered(i, size))
		require.NoError(t, err)
	}
	flush(t, in)
	got := 0
	for {
		require.NoError(t, e.SetReadDeadline(time.Now().Add(100*time.Millisecond)))
		p, err := e.ReadOwned()
		if errors.Is(err, packetio.ErrTimeout) {
			break
		}
		require.NoError(t, err)
		require.Equal(t, numbered(got, size), p)
		got++
	}
	require.Equal(t, limit, got)
}
