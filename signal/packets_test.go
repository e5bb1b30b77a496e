package signal

import (
	"context"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// loopbackPair connects two ordinary peers over loopback; the Conns' Peers come along for
// their statistics.
func loopbackPair(t *testing.T) (a, b *Conn, pa, pb *Peer) {
	t.Helper()
	return connectedPair(t, nil)
}

// connectedPair connects two loopback peers; answerSDP, if not nil, rewrites the answer's SDP
// before the offerer takes it (a peer that edits what it advertises).
func connectedPair(t *testing.T, answerSDP func(string) string) (a, b *Conn, pa, pb *Peer) {
	t.Helper()
	return connectedPairWith(t, Config{NoSTUN: true, IncludeLoopback: true}, answerSDP)
}

// connectedPairWith is connectedPair with both peers made from cfg.
func connectedPairWith(t *testing.T, cfg Config, answerSDP func(string) string) (a, b *Conn, pa, pb *Peer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pa, pb = newTestPeer(t, cfg), newTestPeer(t, cfg)
	offer := mustToken(t)(pa.Offer(ctx))
	answer := mustToken(t)(pb.Answer(ctx, offer))
	if answerSDP == nil {
		if err := pa.AcceptAnswer(answer); err != nil {
			t.Fatal(err)
		}
	} else if err := pa.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answerSDP(answer.SDP())}); err != nil {
		t.Fatal(err)
	}
	bc := make(chan *Conn, 1)
	go func() {
		c, err := pb.Connect(ctx)
		if err != nil {
			t.Error(err)
		}
		bc <- c
	}()
	a, err := pa.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b = <-bc; b == nil {
		t.FailNow()
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b, pa, pb
}

// sctpStats returns the peer's SCTP transport statistics and its selected pair's.
func sctpStats(t *testing.T, p *Peer) (webrtc.SCTPTransportStats, webrtc.ICECandidatePairStats) {
	t.Helper()
	var s webrtc.SCTPTransportStats
	var pair webrtc.ICECandidatePairStats
	for _, v := range p.pc.GetStats() {
		switch v := v.(type) {
		case webrtc.SCTPTransportStats:
			s = v
		case webrtc.ICECandidatePairStats:
			if v.Nominated {
				pair = v
			}
		}
	}
	return s, pair
}

// TestGrowPacketsOverLoopback: two loopback peers that grew their packets exchange 50 MiB
// both ways at once, intact, in datagrams far larger than pion's 1.2 KB.
func TestGrowPacketsOverLoopback(t *testing.T) {
	a, b, pa, pb := loopbackPair(t)
	for _, c := range []*Conn{a, b} {
		if c.Info.Path != PathLAN || !c.CanGrowPackets() {
			t.Fatalf("a loopback pair (%s) cannot grow its packets", c.Info.Describe())
		}
	}
	if s, _ := sctpStats(t, pa); s.MTU != 1191 {
		t.Fatalf("MTU before: %d, want pion's 1191", s.MTU)
	}
	a.GrowPackets()
	b.GrowPackets()
	for _, p := range []*Peer{pa, pb} {
		if s, _ := sctpStats(t, p); s.MTU != lanSCTPMTU {
			t.Fatalf("MTU after: %d, want %d", s.MTU, lanSCTPMTU)
		}
	}
	_, before := sctpStats(t, pa)

	const size = 50 << 20
	copyOneWay := func(from, to *Conn, seed uint64) (sent, got [32]byte, err error) {
		errc := make(chan error, 1)
		go func() {
			rng := rand.New(rand.NewPCG(seed, 1))
			h := sha256.New()
			msg := make([]byte, 64<<10)
			for n := 0; n < size; n += len(msg) {
				for i := 0; i < len(msg); i += 8 {
					v := rng.Uint64()
					for j := range 8 {
						msg[i+j] = byte(v >> (8 * j))
					}
				}
				h.Write(msg)
				if err := from.WriteMsg(msg); err != nil {
					errc <- err
					return
				}
			}
			h.Sum(sent[:0])
			errc <- nil
		}()
		h := sha256.New()
		buf := make([]byte, MaxMessageSize)
		for n := 0; n < size; {
			k, err := to.ReadMsg(buf)
			if err != nil {
				return sent, got, err
			}
			h.Write(buf[:k])
			n += k
		}
		h.Sum(got[:0])
		return sent, got, <-errc
	}
	type result struct {
		sent, got [32]byte
		err       error
	}
	back := make(chan result, 1)
	go func() {
		s, g, err := copyOneWay(b, a, 2)
		back <- result{s, g, err}
	}()
	sent, got, err := copyOneWay(a, b, 1)
	if err != nil {
		t.Fatalf("a → b: %v", err)
	}
	if sent != got {
		t.Fatal("a → b: the 50 MiB received differ from those sent")
	}
	r := <-back
	if r.err != nil {
		t.Fatalf("b → a: %v", r.err)
	}
	if r.sent != r.got {
		t.Fatal("b → a: the 50 MiB received differ from those sent")
	}
	if _, after := sctpStats(t, pa); after.PacketsSent > before.PacketsSent {
		avg := float64(after.BytesSent-before.BytesSent) / float64(after.PacketsSent-before.PacketsSent)
		t.Logf("a sent %d datagrams, %.0f bytes on average", after.PacketsSent-before.PacketsSent, avg)
		if avg < 4000 {
			t.Errorf("a's datagrams averaged %.0f bytes, want far more than pion's 1.2 KB", avg)
		}
	}
}

// TestGrowPacketsOnlyOnLAN: a connection whose selected pair is not a LAN host pair, or that
// is not a DataChannel, keeps pion's packet size.
func TestGrowPacketsOnlyOnLAN(t *testing.T) {
	a, _, pa, _ := loopbackPair(t)
	for _, path := range []Path{PathNAT, PathDirect, PathRelayed, ""} {
		a.Info.Path = path
		if a.CanGrowPackets() {
			t.Errorf("a %q connection can grow its packets", path)
		}
		a.GrowPackets()
		if s, _ := sctpStats(t, pa); s.MTU != 1191 {
			t.Errorf("a %q connection grew its MTU to %d", path, s.MTU)
		}
	}
	a.Info.Path = PathLAN
	// Two of this machine's own addresses (192.0.2.2 to itself, fd00::2 to fe80::1): one
	// machine, whatever the addresses.
	a.Info.Local.Address, a.Info.Remote.Address, a.Info.SameMachine = "fd00::2", "fe80::1", true
	if !a.CanGrowPackets() {
		t.Error("a pair between two of this machine's own addresses cannot grow its packets")
	}
	a.Info.SameMachine = false // the pairs below reach another machine
	for _, remote := range []string{"10.1.2.3", "192.168.7.7", ""} {
		a.Info.Remote.Address = remote
		if a.CanGrowPackets() {
			t.Errorf("a LAN pair from %s to %s (not one machine) can grow its packets", a.Info.Local.Address, remote)
		}
	}
	// Two hosts on one subnet: not yet (1500-byte links fragment 8 KB packets; no probing).
	a.Info.Local.Address, a.Info.Remote.Address = "192.168.1.2", "192.168.1.3"
	if a.CanGrowPackets() {
		t.Error("a pair on one /24 can grow its packets")
	}
	if s, _ := sctpStats(t, pa); s.MTU != 1191 {
		t.Errorf("the MTU grew to %d", s.MTU)
	}
	c := &Conn{raw: fakeStream{}, closed: make(chan struct{}), Info: ConnInfo{Path: PathLAN,
		Local: Endpoint{Address: "192.168.1.2"}, Remote: Endpoint{Address: "192.168.1.3"}}}
	if c.CanGrowPackets() {
		t.Error("a Conn without an SCTP stream can grow its packets")
	}
	c.GrowPackets() // does nothing, does not panic
}
