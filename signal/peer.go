package signal

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// Flow control on the DataChannel: writes pause above highWater buffered bytes and resume when
// pion reports the amount fell below lowWater. Buffered bytes include data in flight but not yet
// acknowledged, so highWater must exceed the bandwidth-delay product of the fastest link we aim for.
const (
	highWater = 8 << 20
	lowWater  = 4 << 20
	// MaxMessageSize is the largest DataChannel message either side sends (Chromium's limit).
	MaxMessageSize = 262144
)

// Peer is one side of a connection under construction: it makes or takes an offer, makes or takes
// an answer and then yields an open, authenticated message channel.
type Peer struct {
	cfg         Config
	net         transport.Net
	pc          *webrtc.PeerConnection
	dc          *webrtc.DataChannel
	fingerprint [32]byte
	local       *Token // our token once made
	remote      *Token

	opened     chan struct{} // closed when the DataChannel is open
	failed     chan struct{} // closed when ICE/DTLS failed for good
	closed     chan struct{} // closed when the PeerConnection closed
	closeOnce  sync.Once
	failOnce   sync.Once
	openOnce   sync.Once
	answerTime time.Time
	heard      atomic.Bool // something from the peer arrived while connecting (see heardFromPeer)
	direct     *directState
}

// NewPeer prepares a PeerConnection with fresh ICE credentials and a fresh DTLS certificate, so
// the token it produces is single-use.
func NewPeer(cfg Config) (*Peer, error) {
	servers, err := cfg.iceServers()
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("making a certificate: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil, fmt.Errorf("making a certificate: %w", err)
	}
	fp, err := sha256Fingerprint(cert)
	if err != nil {
		return nil, err
	}
	ufrag, err := randomICEChars(4)
	if err != nil {
		return nil, err
	}
	pwd, err := randomICEChars(22)
	if err != nil {
		return nil, err
	}

	var se webrtc.SettingEngine
	se.DetachDataChannels()
	se.SetICECredentials(ufrag, pwd)
	se.SetSTUNGatherTimeout(cfg.gatherTimeout())
	se.SetICETimeouts(cfg.iceTimeouts())
	// The controlling side nominates a server- or peer-reflexive pair only once it has waited
	// (pion: 500 ms and 1 s) for a host pair to win. Host pairs on one LAN answer within
	// milliseconds, so a short wait keeps that preference and takes most of a second off
	// every connection through a NAT. Relays keep pion's 2 s: a direct path should win.
	se.SetSrflxAcceptanceMinWait(acceptanceWait)
	se.SetPrflxAcceptanceMinWait(acceptanceWait)
	tuneSCTP(&se)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	if cfg.DisableMDNS {
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	n := cfg.Net
	if n == nil {
		if n, err = newBufferedNet(!cfg.DisableUDPOffload); err != nil {
			return nil, err
		}
	}
	direct := newDirectState()
	se.SetNet(rendezvousNet{Net: n, hub: direct.hub})

	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{
		ICEServers:   servers,
		Certificates: []webrtc.Certificate{*cert},
	})
	if err != nil {
		return nil, fmt.Errorf("setting up WebRTC: %w", err)
	}
	p := &Peer{
		cfg:         cfg,
		net:         n,
		pc:          pc,
		fingerprint: fp,
		direct:      direct,
		opened:      make(chan struct{}),
		failed:      make(chan struct{}),
		closed:      make(chan struct{}),
	}
	negotiated, id := true, uint16(0)
	p.dc, err = pc.CreateDataChannel("p2pcopy", &webrtc.DataChannelInit{Negotiated: &negotiated, ID: &id})
	if err != nil {
		_ = pc.Close()
		return nil, fmt.Errorf("setting up the data channel: %w", err)
	}
	p.dc.OnOpen(func() { p.openOnce.Do(func() { close(p.opened) }) })
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateFailed:
			p.failOnce.Do(func() { close(p.failed) })
		case webrtc.PeerConnectionStateClosed:
			p.closeOnce.Do(func() { close(p.closed) })
		}
	})
	return p, nil
}

// Fingerprint is the SHA-256 fingerprint of this side's DTLS certificate.
func (p *Peer) Fingerprint() [32]byte { return p.fingerprint }

// Offer gathers candidates (bounded by the gather timeout) and returns the offer token. With
// Config.Rendezvous the token carries a fresh rendezvous secret and the Peer listens for the
// answer on its ICE sockets (DirectAnswer).
func (p *Peer) Offer(ctx context.Context) (Token, error) {
	offer, err := p.pc.CreateOffer(nil)
	if err != nil {
		return Token{}, fmt.Errorf("creating the offer: %w", err)
	}
	tok, gathered, err := p.finishLocal(ctx, Offer, offer)
	if err != nil || !p.cfg.Rendezvous {
		return tok, err
	}
	secret := make([]byte, RendezvousSize)
	if _, err := rand.Read(secret); err != nil {
		return Token{}, fmt.Errorf("making the rendezvous secret: %w", err)
	}
	tok.Rendezvous = secret
	p.local.Rendezvous = secret
	rv, err := NewRendezvous(tok)
	if err != nil {
		return Token{}, err
	}
	p.startListening(rv, gathered)
	return tok, nil
}

// Answer takes the peer's offer (already decoded and checked) and returns the answer token. When
// the offer carries a rendezvous secret, the answer says that this side reads acknowledgements
// (Token.Acks), so the offerer tells it how the answer arrived, even when it was pasted
// (AnswerCarrier).
func (p *Peer) Answer(ctx context.Context, offer Token) (Token, error) {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer.SDP()}); err != nil {
		return Token{}, fmt.Errorf("using the peer's offer: %w", err)
	}
	p.remote = &offer
	p.answerTime = time.Now()
	answer, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return Token{}, fmt.Errorf("creating the answer: %w", err)
	}
	tok, _, err := p.finishLocal(ctx, Answer, answer)
	if err != nil {
		return tok, err
	}
	if p.prepareAnswerer(offer, tok) {
		tok.Acks = true
		p.local.Acks = true
	}
	return tok, nil
}

// AcceptAnswer gives the peer's pasted answer to the offering side; connecting starts now. It is
// AcceptAnswerFrom(answer, CarrierPaste).
func (p *Peer) AcceptAnswer(answer Token) error {
	return p.AcceptAnswerFrom(answer, CarrierPaste)
}

// finishLocal sets our description and returns our token once gathering ended or its time ran
// out, with the channel closed when gathering is over.
func (p *Peer) finishLocal(ctx context.Context, kind Kind, desc webrtc.SessionDescription) (Token, <-chan struct{}, error) {
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(desc); err != nil {
		return Token{}, nil, fmt.Errorf("gathering network addresses: %w", err)
	}
	// Gathering ends by itself when every server answered or timed out; a black-holed TURN server
	// can hold it far longer than is pleasant, so take what we have after the deadline.
	timer := time.NewTimer(p.cfg.gatherTimeout() + 500*time.Millisecond)
	defer timer.Stop()
	select {
	case <-gathered:
	case <-timer.C:
	case <-ctx.Done():
		return Token{}, nil, ctx.Err()
	}
	tok, err := FromSDP(kind, p.pc.LocalDescription().SDP)
	if err != nil {
		return Token{}, nil, fmt.Errorf("reading our own session description: %w", err)
	}
	tok.Candidates = trimCandidates(tok.Candidates, 16)
	tok.Role = p.cfg.Role
	tok.Summary = p.cfg.Summary
	if kind == Offer {
		tok.Active = false
	}
	p.local = &tok
	return tok, gathered, nil
}

// trimCandidates keeps at most max candidates, preferring the ones that cross NATs (srflx, prflx,
// relay: up to half of max, more if there are too few host candidates) over the long tail of host
// addresses a multi-homed machine has, and keeps them in the order they were gathered
// (PROTOCOL.md §1.4; web/js/token.js does the same).
func trimCandidates(cs []Candidate, max int) []Candidate {
	if len(cs) <= max {
		return cs
	}
	keep := make([]bool, len(cs))
	n := 0
	for i, c := range cs {
		if c.Type != Host && n < max/2 {
			keep[i] = true
			n++
		}
	}
	for i, c := range cs {
		if c.Type == Host && n < max {
			keep[i] = true
			n++
		}
	}
	for i := range cs { // few hosts: the remaining places go to the other kinds
		if !keep[i] && n < max {
			keep[i] = true
			n++
		}
	}
	out := make([]Candidate, 0, n)
	for i, c := range cs {
		if keep[i] {
			out = append(out, c)
		}
	}
	return out
}

// Close tears the connection down.
func (p *Peer) Close() error {
	return p.pc.Close()
}

func sha256Fingerprint(cert *webrtc.Certificate) ([32]byte, error) {
	var fp [32]byte
	fps, err := cert.GetFingerprints()
	if err != nil {
		return fp, fmt.Errorf("reading the certificate fingerprint: %w", err)
	}
	for _, f := range fps {
		if f.Algorithm != "sha-256" {
			continue
		}
		b, err := hex.DecodeString(strings.ReplaceAll(f.Value, ":", ""))
		if err != nil || len(b) != 32 {
			return fp, fmt.Errorf("bad certificate fingerprint %q", f.Value)
		}
		copy(fp[:], b)
		return fp, nil
	}
	return fp, errors.New("certificate has no sha-256 fingerprint")
}

const iceChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func randomICEChars(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("making ICE credentials: %w", err)
	}
	for i := range b {
		b[i] = iceChars[int(b[i])%len(iceChars)] // 256 is a multiple of 64: no bias
	}
	return string(b), nil
}
