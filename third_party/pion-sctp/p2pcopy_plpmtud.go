// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Packetization-layer path MTU discovery (p2pcopy patch, P2PCOPY-PATCH.md §6): RFC 8899
// DPLPMTUD as RFC 8899 §6.2.1 applies it to SCTP. A probe is a HEARTBEAT chunk padded to the
// probed size with a PAD chunk (RFC 4820); the peer answers the HEARTBEAT with a small
// HEARTBEAT-ACK (the PAD is not echoed), and only then is the MTU raised to the probe's size.
// A probe that is not answered within an RTO is sent again up to plpmtudMaxProbes times, then
// the size counts as too big and a smaller one is tried. Probes carry no DATA: a lost probe
// loses no user data and does not touch the congestion window (RFC 8899 §4.5: a probe's loss
// is not a congestion signal), and the peer needs no change beyond skipping the PAD chunk.

// ctPad is the PAD chunk type of RFC 4820 §3 (0x84). Its two high bits, 10, tell a receiver
// that does not know the type to skip it and go on with the packet (RFC 9260 §3.2).
const ctPad chunkType = 0x84

const (
	// plpmtudMaxProbes is RFC 8899 §5.1.2's MAX_PROBES (default 3): how many probes of one size
	// may go unanswered before the size counts as too big. With 1 % random loss three lost
	// probes in a row happen once in a million searches.
	plpmtudMaxProbes = 3
	// plpmtudMinGap ends the search: when the smallest size that failed is at most this many
	// bytes above the largest confirmed one, a further probe would win under 1 % of a packet.
	plpmtudMinGap = 16
	// plpmtudSizeMultiple: probed sizes are multiples of 4, the SCTP chunk padding, so that the
	// probe packet is exactly the probed size and DATA packets cut for it fill it exactly.
	plpmtudSizeMultiple = 4
	// plpmtudMinTimeout is the least time a probe is waited for. The timeout is the
	// association's RTO (at least 1 s in pion unless capped by RTOMax), and a probe queues
	// behind up to a window of DATA on the path; 200 ms keeps a capped RTO from judging a
	// probe that is merely queued.
	plpmtudMinTimeout = 200 * time.Millisecond
)

// The probe's Heartbeat Information (16 bytes, so that handleHeartbeatAck never takes it for an
// RTT timestamp, which is 8): a magic word, the probed size and a sequence number.
const (
	plpmtudInfoMagic = 0x504d5455 // "PMTU"
	plpmtudInfoLen   = 16
	// plpmtudProbeOverhead is the probe packet without the PAD chunk's value: common header
	// (12), HEARTBEAT chunk header (4) + Heartbeat Info parameter header (4) + info (16), and
	// the PAD chunk's header (4).
	plpmtudProbeOverhead = commonHeaderSize + chunkHeaderSize + 4 + plpmtudInfoLen + chunkHeaderSize
)

var (
	errPLPMTUDTooSmall = errors.New("sctp: PLPMTUD maximum must be above the current MTU")
	errPadChunk        = errors.New("sctp: malformed PAD chunk")
)

// PLPMTUDStats is what probing has done on an association (Stream.AssociationPLPMTUDStats).
type PLPMTUDStats struct {
	Enabled     bool
	Searching   bool   // a probe is outstanding or about to be sent
	Base        uint32 // the MTU when probing started
	Max         uint32 // the largest size it probes
	Confirmed   uint32 // the largest size a probe confirmed (Base if none)
	ProbesSent  uint64
	ProbesAcked uint64
	ProbesLost  uint64 // probes not answered in time
}

// plpmtud is the search state, kept under the association lock.
type plpmtud struct {
	stats     PLPMTUDStats
	failed    uint32 // the smallest size that failed plpmtudMaxProbes times (0: none)
	probeSize uint32 // the size being probed (0: none)
	attempts  int    // probes of probeSize sent so far
	seq       uint64 // sequence number of the last probe; also invalidates stale timers
	timer     *time.Timer
}

// EnableAssociationPLPMTUD starts probing for larger packets on the association the stream
// belongs to (p2pcopy patch, P2PCOPY-PATCH.md §6): from the association's current MTU, which
// must be known to pass, up to maxMTU (the largest SCTP packet to try, e.g. what a 1500-byte
// path leaves after the IP, UDP and DTLS headers). Each size a probe confirms becomes the MTU:
// new messages are cut into larger fragments.
//
// Use it only when the peer skips PAD chunks (RFC 4820; this package does, upstream pion/sctp
// does not — an upstream peer drops every probe and the MTU simply stays) and reads datagrams of
// maxMTU plus the DTLS overhead. Calling it again while enabled does nothing.
func (s *Stream) EnableAssociationPLPMTUD(maxMTU uint32) error {
	a := s.association
	a.lock.Lock()
	defer a.lock.Unlock()
	if a.plpmtud.stats.Enabled {
		return nil
	}
	maxMTU -= maxMTU % plpmtudSizeMultiple
	if err := validateMTU(maxMTU); err != nil {
		return err
	}
	if maxMTU <= a.MTU() || maxMTU < plpmtudProbeOverhead {
		return fmt.Errorf("%w: %d <= %d", errPLPMTUDTooSmall, maxMTU, a.MTU())
	}
	p := &a.plpmtud
	p.stats = PLPMTUDStats{Enabled: true, Searching: true, Base: a.MTU(), Max: maxMTU, Confirmed: a.MTU()}
	p.next(a)

	return nil
}

// AssociationPLPMTUDStats returns what probing did on the stream's association.
func (s *Stream) AssociationPLPMTUDStats() PLPMTUDStats {
	a := s.association
	a.lock.RLock()
	defer a.lock.RUnlock()

	return a.plpmtud.stats
}

// AssociationMTU returns the largest SCTP packet the stream's association sends now.
func (s *Stream) AssociationMTU() uint32 {
	return s.association.MTU()
}

// next picks the next size to probe and sends it, or ends the search: first the maximum (the
// common case, a 1500-byte path, is then settled in one round trip), then halfway between the
// largest confirmed and the smallest failed size. The caller holds the lock.
func (p *plpmtud) next(a *Association) {
	lo, hi := p.stats.Confirmed, p.failed
	size := p.stats.Max
	if hi != 0 {
		size = lo + (hi-lo)/2
		size -= size % plpmtudSizeMultiple
	}
	if size <= lo || (hi != 0 && hi-lo <= plpmtudMinGap) {
		p.probeSize, p.stats.Searching = 0, false

		return
	}
	p.probeSize, p.attempts = size, 0
	p.send(a)
}

// send queues one probe of probeSize and arms its timer. The caller holds the lock.
func (p *plpmtud) send(a *Association) {
	if a.getState() != established {
		p.probeSize, p.stats.Searching = 0, false

		return
	}
	p.seq++
	p.attempts++
	p.stats.ProbesSent++
	a.controlQueue.push(plpmtudProbe(a, p.probeSize, p.seq))
	a.awakeWriteLoop()

	timeout := max(time.Duration(a.rtoMgr.getRTO()*float64(time.Millisecond)), plpmtudMinTimeout)
	seq := p.seq
	p.timer = time.AfterFunc(timeout, func() {
		a.lock.Lock()
		defer a.lock.Unlock()
		p.onTimeout(a, seq)
	})
}

// onTimeout handles a probe that was not answered in time. The caller holds the lock.
func (p *plpmtud) onTimeout(a *Association, seq uint64) {
	if seq != p.seq || p.probeSize == 0 {
		return // answered, or superseded by a later probe
	}
	p.stats.ProbesLost++
	if p.attempts < plpmtudMaxProbes {
		p.send(a)

		return
	}
	p.failed = p.probeSize
	p.next(a)
}

// onHeartbeatAck takes a HEARTBEAT-ACK's information and reports whether it answered a probe.
// A probe of the size being probed confirms it (a late answer to an earlier attempt of that
// size proves it as well as the latest one). The caller holds the lock.
func (p *plpmtud) onHeartbeatAck(a *Association, info []byte) bool {
	if len(info) != plpmtudInfoLen || binary.BigEndian.Uint32(info) != plpmtudInfoMagic {
		return false
	}
	size := binary.BigEndian.Uint32(info[4:])
	if p.probeSize == 0 || size != p.probeSize {
		return true // a stale answer
	}
	p.stats.ProbesAcked++
	p.stats.Confirmed = size
	p.seq++ // disarms the pending timer
	if p.timer != nil {
		p.timer.Stop()
	}
	if size > a.MTU() {
		_ = a.setMTULocked(size) // only fails for a smaller MTU, excluded above
	}
	p.next(a)

	return true
}

// plpmtudProbe builds a probe packet of exactly size bytes: HEARTBEAT + PAD.
func plpmtudProbe(a *Association, size uint32, seq uint64) *packet {
	param := make([]byte, 4+plpmtudInfoLen)
	binary.BigEndian.PutUint16(param[0:], uint16(heartbeatInfo))
	binary.BigEndian.PutUint16(param[2:], uint16(len(param)))
	binary.BigEndian.PutUint32(param[4:], plpmtudInfoMagic)
	binary.BigEndian.PutUint32(param[8:], size)
	binary.BigEndian.PutUint64(param[12:], seq)

	return &packet{
		verificationTag: a.peerVerificationTag,
		sourcePort:      a.sourcePort,
		destinationPort: a.destinationPort,
		chunks: []chunk{
			&chunkHeartbeat{chunkHeader: chunkHeader{typ: ctHeartbeat, raw: param}},
			&chunkPad{chunkHeader{typ: ctPad, raw: make([]byte, size-plpmtudProbeOverhead)}},
		},
	}
}

// chunkPad is a PAD chunk (RFC 4820): padding that the receiver discards.
type chunkPad struct {
	chunkHeader
}

func (c *chunkPad) check() (bool, error) { return false, nil }

// padChunkSize returns how many bytes of raw, which starts with a PAD chunk, the chunk takes
// with its padding: packet.unmarshal skips them (RFC 4820 §3: the receiver MUST ignore it).
func padChunkSize(raw []byte) (int, error) {
	var c chunkHeader
	if err := c.unmarshal(raw); err != nil {
		return 0, fmt.Errorf("%w: %w", errPadChunk, err)
	}
	n := chunkHeaderSize + c.valueLength()

	return n + getPadding(n), nil
}
