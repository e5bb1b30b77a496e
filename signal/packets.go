package signal

import (
	"net/netip"

	"github.com/pion/datachannel"
	"github.com/pion/sctp"
	"github.com/pion/webrtc/v4"
)

// Larger SCTP packets between two p2pcopy CLIs on one machine (docs/PROTOCOL.md
// §2.2, the hello's "sctp-mtu-8k"). pion/webrtc sends SCTP packets of at most 1191 bytes (its
// sctpOutboundMTU) and each datagram costs the same work however full it is (DTLS record,
// system call, SACK bookkeeping), so packets of ~8 KB carry a transfer in ~6.7× fewer of them.
const (
	// receiveMTU is the largest datagram this side reads: pion's ICE, DTLS and SCTP read
	// paths take 8192 bytes, but webrtc's demultiplexer between ICE and DTLS reads 1500 unless
	// told otherwise (SettingEngine.SetReceiveMTU), and would cut a larger datagram short. Only
	// a local buffer: nothing on the wire changes, towards a browser either (its packets are
	// ~1.2 KB).
	receiveMTU = 8192
	// lanSCTPMTU is the SCTP packet size GrowPackets sets: one SCTP packet becomes one DTLS
	// record in one UDP datagram, which must fit the peer's 8192-byte reads (receiveMTU and
	// pion's own). DTLS 1.2 adds at most 13 bytes of record header plus, for the ciphers pion
	// offers, 8 (nonce) + 16 (tag) for AES-GCM or 16 (IV) + 20 (HMAC-SHA1) + up to 16 (padding)
	// for AES-CBC: under 70 bytes, so 8000 leaves more than 100 to spare. UDP and IP headers are
	// not part of what is read. On loopback (MTU 64 KiB) the datagram travels whole; on a
	// 1500-byte Ethernet the kernel cuts it into 6 IP fragments, which a LAN delivers (no NAT,
	// no middlebox on the way) — the reason it is used on LAN pairs only.
	lanSCTPMTU = 8000
)

// tunePackets lets this side read datagrams up to receiveMTU, so that a peer that grew its
// packets (GrowPackets on its side) is understood. Applied to every peer connection: a side
// only announces the capability once it can read the larger datagrams.
func tunePackets(se *webrtc.SettingEngine) {
	se.SetReceiveMTU(receiveMTU)
}

// sctpStream returns the SCTP stream under the detached channel, or nil.
func (c *Conn) sctpStream() *sctp.Stream {
	if dc, ok := c.raw.(*datachannel.DataChannel); ok {
		return dc.SCTPStream()
	}
	return nil
}

// CanGrowPackets reports whether GrowPackets would raise this side's SCTP packet size: only
// when both peers run on this machine — the selected pair joins two loopback addresses, or two
// of this machine's own host addresses (which the kernel also carries over loopback) — where
// a datagram is never cut into IP fragments. On a 1500-byte LAN an 8 KB packet
// is 6 fragments and losing any one loses it all: with make bench's link emulator (two hosts on
// one subnet, 100 Mbit/s, 20 ms) it took a copy from 10.9 to 7.5 MB/s without loss and from
// 10.6 to 1.9 MB/s with 1 % loss. LANs, like Internet paths, wait for probing that also watches
// loss (RFC 8899); elsewhere the packets stay at pion's 1191 bytes.
//
// It is part of transfer's optional packet-size interface: the transfer announces the
// capability in its hello only when this is true.
func (c *Conn) CanGrowPackets() bool {
	oneMachine := isLoopback(c.Info.Local.Address) && isLoopback(c.Info.Remote.Address) || c.Info.SameMachine
	return c.Info.Path == PathLAN && oneMachine && c.sctpStream() != nil
}

// GrowPackets raises the size of the SCTP packets this side sends to lanSCTPMTU, if
// CanGrowPackets. Call it only once the peer said it reads such datagrams (both hellos
// carried the capability): a peer that cannot would drop every large packet and the
// connection would stall. It changes only this side's sending; the peer grows its own.
func (c *Conn) GrowPackets() {
	if !c.CanGrowPackets() {
		return
	}
	// It only fails for an MTU smaller than the current one, which lanSCTPMTU never is.
	_ = c.sctpStream().SetAssociationMTU(lanSCTPMTU)
}

// isLoopback reports whether addr is a loopback address (127/8, ::1).
func isLoopback(addr string) bool {
	ip, err := netip.ParseAddr(addr)
	return err == nil && ip.IsLoopback()
}
