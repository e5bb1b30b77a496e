// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import (
	"errors"
	"sync/atomic"
)

// errMTUShrink is returned when SetAssociationMTU is asked to lower the MTU.
var errMTUShrink = errors.New("sctp: the MTU can only grow")

// SetAssociationMTU raises the MTU of the association the stream belongs to: the largest SCTP
// packet this side sends from now on (p2pcopy patch, P2PCOPY-PATCH.md §4). Use it only when the
// path and the peer's read buffers are known to carry such packets; nothing is probed.
//
// It only grows: DATA chunks already queued or in flight were cut for the old MTU and still
// fit in the new one (they are bundled more per packet); a smaller MTU would leave some of them
// unsendable. A smaller or equal mtu is an error and changes nothing.
func (s *Stream) SetAssociationMTU(mtu uint32) error {
	return s.association.setMTU(mtu)
}

// setMTU raises a.mtu and everything derived from it, under the association lock (gatherOutbound,
// packetize and the congestion control read them under it; MTU() reads it atomically).
func (a *Association) setMTU(mtu uint32) error {
	if err := validateMTU(mtu); err != nil {
		return err
	}
	a.lock.Lock()
	defer a.lock.Unlock()

	return a.setMTULocked(mtu)
}

// setMTULocked is setMTU for a caller that holds the lock (PLPMTUD, p2pcopy_plpmtud.go).
func (a *Association) setMTULocked(mtu uint32) error {
	if mtu <= a.mtu {
		if mtu == a.mtu {
			return nil
		}

		return errMTUShrink
	}
	atomic.StoreUint32(&a.mtu, mtu)
	// New messages are cut into fragments as large as the new MTU allows (Stream.packetize).
	a.maxPayloadSize = maxPayloadSizeForMTU(mtu, a.useInterleaving)
	// pion sends a chunk only if it fits in cwnd with what is in flight, so a window smaller
	// than one new packet (the initial 4380 bytes, when the MTU grows early) would block a full
	// fragment for good: give the window at least RFC 9260 §7.2.1's initial size for this MTU.
	// Every other use (slow start, CA step, ssthresh, the RTO fallback to one MTU, fast
	// retransmit and TLR budgets, bundling) reads MTU() when it runs.
	if initial := min32(4*mtu, max32(2*mtu, 4380)); a.CWND() < initial {
		a.setCWND(initial)
	}
	a.awakeWriteLoop()

	return nil
}
