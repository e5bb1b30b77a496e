package signal

// The direct path of the answer (docs/PROTOCOL.md §4.3, §4.4): the answerer sends its sealed
// answer from its ICE sockets to the offerer's candidates; the offerer picks it out of its own
// ICE sockets; once connected, the offerer tells the answerer how its answer arrived.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
)

// Rate limit of the sealed packets a peer tries to open: a token bucket of openBurst packets
// refilled at openRate per second. The answerer's first round is at most one packet per pair of
// its sockets and our addresses, and the first authentic one ends the listening, so 32 lets
// every round of a real answerer through; opening costs about a microsecond, so a flood of
// forged packets costs at most 32 µs of CPU per second and no memory. A flood that outpaces
// the bucket can delay the direct answer (a forger needs our addresses from the token); the
// mailbox and the paste still work then.
const (
	openBurst = 32
	openRate  = 32
)

// sendSchedule is when the answerer sends its sealed answer, counted from the first send: fast
// at first (a LAN answers in milliseconds, and a lost first packet costs only 50 ms), then every
// sendEvery until the connection is up or the caller gives up.
var sendSchedule = []time.Duration{0, 50 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, time.Second}

// sendEvery is the interval after sendSchedule: a NAT mapping lives 30 s or more, and a
// lasting flood of our packets helps nobody.
const sendEvery = 2 * time.Second

// ackSchedule is when the offerer sends its acknowledgement after the connection opened: a few
// copies over a path that just carried the whole handshake, in case one is lost.
var ackSchedule = []time.Duration{0, 200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}

// ackWait is how long an answerer that asked for an acknowledgement (Token.Acks) waits for one
// once connected before it gives up and says CarrierUnknown. The offerer acknowledges every
// answer that asks, however it came, from the moment the connection opens, so the first copy
// normally arrives one trip after connecting; the wait only ends early when every copy was lost
// (the last leaves 2 s after the connection opened, per ackSchedule) or the offerer could not
// send one (its selected candidate is a relay).
const ackWait = 4 * time.Second

// directState is a Peer's part in the direct path.
type directState struct {
	hub *directHub

	mu sync.Mutex
	// Offerer: rv is set when the offer carried a secret; answers go to answers (one only).
	rv      *Rendezvous
	answers chan Token
	done    bool // an answer arrived or was accepted: stop opening
	// Answerer: the offer's rendezvous and the acknowledgement's additional data.
	peerRV *Rendezvous
	ackAAD []byte
	acks   chan Carrier
	acked  bool
	// The rate limit (see openBurst).
	budget float64
	refill time.Time
	opened int // packets tried (tests read it)
	// scratch receives opened plaintexts, so that a forged packet allocates nothing.
	scratch [maxSealedBody]byte
}

func newDirectState() *directState {
	d := &directState{answers: make(chan Token, 1), acks: make(chan Carrier, 1), budget: openBurst}
	d.hub = &directHub{handle: d.handle}
	return d
}

// allow takes one unit of the opening budget; d.mu is held.
func (d *directState) allow(now time.Time) bool {
	if !d.refill.IsZero() {
		d.budget = min(openBurst, d.budget+now.Sub(d.refill).Seconds()*openRate)
	}
	d.refill = now
	if d.budget < 1 {
		return false
	}
	d.budget--
	return true
}

// handle takes one rendezvous packet (header checked for size by the hub).
func (d *directState) handle(_ *directConn, pkt []byte, _ netip.AddrPort) {
	kind, blob := pkt[len(directMagic)], pkt[directHeaderSize:]
	d.mu.Lock()
	defer d.mu.Unlock()
	switch kind {
	case sealKindAnswer:
		if d.rv == nil || d.done || !d.allow(time.Now()) {
			return
		}
		d.opened++
		tok, err := d.rv.openAnswer(d.scratch[:], blob)
		if err != nil {
			return
		}
		d.done = true
		d.answers <- tok // capacity 1, and done keeps it the only one
	case sealKindAck:
		if d.peerRV == nil || d.acked || !d.allow(time.Now()) {
			return
		}
		d.opened++
		pt, err := d.peerRV.open(d.scratch[:], blob, d.ackAAD)
		if err != nil || len(pt) != 1 || pt[0] < byte(CarrierDirect) || pt[0] > byte(CarrierPaste) {
			return
		}
		d.acked = true
		d.acks <- Carrier(pt[0])
	}
}

// openedCount is how many sealed packets were tried.
func (d *directState) openedCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.opened
}

// DirectAnswer delivers the first authentic answer that arrived directly from the answerer
// (§4.3), at most one. Forged, damaged and repeated packets are dropped unseen. It never
// delivers when the offer carried no rendezvous secret (Config.Rendezvous), or after an
// answer was accepted. The answer still needs Token.Check, then AcceptAnswerFrom(answer,
// CarrierDirect).
func (p *Peer) DirectAnswer() <-chan Token { return p.direct.answers }

// startListening makes the offerer open direct answers of the offer's rendezvous, and read its
// sockets for them once gathering is over.
func (p *Peer) startListening(rv *Rendezvous, gathered <-chan struct{}) {
	p.direct.mu.Lock()
	p.direct.rv = rv
	p.direct.mu.Unlock()
	go func() {
		select {
		case <-gathered:
			p.direct.hub.startPreReading()
		case <-p.closed:
		}
	}()
}

// AcceptAnswerFrom gives the peer's answer to the offering side, saying how it came; connecting
// starts now. Direct answers arriving later are ignored. Once connected, an answer that says it
// reads acknowledgements (Token.Acks: a p2pcopy CLI's answer to an offer with a rendezvous
// secret) is acknowledged to the answerer with via (§4.4), whether it came sealed or pasted; one
// that does not say so (a browser's) never is, as a browser must get nothing but standard WebRTC.
func (p *Peer) AcceptAnswerFrom(answer Token, via Carrier) error {
	p.direct.mu.Lock()
	p.direct.done = true
	rv := p.direct.rv
	p.direct.mu.Unlock()
	p.direct.hub.stopPreReading()
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer.SDP()}); err != nil {
		return fmt.Errorf("using the peer's answer: %w", err)
	}
	p.remote = &answer
	p.answerTime = time.Now()
	if rv != nil && p.local != nil && answer.Acks && via >= CarrierDirect && via <= CarrierPaste {
		go p.sendAcks(rv, sealAAD(sealKindAck, *p.local, &answer.Fingerprint), via)
	}
	return nil
}

// sendAcks sends the acknowledgement over the selected pair once the connection is open.
func (p *Peer) sendAcks(rv *Rendezvous, aad []byte, via Carrier) {
	select {
	case <-p.opened:
	case <-p.failed:
		return
	case <-p.closed:
		return
	}
	conns, to := p.selectedSockets()
	if !to.IsValid() {
		return
	}
	start := time.Now()
	for _, at := range ackSchedule {
		if !sleepUntil(start.Add(at), p.closed) {
			return
		}
		var nonce [sealNonce]byte
		if _, err := rand.Read(nonce[:]); err != nil {
			return
		}
		pkt := make([]byte, 0, directHeaderSize+sealHeader+1+sealTag)
		pkt = append(append(pkt, directMagic[:]...), sealKindAck)
		pkt = rv.seal(pkt, []byte{byte(via)}, nonce, aad)
		for _, c := range conns {
			_, _ = c.WriteToAddrPort(pkt, to)
		}
	}
}

// selectedSockets returns the socket of the selected pair's local candidate (all our sockets
// when it is not one of them) and the remote address.
func (p *Peer) selectedSockets() ([]*directConn, netip.AddrPort) {
	pair, err := p.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Local.Typ == webrtc.ICECandidateTypeRelay {
		return nil, netip.AddrPort{}
	}
	remote, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		return nil, netip.AddrPort{}
	}
	to := netip.AddrPortFrom(remote, pair.Remote.Port)
	all := p.direct.hub.sockets()
	port := pair.Local.Port
	if pair.Local.Typ != webrtc.ICECandidateTypeHost {
		port = pair.Local.RelatedPort // the socket behind a reflexive address
	}
	for _, c := range all {
		if c.localAddrPort().Port() == port {
			return []*directConn{c}, to
		}
	}
	return all, to
}

// sleepUntil waits until t; false when stop closed first.
func sleepUntil(t time.Time, stop <-chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-stop:
		return false
	}
}

// prepareAnswerer remembers the offer's rendezvous once our answer exists, to send the answer
// directly and to read the acknowledgement. It reports whether the offer had one: only then can
// this side read acknowledgements (Token.Acks).
func (p *Peer) prepareAnswerer(offer, answer Token) bool {
	if offer.Rendezvous == nil {
		return false
	}
	rv, err := NewRendezvous(offer)
	if err != nil {
		return false
	}
	p.direct.mu.Lock()
	p.direct.peerRV = rv
	p.direct.ackAAD = sealAAD(sealKindAck, offer, &answer.Fingerprint)
	p.direct.mu.Unlock()
	return true
}

// SealedAnswer returns this side's answer sealed for the offerer (for the DHT mailbox), or
// ErrNoRendezvous when the offer carried no secret.
func (p *Peer) SealedAnswer() ([]byte, error) {
	p.direct.mu.Lock()
	rv := p.direct.peerRV
	p.direct.mu.Unlock()
	if rv == nil || p.local == nil {
		return nil, ErrNoRendezvous
	}
	return rv.SealAnswer(*p.local)
}

// Rendezvous returns the rendezvous of this side's offer (offerer) or of the peer's offer
// (answerer), or nil when the offer carried no secret: the DHT mailbox's keys come from it.
func (p *Peer) Rendezvous() *Rendezvous {
	p.direct.mu.Lock()
	defer p.direct.mu.Unlock()
	if p.direct.rv != nil {
		return p.direct.rv
	}
	return p.direct.peerRV
}

// ErrConnectionClosed is returned by waits that end because the connection was closed.
var ErrConnectionClosed = errors.New("signal: the connection was closed")

// SendAnswerDirect sends the sealed answer from every ICE socket of this side (host and
// server-reflexive: sending from the latter opens its NAT mapping as ICE's checks will) to every
// IP address in the offer (not to relays, whose packets only their owner may send, and not to
// host names, whose lookup would cost more than the attempt is worth), following sendSchedule,
// until the connection is up (nil) or ctx ends (its error). It returns ErrNoRendezvous at once
// when the offer carried no secret. Errors of single sends are ignored: some addresses are
// unreachable from some sockets.
func (p *Peer) SendAnswerDirect(ctx context.Context) error {
	pkt, targets, err := p.directAnswerPacket()
	if err != nil {
		return err
	}
	start := time.Now()
	for i := 0; ; i++ {
		at := sendEvery * time.Duration(i-len(sendSchedule)+1)
		if i < len(sendSchedule) {
			at = sendSchedule[i]
		} else {
			at += sendSchedule[len(sendSchedule)-1]
		}
		timer := time.NewTimer(time.Until(start.Add(at)))
		select {
		case <-timer.C:
		case <-p.opened:
			timer.Stop()
			return nil
		case <-p.closed:
			timer.Stop()
			return ErrConnectionClosed
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		}
		for _, c := range p.direct.hub.sockets() {
			for _, to := range targets {
				if c.canReach(to.Addr()) {
					_, _ = c.WriteToAddrPort(pkt, to)
				}
			}
		}
	}
}

// directAnswerPacket seals the answer into a rendezvous packet and lists where it goes.
func (p *Peer) directAnswerPacket() ([]byte, []netip.AddrPort, error) {
	if p.local == nil || p.local.Kind != Answer || p.remote == nil {
		return nil, nil, errors.New("signal: SendAnswerDirect needs the answer made first")
	}
	blob, err := p.SealedAnswer()
	if err != nil {
		return nil, nil, err
	}
	pkt := make([]byte, 0, directHeaderSize+len(blob))
	pkt = append(append(append(pkt, directMagic[:]...), sealKindAnswer), blob...)
	var targets []netip.AddrPort
	for _, c := range p.remote.Candidates {
		if c.Type == Relay || !c.Addr.IsValid() || !c.usable() {
			continue
		}
		targets = append(targets, netip.AddrPortFrom(c.Addr.Unmap(), c.Port))
	}
	return pkt, targets, nil
}

// AnswerCarrier tells the answering side how its answer reached the offerer: what the offerer's
// acknowledgement says (direct, mailbox or paste; it normally arrives one trip after the
// connection opened), CarrierPaste at once when the offer had no rendezvous secret (a paste was
// the only way, and our answer asked for no acknowledgement), or CarrierUnknown when no
// acknowledgement came within ackWait of connecting (every copy lost, or an offerer that could
// not send one). It waits for that, or for ctx.
func (p *Peer) AnswerCarrier(ctx context.Context) (Carrier, error) {
	p.direct.mu.Lock()
	rv := p.direct.peerRV
	p.direct.mu.Unlock()
	if rv == nil {
		return CarrierPaste, nil
	}
	var silence <-chan time.Time
	opened := p.opened
	for {
		select {
		case c := <-p.direct.acks:
			return c, nil
		case <-opened:
			opened = nil
			t := time.NewTimer(ackWait)
			defer t.Stop()
			silence = t.C
		case <-silence:
			return CarrierUnknown, nil
		case <-p.closed:
			return CarrierUnknown, ErrConnectionClosed
		case <-ctx.Done():
			return CarrierUnknown, ctx.Err()
		}
	}
}
