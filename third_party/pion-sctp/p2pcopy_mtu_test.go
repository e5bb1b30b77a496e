package sctp

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/pion/logging"
	"github.com/pion/transport/v5/test"
)

// p2pcopy patch: SetAssociationMTU makes the following DATA packets larger (never larger than
// the new MTU), data written before and after it arrives intact, and the MTU never shrinks.
func TestSetAssociationMTU(t *testing.T) {
	lim := test.TimeOut(20 * time.Second)
	defer lim.Stop()

	br := test.NewBridge()
	a0, a1, err := createNewAssociationPair(br, ackModeNoDelay, 0)
	if err != nil {
		t.Fatal(err)
	}
	s0, s1, err := establishSessionPair(br, a0, a1, 1)
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	largest := 0
	br.Filter(0, func(raw []byte) bool {
		mu.Lock()
		largest = max(largest, len(raw))
		mu.Unlock()

		return true
	})
	largestSent := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := largest
		largest = 0

		return n
	}

	rng := rand.New(rand.NewPCG(1, 2))
	send := func(n int) [][]byte {
		var msgs [][]byte
		for range n {
			m := make([]byte, 64<<10)
			for i := range m {
				m[i] = byte(rng.Uint32())
			}
			if _, err := s0.WriteSCTP(m, PayloadTypeWebRTCBinary); err != nil {
				t.Fatal(err)
			}
			msgs = append(msgs, m)
		}

		return msgs
	}
	receive := func(want [][]byte) {
		buf := make([]byte, 128<<10)
		for i, w := range want {
			n, _, err := s1.ReadSCTP(buf)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if !bytes.Equal(buf[:n], w) {
				t.Fatalf("message %d: %d bytes differ from the %d sent", i, n, len(w))
			}
		}
	}

	before := send(2)
	flushBuffers(br, a0, a1)
	receive(before)
	if got := largestSent(); got > int(initialMTU) || got < 1000 {
		t.Fatalf("largest packet before: %d bytes, want about %d", got, initialMTU)
	}

	// Some data is still queued when the MTU grows: it goes out bundled in larger packets.
	queued := send(2)
	if err := s0.SetAssociationMTU(8000); err != nil {
		t.Fatal(err)
	}
	if a0.MTU() != 8000 || a0.maxPayloadSize != maxPayloadSizeForMTU(8000, a0.useInterleaving) {
		t.Fatalf("MTU %d, max payload %d", a0.MTU(), a0.maxPayloadSize)
	}
	after := send(4)
	flushBuffers(br, a0, a1)
	receive(append(queued, after...))
	if got := largestSent(); got <= 4*int(initialMTU) || got > 8000 {
		t.Fatalf("largest packet after: %d bytes, want more than %d and at most 8000", got, 4*initialMTU)
	}

	if err := s0.SetAssociationMTU(8000); err != nil {
		t.Errorf("the same MTU again: %v", err)
	}
	if err := s0.SetAssociationMTU(1200); !errors.Is(err, errMTUShrink) || a0.MTU() != 8000 {
		t.Errorf("shrinking: %v, MTU %d", err, a0.MTU())
	}
	if err := s0.SetAssociationMTU(0); err == nil {
		t.Error("an MTU of 0 was accepted")
	}

	closeAssociationPair(br, a0, a1)
}

// p2pcopy patch: a window smaller than one packet of the new MTU is raised to RFC 9260's
// initial window for it, so a full-size fragment is not held back for good.
func TestSetAssociationMTUGrowsSmallWindow(t *testing.T) {
	a := createAssociationFromConfigWithTsn(&Config{
		NetConn:       &dumbConn{},
		LoggerFactory: logging.NewDefaultLoggerFactory(),
	}, 1)
	a.setCWND(4380)
	if err := a.setMTU(8000); err != nil {
		t.Fatal(err)
	}
	if a.CWND() != 16000 {
		t.Fatalf("cwnd %d, want 16000", a.CWND())
	}
	a.setCWND(1 << 20)
	if err := a.setMTU(8100); err != nil || a.CWND() != 1<<20 {
		t.Fatalf("a large window changed: %d, %v", a.CWND(), err)
	}
}
