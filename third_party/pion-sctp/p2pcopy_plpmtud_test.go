// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/test"
)

// pathMTUConn is a net.Conn whose path drops every datagram larger than limit, silently (a
// router that sends no ICMP "packet too big": the PMTU black hole PLPMTUD is made for), and
// delivers the others after a fixed delay.
type pathMTUConn struct {
	net.Conn
	limit int
	delay time.Duration
	queue chan delayedPacket

	mu          sync.Mutex
	dropped     int
	largestData int // the largest packet with DATA delivered
}

func newPathMTUConn(conn net.Conn, limit int, delay time.Duration) *pathMTUConn {
	c := &pathMTUConn{Conn: conn, limit: limit, delay: delay, queue: make(chan delayedPacket, 1<<16)}
	go func() {
		for p := range c.queue {
			time.Sleep(time.Until(p.at))
			_, _ = c.Conn.Write(p.raw)
		}
	}()

	return c
}

func (c *pathMTUConn) Close() error {
	close(c.queue)

	return c.Conn.Close()
}

func (c *pathMTUConn) Write(b []byte) (int, error) {
	c.mu.Lock()
	if len(b) > c.limit {
		c.dropped++
		c.mu.Unlock()

		return len(b), nil
	}
	if len(b) > int(commonHeaderSize) && isDataChunkType(chunkType(b[commonHeaderSize])) {
		c.largestData = max(c.largestData, len(b))
	}
	c.mu.Unlock()
	c.queue <- delayedPacket{time.Now().Add(c.delay), append([]byte(nil), b...)}

	return len(b), nil
}

func (c *pathMTUConn) counts() (dropped, largestData int) {
	c.mu.Lock()
	defer c.mu.Unlock()

	return c.dropped, c.largestData
}

// mtuPathPair connects a sender (client) and a receiver over an in-memory path that drops
// datagrams from the sender larger than limit, 10 ms each way. RTOMax 200 ms keeps the probe
// timeouts (one RTO each) short.
func mtuPathPair(t *testing.T, limit int) (*Association, *Association, *pathMTUConn) {
	t.Helper()
	c0, c1 := createUDPConnPair()
	path := newPathMTUConn(c0, limit, 10*time.Millisecond)
	lf := logging.NewDefaultLoggerFactory()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type result struct {
		a   *Association
		err error
	}
	receiver := make(chan result, 1)
	go func() {
		a, err := ServerWithOptions(WithNetConn(c1), WithLoggerFactory(lf), WithMTU(1191))
		receiver <- result{a, err}
	}()
	sender, err := ClientContext(ctx, WithNetConn(path), WithLoggerFactory(lf), WithMTU(1191), WithRTOMax(200))
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

	return sender, r.a, path
}

// waitSearch waits until the stream's association stops probing.
func waitSearch(t *testing.T, s *Stream) PLPMTUDStats {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := s.AssociationPLPMTUDStats()
		if !st.Searching {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("still probing after 20 s: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// p2pcopy patch: probing confirms the largest size the path carries, to within the search's
// last step, and never a size beyond it; DATA packets then grow to it and arrive intact. With
// no limit below the maximum, one probe confirms the maximum.
func TestPLPMTUDConfirmsUpToPathLimit(t *testing.T) {
	lim := test.TimeOut(60 * time.Second)
	defer lim.Stop()

	const maxMTU = 1432
	for _, limit := range []int{1500, 1400, 1300} {
		a0, a1, path := mtuPathPair(t, limit)
		s0, err := a0.OpenStream(1, PayloadTypeWebRTCBinary)
		if err != nil {
			t.Fatal(err)
		}
		if err := s0.EnableAssociationPLPMTUD(maxMTU); err != nil {
			t.Fatal(err)
		}
		st := waitSearch(t, s0)
		want := min(limit, maxMTU)
		t.Logf("path limit %d: %+v, MTU %d", limit, st, s0.AssociationMTU())
		if st.Confirmed > uint32(want) || st.Confirmed+plpmtudMinGap < uint32(want) {
			t.Fatalf("path limit %d: confirmed %d, want %d (at most %d below)", limit, st.Confirmed, want, plpmtudMinGap)
		}
		if s0.AssociationMTU() != st.Confirmed {
			t.Fatalf("MTU %d, confirmed %d", s0.AssociationMTU(), st.Confirmed)
		}
		if limit >= maxMTU && (st.ProbesSent != 1 || st.ProbesAcked != 1) {
			t.Fatalf("a path that carries the maximum took %d probes (%d answered)", st.ProbesSent, st.ProbesAcked)
		}
		if limit < maxMTU && st.ProbesLost < plpmtudMaxProbes {
			t.Fatalf("path limit %d: only %d probes lost", limit, st.ProbesLost)
		}

		sendAndCheck(t, s0, a1, 64)
		dropped, largest := path.counts()
		t.Logf("path limit %d: largest DATA packet %d, datagrams dropped %d", limit, largest, dropped)
		if largest != int(st.Confirmed) {
			t.Fatalf("path limit %d: largest DATA packet %d, want the confirmed %d", limit, largest, st.Confirmed)
		}
		if dropped != int(st.ProbesLost) {
			t.Fatalf("path limit %d: %d datagrams dropped, %d probes lost: DATA was dropped", limit, dropped, st.ProbesLost)
		}
	}
}

// sendAndCheck writes n random messages of 64 KiB on s0 and checks that a1 receives them intact.
func sendAndCheck(t *testing.T, s0 *Stream, a1 *Association, n int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4)) //nolint:gosec // test data
	msgs := make([][]byte, n)
	for i := range msgs {
		msgs[i] = make([]byte, 64<<10)
		for j := range msgs[i] {
			msgs[i][j] = byte(rng.Uint32())
		}
	}
	done := make(chan error, 1)
	go func() {
		s1, err := a1.AcceptStream()
		if err != nil {
			done <- err

			return
		}
		buf := make([]byte, 64<<10)
		for _, want := range msgs {
			k, _, err := s1.ReadSCTP(buf)
			if err != nil {
				done <- err

				return
			}
			if !bytes.Equal(buf[:k], want) {
				done <- errReadData

				return
			}
		}
		done <- nil
	}()
	for _, m := range msgs {
		if _, err := s0.WriteSCTP(m, PayloadTypeWebRTCBinary); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// p2pcopy patch: a path that carries nothing above the current MTU loses every probe; the MTU
// stays, and the lost probes leave the congestion window alone (RFC 8899 §4.5: probe loss is
// not congestion).
func TestPLPMTUDProbeLossKeepsWindow(t *testing.T) {
	lim := test.TimeOut(60 * time.Second)
	defer lim.Stop()

	a0, a1, path := mtuPathPair(t, 1191)
	s0, err := a0.OpenStream(1, PayloadTypeWebRTCBinary)
	if err != nil {
		t.Fatal(err)
	}
	sendAndCheck(t, s0, a1, 16) // a window past the initial one
	cwnd, ssthresh := a0.CWND(), ssthreshOf(a0)
	if err := s0.EnableAssociationPLPMTUD(1432); err != nil {
		t.Fatal(err)
	}
	st := waitSearch(t, s0)
	t.Logf("%+v; cwnd %d → %d, ssthresh %d → %d", st, cwnd, a0.CWND(), ssthresh, ssthreshOf(a0))
	if st.ProbesAcked != 0 || st.Confirmed != 1191 || s0.AssociationMTU() != 1191 {
		t.Fatalf("a probe passed a path that carries nothing above 1191: %+v, MTU %d", st, s0.AssociationMTU())
	}
	if dropped, _ := path.counts(); dropped != int(st.ProbesLost) || dropped < 2*plpmtudMaxProbes {
		t.Fatalf("%d datagrams dropped, %d probes lost", dropped, st.ProbesLost)
	}
	if a0.CWND() != cwnd || ssthreshOf(a0) != ssthresh {
		t.Fatalf("lost probes changed the window: cwnd %d → %d, ssthresh %d → %d", cwnd, a0.CWND(), ssthresh, ssthreshOf(a0))
	}
}

// p2pcopy patch: the probe is exactly the probed size, a HEARTBEAT and a PAD chunk, and a
// receiver skips the PAD chunk.
func TestPLPMTUDProbePacket(t *testing.T) {
	a := &Association{peerVerificationTag: 7, sourcePort: 5000, destinationPort: 5000}
	for _, size := range []uint32{plpmtudProbeOverhead, 1200, 1432, 8000} {
		raw, err := plpmtudProbe(a, size, 9).marshal(true)
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != int(size) {
			t.Fatalf("probe of %d is %d bytes", size, len(raw))
		}
		var p packet
		if err := p.unmarshal(true, raw); err != nil {
			t.Fatalf("probe of %d: %v", size, err)
		}
		if len(p.chunks) != 1 {
			t.Fatalf("probe of %d: %d chunks after unmarshal, want the HEARTBEAT only", size, len(p.chunks))
		}
		hb, ok := p.chunks[0].(*chunkHeartbeat)
		if !ok {
			t.Fatalf("probe of %d: %T", size, p.chunks[0])
		}
		info, ok := hb.params[0].(*paramHeartbeatInfo)
		if !ok || len(info.heartbeatInformation) != plpmtudInfoLen {
			t.Fatalf("probe of %d: heartbeat info %v", size, hb.params)
		}
	}
}

func ssthreshOf(a *Association) uint32 {
	a.lock.RLock()
	defer a.lock.RUnlock()

	return a.ssthresh
}
