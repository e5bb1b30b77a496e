package signal

import (
	"time"

	"github.com/pion/webrtc/v4"
)

// SCTP settings, chosen by measurement through the lab's link emulator (100 Mbit/s, RTT 100 and
// 300 ms, loss 0 and 1 %; docs/BENCHMARKS.md has the numbers and the levers that did not help).
//
// pion's SCTP defaults grow the congestion window by one 1191-byte MTU per round trip after a
// loss and fall back to a one-MTU window after a retransmission timeout, which at 100 ms RTT
// means minutes to refill a 100 Mbit/s path: 18 Mbit/s loss-free, under 7 Mbit/s with 1 % loss.
const (
	// sctpReceiveBuffer is the receive window. It must be well above what the sender keeps in
	// flight (highWater, 8 MiB): after a burst of losses the receiver holds everything behind
	// the hole, and with an 8 MiB window that closed the window, so each lost retransmission
	// waited for a 1 s timeout (4-5 s stalls at 100 ms RTT; 4 MiB stalled almost for good).
	// At 16 MiB a hole leaves the window open and the stall is at most one timeout.
	sctpReceiveBuffer = 16 << 20
	// sctpCAStep is the congestion-avoidance growth per window acknowledged (pion: one MTU).
	// 64 KiB took 10 s to fill a 300 ms path after slow start ended; 128 KiB about 3 s; 256 KiB
	// overshot the queue of a 100 ms path more often (deeper saw-tooth, more timeouts).
	sctpCAStep = 128 << 10
	// sctpMinCwnd is the floor of the congestion window after a loss or a timeout (pion: one
	// MTU). It trades some fairness to competing flows for not restarting from nothing. 1 MiB
	// doubled the rate at 1 % loss but wrecked short paths whose capacity (BDP + queue) is below
	// it: 100 Mbit/s at 20 ms fell to 9 Mbit/s; 256 KiB gives 56 Mbit/s there and is still
	// faster than pion's default on a 10 Mbit/s path with a 64 KiB queue. On paths under 1 ms
	// (a wired LAN) neither this floor nor sctpCAStep applies (pion-sctp P2PCOPY-PATCH.md §5a): both
	// are above what a 1 Gbit/s link with a 1 ms queue holds, and kept it overflowing.
	sctpMinCwnd = 256 << 10
	// sctpFastRtxWnd is how much one fast-retransmit round may resend (pion: one MTU), so a
	// burst of losses is repaired in a few round trips instead of one packet per round trip.
	sctpFastRtxWnd = 256 << 10
	// sctpRTOMax caps the retransmission timeout (pion: 60 s). pion's minimum RTO is 1 s and the
	// cap wins over it, so 1 s both bounds the stall after a lost retransmission and, after an
	// outage, resends the stalled data within a second of the path coming back.
	sctpRTOMax = time.Second
)

// receiveBuffer is how many bytes of received datagrams pion's ICE agent and its DTLS mux each
// hold for a reader that has fallen behind (third_party/pion-ice and pion-webrtc,
// P2PCOPY-PATCH.md; pion: 1 MB each), before they drop. At 1 MB a receiver that stalled for a
// few milliseconds on this loaded 2-core machine dropped ~20 000 datagrams per GiB there (none
// in the kernel's 4 MiB socket buffer) and the sender resent 2-4 % of the data. The sender keeps
// at most highWater (8 MiB) unacknowledged, so 8 MiB holds all it can send ahead of a stalled
// reader; the SCTP receive window (16 MiB) counts only what came through. It is local memory,
// used only while the reader is behind, so it applies towards a browser too.
const receiveBuffer = highWater

// tuneSCTP applies the settings above that hold towards any peer. The congestion settings
// (sctpCAStep, sctpMinCwnd, sctpFastRtxWnd) wait for tuneAssociation, which knows the peer.
func tuneSCTP(se *webrtc.SettingEngine) {
	se.SetSCTPMaxReceiveBufferSize(sctpReceiveBuffer)
	se.SetSCTPRTOMax(sctpRTOMax)
	se.SetReceiveBufferSize(receiveBuffer)
	// Received datagrams go from the socket read to DTLS without a copy (third_party/pion-ice
	// §2, pion-webrtc §3, pion-dtls §5): local buffers only, nothing on the wire changes.
	se.SetOwnedReceive(true)
	tunePackets(se)
}

// tuneAssociation applies, once connected and only when the peer is known to be a p2pcopy CLI,
// the congestion settings above and pion-sctp's tolerance of random loss (third_party/pion-sctp,
// P2PCOPY-PATCH.md §5: a loss halves the window only when queueing delay or heavy loss says it
// is congestion; measured on the lab's 100 Mbit/s link with 1 % loss each way: 19 → 64 % of the
// link at 100 ms, 7 → 47 % at 300 ms, loss-free rows unchanged). All are sender-side choices
// that change nothing on the wire.
//
// Towards a browser pion's settings stay: a CA step or a window floor above one MTU (each
// alone, even a 16 KiB step) made Chromium's UDP socket drop ~14 000 datagrams per 100 MB on
// loopback and cut CLI → Chromium from 19-25 MB/s to 4-6 MB/s, while over a 100 ms path without
// them the CLI reaches only 2.5 MB/s of 12.5. They used to be fixed on the SettingEngine, before
// the peer's token is read, so a plain `send` whose token was opened in the page drove Chromium
// with them (hundreds of fast retransmits and 1-3 timeouts per 30 MiB to Firefox); pion-sctp
// now takes them per association (P2PCOPY-PATCH.md §8), set here before the first DATA.
//
// What bounds CLI → Chromium on loopback is Chromium's socket: it asks for a 64 KiB receive
// buffer (the kernel doubles it: ~56 datagrams of ~1.2 KB), so pion's window settles at 40-75
// KB and the rate at window ÷ RTT (~2.5 ms through Chromium's processes). Levers measured there
// that did not help, so not kept: pacing new DATA (a token bucket in pion-sctp at 1.25× or 2×
// cwnd ÷ srtt, 16 or 32 KiB bursts: same drops, 15-26 MB/s against 24-28 unpaced); a SACK for
// every second packet towards Chromium's sender (16-17 MB/s against 18-25); a SACK only every
// 8th or 16th packet (Chromium's sender stalled after ~1 500 packets). 2000-byte packets
// towards a browser on the same machine gave +30 % but were not kept: Chromium 156 loses the
// connection from 2060 bytes, a margin too thin for a gain only a same-machine page sees.
func tuneAssociation(c *Conn, peerIsCLI bool) {
	if s := c.sctpStream(); s != nil && peerIsCLI {
		s.SetAssociationCongestion(sctpMinCwnd, sctpFastRtxWnd, sctpCAStep)
		s.SetAssociationRandomLossTolerance(true)
	}
}

// peerIsCLI reports whether the peer's token came from a p2pcopy CLI: a CLI's offer carries a
// rendezvous secret and a CLI's answer to such an offer says it reads acknowledgements (§1.3);
// the page's tokens do neither.
func (p *Peer) peerIsCLI() bool {
	return !p.cfg.BrowserPeer && p.remote != nil && (p.remote.Rendezvous != nil || p.remote.Acks)
}
