package signal

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
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
	tuneSCTP(&se, cfg.BrowserPeer)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetIncludeLoopbackCandidate(cfg.IncludeLoopback)
	if cfg.DisableMDNS {
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	n := cfg.Net
	if n == nil {
		if n, err = newBufferedNet(); err != nil {
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
	probeMTU(c, p.peerIsCLI())
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

// Close tears the connection down.
func (p *Peer) Close() error {
	return p.pc.Close()
}

func (p *Peer) info() ConnInfo {
	info := ConnInfo{ConnectTime: time.Since(p.answerTime)}
	if p.remote != nil {
		info.VerifyCode = VerificationCode(p.fingerprint, p.remote.Fingerprint)
	}
	pair, err := p.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return info
	}
	info.Local = Endpoint{Type: pair.Local.Typ.String(), Address: pair.Local.Address, Port: pair.Local.Port}
	info.Remote = Endpoint{Type: pair.Remote.Typ.String(), Address: pair.Remote.Address, Port: pair.Remote.Port}
	info.Path = p.classify(pair)
	info.SameMachine = pair.Local.Typ == webrtc.ICECandidateTypeHost &&
		(pair.Remote.Typ == webrtc.ICECandidateTypeHost || pair.Remote.Typ == webrtc.ICECandidateTypePrflx) &&
		p.ownAddress(pair.Local.Address) && p.ownAddress(pair.Remote.Address)
	if info.Path == PathRelayed {
		if pair.Local.Typ == webrtc.ICECandidateTypeRelay {
			info.RelayHost = p.turnHost()
		} else {
			info.RelayHost = info.Remote.hostPort() + " (your peer's relay)"
		}
	}
	return info
}

// classify says how the selected pair's bytes travel.
func (p *Peer) classify(pair *webrtc.ICECandidatePair) Path {
	local, remote := pair.Local, pair.Remote
	switch {
	case local.Typ == webrtc.ICECandidateTypeRelay || remote.Typ == webrtc.ICECandidateTypeRelay:
		return PathRelayed
	case local.Typ != webrtc.ICECandidateTypeHost || remote.Typ == webrtc.ICECandidateTypeSrflx:
		return PathNAT // our public mapping is in use
	case remote.Typ == webrtc.ICECandidateTypePrflx:
		// The peer reached us from an address its token did not list: one of our own
		// (same machine) or a non-public one is a LAN; a public one is the peer's NAT.
		if p.ownAddress(remote.Address) || !bothPublic(remote.Address, remote.Address) {
			return PathLAN
		}
		return PathNAT
	case bothPublic(local.Address, remote.Address) && !sameLAN(local.Address, remote.Address):
		return PathDirect // two public addresses, no NAT on the way
	}
	return PathLAN
}

// ownAddress reports whether addr belongs to one of this machine's interfaces.
func (p *Peer) ownAddress(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	if err != nil || p.net == nil {
		return false
	}
	ifaces, err := p.net.Interfaces()
	if err != nil {
		return false
	}
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if pfx, err := netip.ParsePrefix(a.String()); err == nil && pfx.Addr() == ip {
				return true
			}
		}
	}
	return false
}

func (p *Peer) turnHost() string {
	for _, t := range p.cfg.TURN {
		if s, err := ParseTURN(t); err == nil {
			_, hostport, _ := strings.Cut(s.URLs[0], ":")
			hostport, _, _ = strings.Cut(hostport, "?")
			return hostport
		}
	}
	return "the peer's TURN server"
}

// Endpoint is one end of the selected candidate pair.
type Endpoint struct {
	Type    string `json:"type"`
	Address string `json:"address"`
	Port    uint16 `json:"port"`
}

func (e Endpoint) String() string {
	if e.Address == "" {
		return "unknown"
	}
	return fmt.Sprintf("%s (%s)", e.hostPort(), e.Type)
}

func (e Endpoint) hostPort() string {
	return net.JoinHostPort(e.Address, strconv.Itoa(int(e.Port)))
}

// Path says how the bytes travel.
type Path string

const (
	PathLAN     Path = "lan"
	PathDirect  Path = "direct"
	PathNAT     Path = "nat"
	PathRelayed Path = "relayed"
)

// ConnInfo describes an established connection.
type ConnInfo struct {
	Path        Path
	Local       Endpoint
	Remote      Endpoint
	RelayHost   string
	VerifyCode  string
	ConnectTime time.Duration
	// SameMachine: the pair joins two host addresses of this machine (the peer runs here
	// too), so the kernel carries its packets over loopback whatever the addresses are.
	SameMachine bool
}

// Describe is the one-line human summary: "direct on LAN", "direct through NAT", "relayed via TURN HOST".
func (i ConnInfo) Describe() string {
	switch i.Path {
	case PathLAN:
		return "direct on LAN"
	case PathRelayed:
		if i.RelayHost != "" {
			return "relayed via TURN " + i.RelayHost
		}
		return "relayed via TURN"
	case PathNAT:
		return "direct through NAT"
	case PathDirect:
		return "direct (public addresses)"
	}
	return "direct"
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
