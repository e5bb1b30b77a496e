package signal

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"
)

// Connecting: waiting for the DataChannel, and explaining a connection that could not be made.

// ConnectError is returned when no connection could be made; its message says what was tried and
// what is known of why. What to do (flags to try) is the user interface's to say, from the fields.
type ConnectError struct {
	What  string // what happened: "the connection attempt failed", "no connection within the time limit"
	Tried string // the addresses of both sides
	// Cause, if known, says why no path exists (from the NAT flags of both tokens); empty means
	// the message names the usual suspects.
	Cause string
	// PeerSilent says that not one packet came from the peer while connecting: no connectivity
	// check, no reply to ours, no data. Most likely their p2pcopy is no longer running, or (on
	// the answering side) they never pasted the answer. A network that lets packets through in
	// one direction only leaves the side that got them with PeerSilent false.
	PeerSilent bool
	// Offered says this side printed the offer (and pasted the peer's answer).
	Offered bool
}

func (e *ConnectError) Error() string {
	msg := fmt.Sprintf("could not connect to your peer: %s (%s)", e.What, e.Tried)
	switch {
	case e.Cause != "":
		// The NATs the tokens name drop the other side's packets: silence is expected there.
		return msg + ". " + e.Cause
	case e.PeerSilent:
		return msg + ". Your peer never reached you"
	}
	return msg
}

// NATCause explains a failed connection from what each side's NAT check found (the SymmetricNAT
// flag of our token and of the peer's), or returns "" when neither found a symmetric NAT.
func NATCause(ours, theirs bool) string {
	switch {
	case ours && theirs:
		return "Both sides are behind NATs that change ports per destination (symmetric), so no direct path exists"
	case ours:
		return "Your NAT changes ports per destination (symmetric) and your peer's NAT lets in only packets " +
			"from ports it has sent to, so no direct path exists"
	case theirs:
		return "Your peer's NAT changes ports per destination (symmetric) and yours lets in only packets " +
			"from ports it has sent to, so no direct path exists"
	}
	return ""
}

// Connect waits until the DataChannel is open (or ICE fails, or ctx ends) and returns it as a
// message connection.
func (p *Peer) Connect(ctx context.Context) (*Conn, error) {
	go p.listenForPeer(ctx.Done())
	select {
	case <-p.opened:
	case <-p.failed:
		return nil, p.connectError("the connection attempt failed")
	case <-p.closed:
		return nil, errors.New("connection closed before it was established")
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, p.connectError("no connection within the time limit")
		}
		return nil, ctx.Err()
	}
	raw, err := p.dc.Detach()
	if err != nil {
		return nil, fmt.Errorf("opening the data channel: %w", err)
	}
	c := &Conn{raw: raw, dc: p.dc, low: make(chan struct{}, 1), closed: make(chan struct{})}
	tuneAssociation(c, p.peerIsCLI())
	p.dc.SetBufferedAmountLowThreshold(lowWater)
	p.dc.OnBufferedAmountLow(func() {
		select {
		case c.low <- struct{}{}:
		default:
		}
	})
	go func() {
		select {
		case <-p.failed:
			// Closing the stream alone does not wake a reader blocked on a dead association:
			// close the whole connection so every pending read and write returns.
			c.lose(fmt.Errorf("no packets from your peer for %v: its network went away or it quit", p.cfg.stallTimeout()))
			c.shutdown()
			_ = p.pc.Close()
			return
		case <-p.closed:
			c.lose(errors.New("the connection was closed"))
		case <-c.closed:
			return
		}
		c.shutdown()
	}()
	c.Info = p.info()
	p.probeMTU(c, p.peerIsCLI())
	return c, nil
}

func (p *Peer) connectError(what string) error {
	local, remote := "none", "none"
	if p.local != nil {
		local = describeCandidates(p.local.Candidates)
	}
	if p.remote != nil {
		remote = describeCandidates(p.remote.Candidates)
	}
	return &ConnectError{
		What:       what,
		Tried:      fmt.Sprintf("tried your addresses: %s; theirs: %s", local, remote),
		PeerSilent: !p.heardFromPeer(),
		Offered:    p.local != nil && p.local.Kind == Offer,
	}
}

// heardPoll is how often the ICE statistics are read while connecting, to learn whether anything
// at all came from the peer.
const heardPoll = 200 * time.Millisecond

// listenForPeer reads the ICE statistics every heardPoll until something from the peer arrived or
// connecting ended. pion forgets every candidate pair, and with them their counters, the moment
// ICE fails, so the answer must be taken while connecting. The peer's checks repeat many times a
// second for as long as it tries, so a peer that was heard at all is heard long before the
// failure.
func (p *Peer) listenForPeer(done <-chan struct{}) {
	t := time.NewTicker(heardPoll)
	defer t.Stop()
	for !p.heardFromPeer() {
		select {
		case <-t.C:
		case <-done:
			return
		case <-p.opened:
			return
		case <-p.failed:
			return
		case <-p.closed:
			return
		}
	}
}

// heardFromPeer reports whether any candidate pair received a connectivity check, a reply to one
// of ours or data: a packet from the peer that carried its ICE credentials (anything else is
// dropped unseen, so a stranger's packets never count). Once true it stays true.
func (p *Peer) heardFromPeer() bool {
	if p.heard.Load() {
		return true
	}
	for _, s := range p.pc.GetStats() {
		if cp, ok := s.(webrtc.ICECandidatePairStats); ok && (cp.RequestsReceived > 0 || cp.ResponsesReceived > 0 || cp.PacketsReceived > 0) {
			p.heard.Store(true)
			return true
		}
	}
	return false
}

func describeCandidates(cs []Candidate) string {
	if len(cs) == 0 {
		return "none"
	}
	counts := map[CandidateType]int{}
	for _, c := range cs {
		counts[c.Type]++
	}
	var parts []string
	for _, t := range []CandidateType{Host, Srflx, Prflx, Relay} {
		if n := counts[t]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, candidateWord(t)))
		}
	}
	return strings.Join(parts, ", ")
}

// candidateWord names a candidate type for people.
func candidateWord(t CandidateType) string {
	switch t {
	case Host:
		return "local"
	case Srflx:
		return "public (STUN)"
	case Prflx:
		return "peer-seen"
	}
	return "relay (TURN)"
}
