// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import (
	"bytes"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/test"
)

// ownedConn is a conn that, like p2pcopy's pion/dtls Conn, can hand over each packet in a slice
// of its own; it counts how it was read.
type ownedConn struct {
	net.Conn
	owned, copied atomic.Int64
}

func (c *ownedConn) ReadOwned() ([]byte, error) {
	c.owned.Add(1)
	buf := make([]byte, 1<<16) // larger than any packet, so one Read is one whole write
	n, err := c.Conn.Read(buf)
	if err != nil {
		return nil, err
	}

	return buf[:n], nil
}

func (c *ownedConn) Read(b []byte) (int, error) {
	c.copied.Add(1)

	return c.Conn.Read(b)
}

// An association over a conn with ReadOwned reads every packet through it (no copy of its own),
// and the messages arrive intact although each packet's slice is kept by the reassembly queue.
func TestReadLoopTakesOwnedPackets(t *testing.T) {
	lim := test.TimeOut(20 * time.Second)
	defer lim.Stop()

	p0, p1 := net.Pipe()
	c0, c1 := &ownedConn{Conn: p0}, &ownedConn{Conn: p1}
	lf := logging.NewDefaultLoggerFactory()
	server := make(chan *Association, 1)
	go func() {
		a, err := Server(Config{NetConn: c1, LoggerFactory: lf})
		if err != nil {
			t.Error(err)
		}
		server <- a
	}()
	a0, err := Client(Config{NetConn: c0, LoggerFactory: lf})
	if err != nil {
		t.Fatal(err)
	}
	a1 := <-server
	if a1 == nil {
		t.FailNow()
	}
	defer func() {
		_ = a0.Close()
		_ = a1.Close()
	}()

	s0, err := a0.OpenStream(1, PayloadTypeWebRTCBinary)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4)) //nolint:gosec // test data
	msgs := make([][]byte, 8)
	for i := range msgs {
		msgs[i] = make([]byte, 64<<10)
		for j := range msgs[i] {
			msgs[i][j] = byte(rng.Uint32())
		}
	}
	go func() {
		for _, m := range msgs {
			if _, err := s0.WriteSCTP(m, PayloadTypeWebRTCBinary); err != nil {
				return
			}
		}
	}()
	s1, err := a1.AcceptStream()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 128<<10)
	for i, want := range msgs {
		n, _, err := s1.ReadSCTP(buf)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], want) {
			t.Fatalf("message %d: %d bytes differ from the %d sent", i, n, len(want))
		}
	}
	for name, c := range map[string]*ownedConn{"client": c0, "server": c1} {
		if c.copied.Load() != 0 || c.owned.Load() < int64(len(msgs)) {
			t.Errorf("%s: %d reads through ReadOwned, %d through Read", name, c.owned.Load(), c.copied.Load())
		}
	}
}
