package signal

import (
	"net/netip"
)

// Packet sizes found by probing (third_party/pion-sctp, P2PCOPY-PATCH.md §6: RFC 8899
// DPLPMTUD with HEARTBEAT+PAD probes). pion/webrtc sends SCTP packets of at most 1191 bytes,
// which fit any path; between two p2pcopy CLIs each side probes for the largest SCTP packet a
// 1500-byte path carries in one DTLS record and one unfragmented UDP datagram, and uses it once
// the peer's answer to a probe of that size came back. A path that carries less loses the
// larger probes, and the search settles on what it does carry (never a size no probe proved).
const (
	// internetPathMTU is the largest IP packet probed for: Ethernet's payload, the MTU of
	// nearly every Internet path that is not tunnelled (those are smaller, and probing finds
	// their size). Larger (jumbo) paths are rare beyond one LAN.
	internetPathMTU = 1500
	// ipv4Header is an IPv4 header without options (UDP datagrams carry none).
	ipv4Header = 20
	// ipv6Header is the fixed IPv6 header (no extension headers on our datagrams).
	ipv6Header = 40
	// udpHeader is the UDP header.
	udpHeader = 8
	// dtlsRecordOverhead is what DTLS 1.2 adds to one SCTP packet: a 13-byte record header
	// (type, version, epoch, 48-bit sequence number, length) and, for the AES-GCM suite two pion
	// peers with ECDSA certificates negotiate (pion offers it first), an 8-byte explicit nonce
	// and a 16-byte tag. ChaCha20-Poly1305 adds less (16); an AES-CBC suite adds up to 52
	// (IV, HMAC-SHA1, padding): then the probe of the maximum fails and the search settles
	// lower, as on any narrower path.
	dtlsRecordOverhead = 13 + 8 + 16
)

// maxProbedSCTPPacket is the largest SCTP packet probed for over IPv4 (1435) or IPv6 (1415)
// with a path MTU of mtu (pion-sctp rounds it down to a multiple of 4, the chunk padding: 1432
// and 1412).
func maxProbedSCTPPacket(mtu int, ipv6 bool) uint32 {
	ip := ipv4Header
	if ipv6 {
		ip = ipv6Header
	}
	return uint32(max(mtu-ip-udpHeader-dtlsRecordOverhead, 0))
}

// probeMTU starts probing for larger SCTP packets on c's association (pion-sctp's
// EnableAssociationPLPMTUD), for a connection between two p2pcopy CLIs only: towards a
// browser the wire stays what a browser's stack speaks (Chromium's usrsctp would answer the
// probes, but nothing about the page's wire changes). It is skipped on relayed paths (a TURN
// server adds a ChannelData or Send-indication header and a second leg whose MTU and address
// family differ) and when packets already grew past what probing would try (two CLIs on one
// machine, GrowPackets). The path MTU is taken as 1500 or, if smaller, the MTU of this side's
// interface on the pair: the kernel would cut a larger datagram into fragments on the way out,
// and a probe that passed as fragments would prove nothing about the path.
func (p *Peer) probeMTU(c *Conn, peerIsCLI bool) {
	s := c.sctpStream()
	if s == nil || !peerIsCLI || c.Info.Path == PathRelayed || c.Info.SameMachine {
		return
	}
	remote, err := netip.ParseAddr(c.Info.Remote.Address)
	if err != nil || remote.IsLoopback() {
		return
	}
	mtu := internetPathMTU
	if ifc, ok := p.ownInterface(c.Info.Local.Address); ok && ifc.MTU > 0 {
		mtu = min(mtu, ifc.MTU)
	}
	ceiling := maxProbedSCTPPacket(mtu, !remote.Unmap().Is4())
	if ceiling > s.AssociationMTU() {
		// It fails only for a maximum at or under the current MTU, excluded here.
		_ = s.EnableAssociationPLPMTUD(ceiling)
	}
}

// PacketSize is the largest SCTP packet this side sends now: 1191 (pion's size), the size
// probing confirmed between two CLIs, or 8000 between two CLIs on one machine.
func (c *Conn) PacketSize() int {
	if s := c.sctpStream(); s != nil {
		return int(s.AssociationMTU())
	}
	return 0
}
