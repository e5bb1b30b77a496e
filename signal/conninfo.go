package signal

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/pion/transport/v5"
	"github.com/pion/webrtc/v4"
)

// What an established connection is: its endpoints, its path, and how it is described.

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
	_, ok := p.ownInterface(addr)
	return ok
}

// ownInterface returns this machine's interface (as the peer's network lists them) that holds
// addr, if one does: a server-reflexive address is the NAT's, not ours.
func (p *Peer) ownInterface(addr string) (*transport.Interface, bool) {
	ip, err := netip.ParseAddr(addr)
	if err != nil || p.net == nil {
		return nil, false
	}
	ifaces, err := p.net.Interfaces()
	if err != nil {
		return nil, false
	}
	for _, ifc := range ifaces {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if pfx, err := netip.ParsePrefix(a.String()); err == nil && pfx.Addr() == ip {
				return ifc, true
			}
		}
	}
	return nil, false
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
