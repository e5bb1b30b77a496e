// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package dtls

import (
	"bytes"
	"context"
	"net"
	"sync"
	"testing"
	"time"
	"unsafe"

	dtlsnet "github.com/pion/dtls/v3/pkg/net"
	"github.com/pion/transport/v5/dpipe"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ownedPacketConn is a PacketConn with ReadOwned: every datagram is read into a new buffer,
// which it hands over, and it remembers those buffers.
type ownedPacketConn struct {
	net.PacketConn
	mu      sync.Mutex
	handed  [][]byte
	ownedN  int
	copiedN int
}

func (c *ownedPacketConn) ReadOwned() ([]byte, error) {
	b := make([]byte, 8192)
	n, _, err := c.PacketConn.ReadFrom(b)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.handed = append(c.handed, b)
	c.ownedN++
	c.mu.Unlock()

	return b[:n], nil
}

func (c *ownedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	c.mu.Lock()
	c.copiedN++
	c.mu.Unlock()

	return c.PacketConn.ReadFrom(p)
}

// inside reports whether p starts within one of the buffers c handed over.
func (c *ownedPacketConn) inside(p []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
	for _, b := range c.handed {
		start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		if at >= start && at < start+uintptr(len(b)) {
			return true
		}
	}

	return false
}

// A conn with ReadOwned is read with it, and the application data ReadOwned returns is the
// part of the handed-over datagram it was decrypted in: no copy between the conn and the reader.
func TestP2pcopyReadOwnedConnKeepsDatagram(t *testing.T) {
	ca, cb := dpipe.Pipe()
	owned := &ownedPacketConn{PacketConn: dtlsnet.PacketConnFromConn(cb)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	clientCh := make(chan *Conn, 1)
	go func() {
		client, err := testClient(ctx, dtlsnet.PacketConnFromConn(ca), ca.RemoteAddr(), &Config{}, true)
		assert.NoError(t, err)
		clientCh <- client
	}()
	server, err := testServer(ctx, owned, cb.RemoteAddr(), &Config{}, true)
	require.NoError(t, err)
	client := <-clientCh
	require.NotNil(t, client)
	defer func() {
		_ = client.Close()
		_ = server.Close()
	}()

	const count, size = 200, 1000
	record := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, size/2) }
	go func() {
		for i := range count {
			if _, err := client.Write(record(i)); err != nil {
				return
			}
		}
	}()
	kept := make([][]byte, 0, count)
	for i := range count {
		got, err := readOwnedWithin(t, server, 10*time.Second)
		require.NoError(t, err, "record %d", i)
		require.True(t, owned.inside(got), "record %d is not in a datagram the conn handed over", i)
		kept = append(kept, got)
	}
	for i, got := range kept {
		require.Equal(t, record(i), got, "record %d", i)
	}
	owned.mu.Lock()
	defer owned.mu.Unlock()
	assert.Zero(t, owned.copiedN, "reads through ReadFrom")
	assert.GreaterOrEqual(t, owned.ownedN, count, "reads through ReadOwned")
}
