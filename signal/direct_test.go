package signal

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// directPair makes an offerer (with a rendezvous secret when rendezvous is set) and an answerer
// that answered its offer, over loopback without STUN. The answer is not given to the offerer.
func directPair(t *testing.T, ctx context.Context, rendezvous bool) (offerer, answerer *Peer, offer, answer Token) {
	t.Helper()
	offerer = newTestPeer(t, Config{NoSTUN: true, IncludeLoopback: true, Rendezvous: rendezvous, Role: RoleSender})
	answerer = newTestPeer(t, Config{NoSTUN: true, IncludeLoopback: true, Role: RoleReceiver})
	offer = roundTrip(t, mustToken(t)(offerer.Offer(ctx)))
	if rendezvous != (offer.Rendezvous != nil) {
		t.Fatalf("offer rendezvous secret %x, want one: %v", offer.Rendezvous, rendezvous)
	}
	answer = roundTrip(t, mustToken(t)(answerer.Answer(ctx, offer)))
	if answer.Acks != rendezvous {
		t.Fatalf("answer says it reads acknowledgements: %v, want %v (the offer's secret)", answer.Acks, rendezvous)
	}
	return offerer, answerer, offer, answer
}

// connectBoth connects both peers and checks that a message goes each way.
func connectBoth(t *testing.T, ctx context.Context, a, b *Peer) (ca, cb *Conn) {
	t.Helper()
	type result struct {
		c   *Conn
		err error
	}
	bc := make(chan result, 1)
	go func() {
		c, err := b.Connect(ctx)
		bc <- result{c, err}
	}()
	ca, err := a.Connect(ctx)
	if err != nil {
		t.Fatalf("offerer: %v", err)
	}
	rb := <-bc
	if rb.err != nil {
		t.Fatalf("answerer: %v", rb.err)
	}
	t.Cleanup(func() { _ = ca.Close(); _ = rb.c.Close() })
	for _, dir := range []struct {
		from, to *Conn
		msg      string
	}{{ca, rb.c, "hello from the offerer"}, {rb.c, ca, "hello from the answerer"}} {
		if err := dir.from.WriteMsg([]byte(dir.msg)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, err := dir.to.ReadMsg(buf)
		if err != nil || string(buf[:n]) != dir.msg {
			t.Fatalf("read %q, %v; want %q", buf[:n], err, dir.msg)
		}
	}
	return ca, rb.c
}

// TestDirectAnswerOverLoopback: the answerer's SendAnswerDirect alone brings the answer to the
// offerer (nobody pastes it), they connect, bytes flow, and both sides say the answer came
// directly.
func TestDirectAnswerOverLoopback(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b, _, answer := directPair(t, ctx, true)
	sent := make(chan error, 1)
	go func() { sent <- b.SendAnswerDirect(ctx) }()

	var got Token
	select {
	case got = <-a.DirectAnswer():
	case <-ctx.Done():
		t.Fatal("no direct answer arrived")
	}
	if !tokensEqual(got, answer) {
		t.Fatalf("direct answer %s\nwant %s", dump(got), dump(answer))
	}
	if err := got.Check(Answer, RoleSender, a.Fingerprint()); err != nil {
		t.Fatal(err)
	}
	if err := a.AcceptAnswerFrom(got, CarrierDirect); err != nil {
		t.Fatal(err)
	}
	connectBoth(t, ctx, a, b)
	if err := <-sent; err != nil {
		t.Errorf("SendAnswerDirect: %v, want nil once connected", err)
	}
	carrier, err := b.AnswerCarrier(ctx)
	if err != nil || carrier != CarrierDirect {
		t.Errorf("answerer says its answer came by %v (%v), want direct", carrier, err)
	}
}

// TestAnswerCarrierMailboxAndPaste: a CLI's answer says it reads acknowledgements, so the
// offerer acknowledges it however it came, mailbox or paste, and the answerer knows how soon
// after connecting, not after ackWait. An answer that does not say so (a browser's, as the page
// writes it) gets no acknowledgement packet at all, and its author, had it waited for one, would
// say CarrierUnknown after ackWait.
func TestAnswerCarrierMailboxAndPaste(t *testing.T) {
	for _, c := range []struct {
		name string
		via  Carrier
		acks bool
		want Carrier
	}{
		{"mailbox", CarrierMailbox, true, CarrierMailbox},
		{"paste", CarrierPaste, true, CarrierPaste},
		{"paste-from-browser", CarrierPaste, false, CarrierUnknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			a, b, _, answer := directPair(t, ctx, true)
			answer.Acks = c.acks
			if err := a.AcceptAnswerFrom(answer, c.via); err != nil {
				t.Fatal(err)
			}
			openedAt := make(chan time.Time, 1)
			go func() {
				<-b.opened
				openedAt <- time.Now()
			}()
			connectBoth(t, ctx, a, b)
			carrier, err := b.AnswerCarrier(ctx)
			took := time.Since(<-openedAt)
			t.Logf("answer carrier %v known %v after the answerer's channel opened; %d sealed packets reached it", carrier, took.Round(100*time.Microsecond), b.direct.openedCount())
			if err != nil || carrier != c.want {
				t.Errorf("answerer says %v (%v), want %v", carrier, err, c.want)
			}
			if !c.acks {
				if n := b.direct.openedCount(); n != 0 {
					t.Errorf("an answer without the acks bit got %d sealed packets, want none", n)
				}
				if took < ackWait {
					t.Errorf("gave up after %v, before ackWait (%v)", took, ackWait)
				}
				return
			}
			// The acknowledgement leaves as the connection opens: well before ackWait.
			if took > ackWait/2 {
				t.Errorf("the answerer knew only %v after connecting, want under %v", took, ackWait/2)
			}
		})
	}
}

// sendRaw sends a datagram from a fresh loopback socket to every IPv4 loopback candidate.
func sendRaw(t *testing.T, offer Token, pkts ...[]byte) {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, cand := range offer.Candidates {
		if !cand.Addr.IsLoopback() || !cand.Addr.Is4() {
			continue
		}
		for _, p := range pkts {
			if _, err := c.WriteToUDPAddrPort(p, netip.AddrPortFrom(cand.Addr, cand.Port)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func directPacket(kind byte, blob []byte) []byte {
	return append(append(append([]byte(nil), directMagic[:]...), kind), blob...)
}

// TestDirectAnswerIgnoresForgeries: forged (another key), corrupted (a bit flipped), sealed for
// another offer, not an answer, cut, oversized and repeated packets are all ignored; the first
// authentic answer wins and DirectAnswer yields it once, even when a second authentic answer
// (another answerer of the same offer) follows.
func TestDirectAnswerIgnoresForgeries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, _, offer, answer := directPair(t, ctx, true)
	rv, err := NewRendezvous(offer)
	if err != nil {
		t.Fatal(err)
	}
	good, err := rv.SealAnswer(answer)
	if err != nil {
		t.Fatal(err)
	}
	// Another offer with another secret, and the same offer's secret under another offer's
	// credentials (the additional data binds them).
	other := offer
	other.Rendezvous = bytes.Repeat([]byte{7}, RendezvousSize)
	otherRV, _ := NewRendezvous(other)
	forged, _ := otherRV.SealAnswer(answer)
	rebound := offer
	rebound.Ufrag = "zzzz"
	reboundRV, _ := NewRendezvous(rebound)
	replayed, _ := reboundRV.SealAnswer(answer)
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x10
	var offerBody [sealNonce]byte
	notAnswer := rv.seal(nil, mustBody(t, offer), offerBody, rv.answerAAD)
	oversized := append(bytes.Clone(good), make([]byte, MaxSealedSize)...)
	ack := rv.seal(nil, []byte{byte(CarrierDirect)}, offerBody, sealAAD(sealKindAck, offer, &answer.Fingerprint))

	sendRaw(t, offer,
		directPacket(sealKindAnswer, forged),
		directPacket(sealKindAnswer, replayed),
		directPacket(sealKindAnswer, flipped),
		directPacket(sealKindAnswer, notAnswer),
		directPacket(sealKindAnswer, good[:len(good)-1]),
		directPacket(sealKindAnswer, oversized),
		directPacket(sealKindAck, ack),
		directMagic[:],
	)
	select {
	case tok := <-a.DirectAnswer():
		t.Fatalf("a forged packet was taken for an answer: %s", dump(tok))
	case <-time.After(500 * time.Millisecond):
	}
	tried := a.direct.openedCount()
	if tried == 0 {
		t.Fatal("the offerer tried none of the packets: were they delivered at all?")
	}

	second := answer
	second.Ufrag = "sec0"
	secondBlob, _ := rv.SealAnswer(second)
	sendRaw(t, offer, directPacket(sealKindAnswer, good), directPacket(sealKindAnswer, good), directPacket(sealKindAnswer, secondBlob))
	select {
	case tok := <-a.DirectAnswer():
		if !tokensEqual(tok, answer) {
			t.Fatalf("got %s, want the first answer %s", dump(tok), dump(answer))
		}
	case <-ctx.Done():
		t.Fatal("the authentic answer was not taken")
	}
	sendRaw(t, offer, directPacket(sealKindAnswer, secondBlob))
	select {
	case tok := <-a.DirectAnswer():
		t.Fatalf("a second answer came through: %s", dump(tok))
	case <-time.After(500 * time.Millisecond):
	}
	t.Logf("packets opened: %d before the authentic one, %d in all", tried, a.direct.openedCount())
}

func mustBody(t *testing.T, tok Token) []byte {
	t.Helper()
	b, err := tok.body()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDirectAnswerNeedsSecret: an offerer whose offer carried no rendezvous secret opens no
// direct packet at all, and the answerer has nothing to send.
func TestDirectAnswerNeedsSecret(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, b, offer, answer := directPair(t, ctx, false)
	if err := b.SendAnswerDirect(ctx); err != ErrNoRendezvous {
		t.Errorf("SendAnswerDirect without a secret: %v, want ErrNoRendezvous", err)
	}
	// Whatever secret a sender guesses, the offerer does not even try.
	guess := offer
	guess.Rendezvous = bytes.Repeat([]byte{1}, RendezvousSize)
	rv, _ := NewRendezvous(guess)
	blob, _ := rv.SealAnswer(answer)
	sendRaw(t, offer, directPacket(sealKindAnswer, blob))
	select {
	case tok := <-a.DirectAnswer():
		t.Fatalf("an offer without a secret took a direct answer: %s", dump(tok))
	case <-time.After(500 * time.Millisecond):
	}
	if n := a.direct.openedCount(); n != 0 {
		t.Errorf("the offerer tried %d packets, want 0", n)
	}
	if c, err := b.AnswerCarrier(ctx); err != nil || c != CarrierPaste {
		t.Errorf("answerer of an offer without a secret: %v (%v), want paste", c, err)
	}
}

// TestDirectOpenRateLimited: a flood of forged packets is opened at most openBurst at once.
func TestDirectOpenRateLimited(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a, _, offer, answer := directPair(t, ctx, true)
	other := offer
	other.Rendezvous = bytes.Repeat([]byte{9}, RendezvousSize)
	rv, _ := NewRendezvous(other)
	blob, _ := rv.SealAnswer(answer)
	flood := make([][]byte, 500)
	for i := range flood {
		flood[i] = directPacket(sealKindAnswer, blob)
	}
	start := time.Now()
	sendRaw(t, offer, flood...)
	time.Sleep(300 * time.Millisecond)
	limit := openBurst + int(time.Since(start).Seconds()*openRate) + 1
	if n := a.direct.openedCount(); n == 0 || n > limit {
		t.Errorf("opened %d of %d forged packets, want 1..%d", n, len(flood), limit)
	}
}
