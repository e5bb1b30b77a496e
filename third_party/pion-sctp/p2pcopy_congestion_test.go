// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import (
	"testing"
	"time"

	"github.com/pion/transport/v5/test"
	"github.com/stretchr/testify/assert"
)

// p2pcopy patch: congestion settings set on an association that already exists raise cwnd to
// the new floor at once and keep it there through heavy loss (10 % of DATA packets), where
// pion's one-MTU floor lets each loss event halve it.
func TestSetAssociationCongestion(t *testing.T) {
	lim := test.TimeOut(60 * time.Second)
	defer lim.Stop()

	const floor, rtxWnd, step = 256 << 10, 128 << 10, 64 << 10
	for _, set := range []bool{false, true} {
		a0, a1, _ := lossyAssociationPair(t, 10)
		minCwnd := uint32(0)
		sendThroughLoss(t, a0, a1, func(s *Stream) {
			if !set {
				return
			}
			s.SetAssociationCongestion(floor, rtxWnd, step)
			gotFloor, gotRtx, gotStep := s.AssociationCongestion()
			assert.Equal(t, [3]uint32{floor, rtxWnd, step}, [3]uint32{gotFloor, gotRtx, gotStep})
			assert.Equal(t, uint32(floor), a0.CWND(), "cwnd raised to the new floor at once")
			minCwnd = floor
		}, 128)
		a0.lock.RLock()
		reductions := a0.lossTolerance.nReductions
		a0.lock.RUnlock()
		t.Logf("settings set: %v; cwnd at the end %d after %d reductions, %d T3", set, a0.CWND(),
			reductions, a0.stats.getNumT3Timeouts())
		if set {
			assert.GreaterOrEqual(t, a0.CWND(), minCwnd, "cwnd kept at or above the floor")
		} else {
			assert.Less(t, a0.CWND(), uint32(floor), "pion's floor lets loss bring cwnd under 256 KiB")
		}
	}
}
