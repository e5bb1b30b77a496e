// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

// SetAssociationCongestion sets the congestion settings of the association the stream belongs
// to, as Config's MinCwnd, FastRtxWnd and CwndCAStep do at creation (0 keeps pion's one-MTU
// default), and raises cwnd to the new minimum at once. It is for callers that get the
// association from a library that creates it (pion/webrtc fixes these settings before it
// knows who the peer is): they take effect from the next packet sent. (p2pcopy patch,
// P2PCOPY-PATCH.md §8.)
func (s *Stream) SetAssociationCongestion(minCwnd, fastRtxWnd, cwndCAStep uint32) {
	a := s.association
	a.lock.Lock()
	defer a.lock.Unlock()
	a.minCwnd, a.fastRtxWnd, a.cwndCAStep = minCwnd, fastRtxWnd, cwndCAStep
	a.setCWND(a.CWND())
}

// AssociationCongestion returns the congestion settings of the stream's association
// (SetAssociationCongestion).
func (s *Stream) AssociationCongestion() (minCwnd, fastRtxWnd, cwndCAStep uint32) {
	a := s.association
	a.lock.RLock()
	defer a.lock.RUnlock()

	return a.minCwnd, a.fastRtxWnd, a.cwndCAStep
}
