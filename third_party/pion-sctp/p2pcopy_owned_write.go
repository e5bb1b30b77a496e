// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

// p2pcopy patch (P2PCOPY-PATCH.md §9): a write whose chunks slice the caller's buffer.

// ownedMessage is a message written with WriteSCTPOwned: its chunks slice the caller's buffer,
// which goes back to the caller once no chunk needs it.
type ownedMessage struct {
	pending int    // chunks that still hold a slice of the buffer; under the association's lock
	release func() // called once pending reaches zero
}

// WriteSCTPOwned is WriteSCTP for a payload the stream may keep until the peer has it: its
// DATA chunks slice payload instead of copying it (upstream copies every message, since the
// chunks live until they are acknowledged). The caller must not modify payload until release
// is called; release is called once, when every chunk of the message was acknowledged, from
// the goroutine that processes the peer's SACKs, with the association's lock held: it must
// not block and must not call into the association. It may run before WriteSCTPOwned returns.
//
// If WriteSCTPOwned returns an error, no chunk keeps payload and release is not called: the
// payload is the caller's again. Neither is release called for a message whose chunks are
// dropped without being acknowledged (the association or stream closes, or partial
// reliability abandons them): the buffer is then simply left to the garbage collector.
func (s *Stream) WriteSCTPOwned(payload []byte, ppi PayloadProtocolIdentifier, release func()) (int, error) {
	if release == nil {
		release = func() {}
	}

	return s.writeSCTP(payload, ppi, &ownedMessage{release: release})
}

// packetize cuts raw into chunks that hold copies of it (upstream's signature; the tests call
// it).
func (s *Stream) packetize(raw []byte, ppi PayloadProtocolIdentifier) ([]*chunkPayloadData, bool) {
	return s.packetizeOwned(raw, ppi, nil)
}

// delivered notes that the peer has the chunk, so it no longer needs the caller's buffer; the
// last chunk of an owned message releases it. The caller holds the association's lock.
func (p *chunkPayloadData) delivered() {
	o := p.owned
	if o == nil {
		return
	}
	p.owned = nil
	o.pending--
	if o.pending == 0 {
		o.release()
	}
}
