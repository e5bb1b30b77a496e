// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/test"
	"github.com/stretchr/testify/assert"
)

// dropEveryNthData is a net.Conn that drops every nth packet carrying new DATA or I-DATA
// chunks (a retransmission always gets through: a lost one waits for the T3 timer, which
// reduces the window in any case) and delivers the others, in order, after a fixed delay: a long path with random loss
// and no queue. (Without the delay, the round trip is a few microseconds and the tail-loss
// probes and RACK timers of an in-memory path resend chunks that were not lost.)
type dropEveryNthData struct {
	net.Conn
	n       int
	delay   time.Duration
	queue   chan delayedPacket
	mu      sync.Mutex
	data    int
	dropped int
	highest uint32 // the highest TSN seen at the start of a packet
}

type delayedPacket struct {
	at  time.Time
	raw []byte
}

func newDropEveryNthData(conn net.Conn, n int, delay time.Duration) *dropEveryNthData {
	c := &dropEveryNthData{Conn: conn, n: n, delay: delay, queue: make(chan delayedPacket, 1<<16)}
	go func() {
		for p := range c.queue {
			time.Sleep(time.Until(p.at))
			_, _ = c.Conn.Write(p.raw)
		}
	}()

	return c
}

func (c *dropEveryNthData) Close() error {
	close(c.queue)

	return c.Conn.Close()
}

func (c *dropEveryNthData) Write(b []byte) (int, error) {
	if len(b) >= int(commonHeaderSize+chunkHeaderSize)+4 && isDataChunkType(chunkType(b[commonHeaderSize])) {
		tsn := binary.BigEndian.Uint32(b[commonHeaderSize+chunkHeaderSize:])
		c.mu.Lock()
		fresh := c.data == 0 || sna32GT(tsn, c.highest)
		if fresh {
			c.data++
			c.highest = tsn
		}
		drop := fresh && c.data%c.n == 0
		if drop {
			c.dropped++
		}
		c.mu.Unlock()
		if drop {
			return len(b), nil
		}
	}

	c.queue <- delayedPacket{time.Now().Add(c.delay), append([]byte(nil), b...)}

	return len(b), nil
}

func isDataChunkType(t chunkType) bool { return t == ctPayloadData || t == ctIData }

func (c *dropEveryNthData) numDropped() int {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.dropped
}

// lossyAssociationPair connects a sender (client) whose DATA packets the path drops one in
// every dropEvery, and a receiver, over an in-memory path.
func lossyAssociationPair(t *testing.T, dropEvery int, opts ...ClientOption) (*Association, *Association, *dropEveryNthData) {
	t.Helper()
	c0, c1 := createUDPConnPair()
	// 100 ms one way: the tolerance's queueing threshold is then 12.5 ms over a 50 ms window,
	// above the jitter of an in-memory path on a loaded host.
	lossy := newDropEveryNthData(c0, dropEvery, 100*time.Millisecond)
	loggerFactory := logging.NewDefaultLoggerFactory()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	type result struct {
		a   *Association
		err error
	}
	receiver := make(chan result, 1)
	go func() {
		// A 256 KiB window keeps what is in flight small enough for the receiver to take it
		// without a backlog on a loaded host: a backlog is a queue, which the tolerance rightly
		// answers as congestion.
		a, err := ServerWithOptions(WithNetConn(c1), WithLoggerFactory(loggerFactory),
			WithMaxReceiveBufferSize(256<<10))
		receiver <- result{a, err}
	}()
	sender, err := ClientContext(ctx, append([]ClientOption{
		WithNetConn(lossy), WithLoggerFactory(loggerFactory),
	}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	r := <-receiver
	if r.err != nil {
		t.Fatal(r.err)
	}
	t.Cleanup(func() {
		_ = sender.Close()
		_ = r.a.Close()
	})

	return sender, r.a, lossy
}

// sendThroughLoss writes 2 MiB from a0 to a1 in 16 KiB messages and checks that every byte
// arrives in order; setup runs on the sender's stream before the first write.
func sendThroughLoss(t *testing.T, a0, a1 *Association, setup func(*Stream)) {
	t.Helper()
	const msgSize, nMsgs = 16 << 10, 128
	s0, err := a0.OpenStream(1, PayloadTypeWebRTCBinary)
	if err != nil {
		t.Fatal(err)
	}
	setup(s0)
	done := make(chan error, 1)
	go func() {
		s1, err := a1.AcceptStream()
		if err != nil {
			done <- err

			return
		}
		buf := make([]byte, msgSize)
		for i := range nMsgs {
			n, _, err := s1.ReadSCTP(buf)
			if err != nil {
				done <- err

				return
			}
			if want := bytes.Repeat([]byte{byte(i)}, msgSize); !bytes.Equal(buf[:n], want) {
				done <- errReadData

				return
			}
		}
		done <- nil
	}()
	for i := range nMsgs {
		if _, err := s0.WriteSCTP(bytes.Repeat([]byte{byte(i)}, msgSize), PayloadTypeWebRTCBinary); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// cwndState reads the sender's slow-start threshold and window under its lock.
func cwndState(a *Association) (ssthresh, cwnd uint32) {
	a.lock.RLock()
	defer a.lock.RUnlock()

	return a.ssthresh, a.CWND()
}

// lossyTransfer sends through a path that drops one in every dropEvery new DATA packets and
// returns the sender's ssthresh before and after, and its final cwnd. A T3 timeout reduces the
// window whatever the loss looked like; on a loaded host a stall of more than the 1 s minimum
// RTO can cause one, so a transfer that had one is tried again (three times at most).
func lossyTransfer(t *testing.T, dropEvery int, setup func(*Stream), opts ...ClientOption) (uint32, uint32, uint32) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		a0, a1, path := lossyAssociationPair(t, dropEvery, opts...)
		initial, _ := cwndState(a0)
		sendThroughLoss(t, a0, a1, setup)
		ssthresh, cwnd := cwndState(a0)
		t3 := a0.stats.getNumT3Timeouts()
		t.Logf("attempt %d: dropped %d DATA packets; ssthresh %d -> %d, cwnd %d, fast retransmits %d, T3 %d",
			attempt, path.numDropped(), initial, ssthresh, cwnd, a0.stats.getNumFastRetrans(), t3)
		if path.numDropped() < 10 {
			t.Fatalf("only %d DATA packets dropped: the test lost nothing to react to", path.numDropped())
		}
		if t3 == 0 || attempt == 3 {
			return initial, ssthresh, cwnd
		}
	}
}

// p2pcopy patch: with the tolerance on, 1 % of DATA packets lost at random (no queue on the
// path) is repaired without touching the window: ssthresh keeps its initial value and cwnd ends
// above it. Without it (upstream), each loss event halves the window.
func TestRandomLossToleranceKeepsWindow(t *testing.T) {
	lim := test.TimeOut(90 * time.Second)
	defer lim.Stop()

	for _, tc := range []struct {
		name     string
		opts     []ClientOption
		setup    func(*Stream)
		tolerant bool
	}{
		{"default", nil, func(*Stream) {}, false},
		{"option", []ClientOption{WithRandomLossTolerance(true)}, func(*Stream) {}, true},
		{"set on the stream", nil, func(s *Stream) { s.SetAssociationRandomLossTolerance(true) }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			initial, ssthresh, cwnd := lossyTransfer(t, 100, tc.setup, tc.opts...)
			if !tc.tolerant {
				assert.Less(t, ssthresh, initial, "upstream halves the window on loss")

				return
			}
			assert.Equal(t, initial, ssthresh, "a random loss must not reduce ssthresh")
			assert.Greater(t, cwnd, initial, "cwnd must grow on")
		})
	}
}

// p2pcopy patch: heavy loss (10 % of DATA packets) is congestion whatever the round trip says:
// the tolerant sender halves its window as upstream does.
func TestRandomLossToleranceBacksOffOnHeavyLoss(t *testing.T) {
	lim := test.TimeOut(90 * time.Second)
	defer lim.Stop()

	initial, ssthresh, _ := lossyTransfer(t, 10, func(*Stream) {}, WithRandomLossTolerance(true))
	assert.Less(t, ssthresh, initial, "10 % loss must reduce the window")
}

// p2pcopy patch: a loss while the round trip stands well above its minimum (a queue) is
// congestion; one at the minimum round trip is not, unless more than 3 % of the chunks of the
// last two round trips were resent; and one congestion event reduces the window once per round
// trip.
func TestRandomLossToleranceJudgesLoss(t *testing.T) {
	now := time.Now()
	lt := &lossTolerance{}
	lt.enable(true)
	deliver := func(at time.Duration, rtt time.Duration) {
		c := &chunkPayloadData{nSent: 1}
		c.since = now.Add(at - rtt)
		lt.onDelivered(c, now.Add(at))
	}
	for i := range 20 { // 100 ms path, no queue
		deliver(time.Duration(i)*10*time.Millisecond, 100*time.Millisecond)
	}
	assert.False(t, lt.congested(now.Add(200*time.Millisecond), 0), "no queue, no loss rate: random")

	send := func(n, retransmitted int) {
		for i := range n {
			lt.onSent(i < retransmitted)
		}
	}
	lt.onCumulativeAck(0, 1) // a round trip begins
	send(1000, 20)           // 2 %
	assert.False(t, lt.congested(now.Add(200*time.Millisecond), 0), "2 % resent: random")
	lt.onCumulativeAck(1, 1001) // the next round trip
	send(1000, 45)              // 4.5 %: 65 of 2000 over both round trips
	assert.True(t, lt.congested(now.Add(200*time.Millisecond), 0), "3.25 % resent: congestion")
	lt.onCumulativeAck(1001, 2001)
	send(1000, 10)
	lt.onCumulativeAck(2001, 3001)
	send(10, 0)
	assert.False(t, lt.congested(now.Add(200*time.Millisecond), 0), "back to 1 %: random")

	for i := range 10 { // a queue builds to 40 ms and stands
		deliver(200*time.Millisecond+time.Duration(i)*10*time.Millisecond, 140*time.Millisecond)
	}
	assert.True(t, lt.congested(now.Add(300*time.Millisecond), 0), "a standing 40 ms queue: congestion")

	// One 40 ms spike among samples at the minimum is not a standing queue.
	for i := range 10 {
		deliver(time.Second+time.Duration(i)*10*time.Millisecond, 100*time.Millisecond)
	}
	deliver(1100*time.Millisecond, 140*time.Millisecond)
	assert.False(t, lt.congested(now.Add(1100*time.Millisecond), 0), "a single late sample is no queue")

	// Once reduced, losses of the same window (TSN up to reducedUntil) are not answered again.
	lt.reduced, lt.reducedUntil = true, 1000
	for i := range 10 {
		deliver(1200*time.Millisecond+time.Duration(i)*10*time.Millisecond, 140*time.Millisecond)
	}
	assert.False(t, lt.congested(now.Add(1300*time.Millisecond), 999), "same window: already reduced")
	assert.True(t, lt.congested(now.Add(1300*time.Millisecond), 1000), "next window: reduce again")
}
