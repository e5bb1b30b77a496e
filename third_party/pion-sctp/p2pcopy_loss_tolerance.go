// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import "time"

// Random-loss tolerance (p2pcopy patch, P2PCOPY-PATCH.md §5): a sender-side choice of how the
// congestion window answers a loss, invisible to the peer (nothing on the wire changes).
//
// RFC 9260 §7.2.3 halves cwnd on every loss event. On a long path with some random loss (radio
// links, busy Wi-Fi, lossy tunnels: 1 % on a 100 ms path is a loss event every round trip),
// halving every round trip while growing one step per round trip keeps the window a small
// fraction of the path's capacity. With the tolerance on, a loss event halves cwnd only when it
// looks like congestion — the way TCP Veno tells congestion from random loss:
//
//   - the path is queueing: the newest acknowledged original transmission took noticeably
//     longer than the minimum round trip (a full drop-tail queue adds its whole delay), or
//   - the loss is heavy: more than lossToleranceMaxLoss of the chunks sent in the last round
//     trips were retransmitted (a shallow queue that overflows adds little delay but many losses).
//
// Otherwise the lost chunks are retransmitted and cwnd keeps its size (and keeps growing, even
// in slow start). Competing flows still make each other back off: they fill the queue, which
// shows in the round trip, and overflow it, which shows in the loss rate.
const (
	// lossToleranceMaxLoss is the share of chunks retransmitted over the last round trips above
	// which a loss is congestion whatever the delay says: three times the 1 % of random loss the
	// tolerance is meant for, with room for the round-to-round spread of a random process.
	lossToleranceMaxLoss = 0.03
	// lossToleranceMinLost is how many retransmissions the loss rate needs before it counts: in
	// the first small windows of slow start one random loss out of a few dozen chunks is not a
	// rate.
	lossToleranceMinLost = 3
	// lossToleranceQueueShare is the queueing delay, as a share of the minimum round trip, above
	// which the path counts as congested (1/8: 12.5 ms on a 100 ms path).
	lossToleranceQueueShare = 8
	// lossToleranceRecentShare sets the window of the recent round trip, as a share of the minimum
	// round trip (1/2: 50 ms on a 100 ms path). A 128 KiB burst queues for 10 ms at 100 Mbit/s,
	// and on a loaded host a sender or receiver that is not scheduled for a few tens of
	// milliseconds delays every acknowledgement of that time (seen: up to ~35 ms); a queue that
	// overflows has stood for at least a round trip.
	lossToleranceRecentShare = 2
	// lossToleranceMinQueueDelay is the least queueing delay taken as congestion, above the
	// jitter of timers and scheduling on a loaded host (which showed up to a few milliseconds).
	lossToleranceMinQueueDelay = 5 * time.Millisecond
	// lossToleranceMinRTTWindow is how long the minimum round trip is remembered. The halving on
	// congestion drains the queue often enough to renew it; a path that grows longer counts as
	// congested (the RFC's response) until the old minimum expires.
	lossToleranceMinRTTWindow = 30 * time.Second
	// lossToleranceShortPath is the minimum round trip under which a path is short (shortPath):
	// a wired LAN (0.05-0.5 ms), where a 1 ms queue stays under lossToleranceMinQueueDelay and a
	// halved window grows back within milliseconds even at one MTU per round trip. It is kept
	// well under the 1-5 ms of Wi-Fi and nearby hosts, where random loss is what the tolerance is
	// for: there, one MTU per round trip with a halving per loss would hold 1 % loss to a few
	// MB/s.
	lossToleranceShortPath = time.Millisecond
)

// lossTolerance is the state of the random-loss tolerance. All fields are guarded by the
// association lock.
type lossTolerance struct {
	enabled bool
	// minRTT is the minimum round trip over lossToleranceMinRTTWindow, recentRTT over the last
	// lossToleranceRecentShare of it: a queue that stands shows in recentRTT, while a burst
	// that queues for a moment, or a receiver that acknowledges late for once, does not.
	minRTT, recentRTT *windowedMin
	// newestSent is the send time of the newest original transmission acknowledged so far.
	newestSent time.Time
	// randomRecovery is true while the current fast recovery began with a loss judged random
	// (cwnd was kept, so slow start may go on).
	randomRecovery bool
	// reducedUntil is the highest TSN sent when cwnd was last reduced: losses of chunks up to
	// it belong to the same congestion event, while the queue drains (RFC 6582's one reduction
	// per window; pion ends fast recovery at the highest TSN acknowledged instead).
	reduced      bool
	reducedUntil uint32
	// Loss events answered by a reduction and judged random, and lost chunks judged random
	// (the first of a recovery and each further one judged in it), for tests and traces.
	nReductions, nRandom, nRandomLosses uint64
	// Chunks sent (originals and retransmissions) and retransmitted, in the round trip that ends
	// when the cumulative TSN ack reaches roundEnd (cur*) and in the round before (prev*).
	roundStarted             bool
	roundEnd                 uint32
	curSent, curRetransmit   uint32
	prevSent, prevRetransmit uint32
}

// SetAssociationRandomLossTolerance turns the random-loss tolerance of the association the stream
// belongs to on or off (WithRandomLossTolerance; p2pcopy patch, P2PCOPY-PATCH.md §5). It is for
// callers that get the association from a library that creates it (pion/webrtc): it takes effect
// at the next loss.
func (s *Stream) SetAssociationRandomLossTolerance(enabled bool) {
	a := s.association
	a.lock.Lock()
	defer a.lock.Unlock()
	a.lossTolerance.enable(enabled)
}

// AssociationRandomLossTolerance reports whether the stream's association tolerates random
// loss (SetAssociationRandomLossTolerance, Config.RandomLossTolerance).
func (s *Stream) AssociationRandomLossTolerance() bool {
	a := s.association
	a.lock.RLock()
	defer a.lock.RUnlock()
	return a.lossTolerance.enabled
}

func (lt *lossTolerance) enable(enabled bool) {
	lt.enabled = enabled
	lt.randomRecovery = lt.randomRecovery && enabled
	if enabled && lt.minRTT == nil {
		lt.minRTT = newWindowedMin(lossToleranceMinRTTWindow)
		lt.recentRTT = newWindowedMin(lossToleranceMinRTTWindow)
	}
}

// onSent counts a chunk put on the wire; retransmission tells whether it was sent before.
func (lt *lossTolerance) onSent(retransmission bool) {
	if !lt.enabled {
		return
	}
	lt.curSent++
	if retransmission {
		lt.curRetransmit++
	}
}

// onDelivered takes a round-trip sample from a chunk the peer acknowledged for the first time.
// Retransmitted chunks give none (Karn: which transmission arrived is unknown).
func (lt *lossTolerance) onDelivered(c *chunkPayloadData, now time.Time) {
	if !lt.enabled || c.nSent != 1 || !c.since.After(lt.newestSent) {
		return
	}
	lt.newestSent = c.since
	rtt := now.Sub(c.since)
	lt.minRTT.Push(now, rtt)
	lt.recentRTT.rackMinRTTWnd = max(lt.minRTT.Min(now)/lossToleranceRecentShare, time.Millisecond)
	lt.recentRTT.Push(now, rtt)
}

// onCumulativeAck closes the round trip once the cumulative TSN ack passes its end; nextTSN is
// the TSN the next new chunk will get.
func (lt *lossTolerance) onCumulativeAck(cumTSNAck, nextTSN uint32) {
	if !lt.enabled || (lt.roundStarted && sna32LT(cumTSNAck, lt.roundEnd)) {
		return
	}
	lt.roundStarted = true
	lt.prevSent, lt.prevRetransmit = lt.curSent, lt.curRetransmit
	lt.curSent, lt.curRetransmit = 0, 0
	lt.roundEnd = nextTSN - 1
}

// sameEvent reports whether a loss detected now belongs to the congestion event the window was
// last reduced for (chunks sent before the reduction); cumTSNAck is the cumulative TSN ack point.
func (lt *lossTolerance) sameEvent(cumTSNAck uint32) bool {
	return lt.enabled && lt.reduced && sna32LT(cumTSNAck, lt.reducedUntil)
}

// congested reports whether a loss detected now is to be answered as congestion.
func (lt *lossTolerance) congested(now time.Time) bool {
	if !lt.enabled {
		return true
	}
	retransmitted := lt.prevRetransmit + lt.curRetransmit
	if sent := lt.prevSent + lt.curSent; retransmitted >= lossToleranceMinLost &&
		float64(retransmitted) > lossToleranceMaxLoss*float64(sent) {
		return true
	}
	if lt.shortPath(now) {
		return true
	}
	minRTT := lt.minRTT.Min(now)
	if minRTT <= 0 {
		return true // no round trip measured yet: nothing to compare with
	}
	queueing := lt.recentRTT.Min(now) - minRTT

	return queueing > max(minRTT/lossToleranceQueueShare, lossToleranceMinQueueDelay)
}

// shortPath reports whether the path's minimum round trip (over lossToleranceMinRTTWindow) is
// below lossToleranceShortPath. On such a path — a wired LAN, loopback — the delay test can never
// see a queue (a full 1 ms queue in front of a 1 Gbit/s link stays under
// lossToleranceMinQueueDelay), and the window a halving costs grows back within milliseconds, so
// the tolerance buys nothing there and a sender that can outrun the link would overflow its
// queue for good: every loss is congestion, and neither MinCwnd's floor (cwndFloor) nor
// CwndCAStep (caStep) applies. With the tolerance off it is never short.
func (lt *lossTolerance) shortPath(now time.Time) bool {
	if !lt.enabled {
		return false
	}
	minRTT := lt.minRTT.Min(now)

	return minRTT > 0 && minRTT < lossToleranceShortPath
}

// cwndFloor is the least the congestion window may fall to: MinCwnd (WithMinCwnd,
// SetAssociationCongestion), except on a short path with the tolerance on (shortPath), where a
// floor above the path's capacity — a 1 ms queue holds 125 KB at 1 Gbit/s — would keep it
// overflowing; there the RFC's own floors hold. The caller holds the lock.
func (a *Association) cwndFloor() uint32 {
	if a.minCwnd != 0 && a.lossTolerance.shortPath(time.Now()) {
		return 0
	}

	return a.minCwnd
}

// caStep is the congestion-avoidance growth per window acknowledged: CwndCAStep, except on a
// short path with the tolerance on (shortPath), where one window there is a fraction of a
// millisecond and a step sized for long paths (p2pcopy: 128 KiB) overshoots a 1 ms queue at
// 1 Gbit/s (125 KB) within one round trip of every reduction; there the RFC's one MTU holds (the
// caller takes the larger of the two). The caller holds the lock.
func (a *Association) caStep() uint32 {
	if a.lossTolerance.shortPath(time.Now()) {
		return 0
	}

	return a.cwndCAStep
}

// onLossEvent applies RFC 9260 §7.2.3 when a fast retransmit starts (first is true: the caller
// has just entered fast recovery), unless the tolerance judges the loss random. While a recovery
// that began with a random loss lasts, cwnd keeps growing (even in slow start), so every
// further loss detected in it is judged again (first is false): an overshoot that overflows the
// queue in the meantime must still halve the window, or the sender would go on sending into a
// full queue until the recovery ends. The caller holds the lock.
func (a *Association) onLossEvent(first bool) {
	lt := &a.lossTolerance
	if lt.sameEvent(a.cumulativeTSNAckPoint) {
		lt.randomRecovery = false // already answered: no second reduction, no slow start

		return
	}
	if !lt.congested(time.Now()) {
		if first {
			lt.nRandom++
		}
		lt.nRandomLosses++
		lt.randomRecovery = true
		a.log.Tracef("[%s] loss judged random: cwnd=%d ssthresh=%d kept", a.name, a.CWND(), a.ssthresh)

		return
	}
	lt.randomRecovery = false
	lt.nReductions++
	lt.reduced, lt.reducedUntil = true, a.myNextTSN-1
	a.ssthresh = max32(a.CWND()/2, 4*a.MTU())
	a.setCWND(a.ssthresh)
	a.partialBytesAcked = 0
}
