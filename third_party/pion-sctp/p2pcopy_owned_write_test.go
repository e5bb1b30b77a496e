// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"
	"time"
)

// A writer that reuses each buffer as soon as WriteSCTPOwned releases it, over a path that
// drops one DATA packet in 20 (so chunks are resent from the caller's buffer): every message
// arrives intact, and every buffer comes back once the peer has acknowledged it.
func TestWriteSCTPOwnedReleasesAfterAck(t *testing.T) {
	const (
		msgSize = 16 << 10
		nBufs   = 4 // few buffers: each is reused many times, right after its release
		nMsgs   = 48
	)
	a0, a1, lossy := lossyAssociationPair(t, 20)
	s0, err := a0.OpenStream(1, PayloadTypeWebRTCBinary)
	if err != nil {
		t.Fatal(err)
	}
	fill := func(b []byte, i int) {
		for j := range b {
			b[j] = byte(i + j/251)
		}
		binary.BigEndian.PutUint32(b, uint32(i)) //nolint:gosec // test index
	}
	done := make(chan error, 1)
	go func() {
		s1, err := a1.AcceptStream()
		if err != nil {
			done <- err

			return
		}
		buf, want := make([]byte, msgSize), make([]byte, msgSize)
		for i := range nMsgs {
			n, _, err := s1.ReadSCTP(buf)
			if err != nil {
				done <- err

				return
			}
			fill(want, i)
			if !bytes.Equal(buf[:n], want) {
				done <- errReadData

				return
			}
		}
		done <- nil
	}()

	free := make(chan []byte, nBufs) // release never blocks: at most nBufs buffers exist
	for range nBufs {
		free <- make([]byte, msgSize)
	}
	timeout := time.After(30 * time.Second)
	for i := range nMsgs {
		var b []byte
		select {
		case b = <-free:
		case <-timeout:
			t.Fatalf("message %d: no buffer was released", i)
		}
		fill(b, i)
		released := 0
		if _, err := s0.WriteSCTPOwned(b, PayloadTypeWebRTCBinary, func() {
			released++
			if released > 1 {
				t.Errorf("message %d released twice", i)
			}
			free <- b
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("%v (%d DATA packets dropped)", err, lossy.numDropped())
	}
	for range nBufs {
		select {
		case <-free:
		case <-timeout:
			t.Fatal("a buffer was never released after its message arrived")
		}
	}
	if lossy.numDropped() == 0 {
		t.Fatal("the path dropped nothing: no chunk was resent from the caller's buffer")
	}
}

// WriteSCTPOwned does not copy the message: what it allocates per 64 KiB message is the
// chunks' bookkeeping, not the payload (WriteSCTP allocates the payload's size again).
func TestWriteSCTPOwnedDoesNotCopy(t *testing.T) {
	const msgSize, nMsgs = 64 << 10, 32
	a0, _, _ := lossyAssociationPair(t, 1<<30)
	if err := a0.setMTU(8000); err != nil { // p2pcopy's packet size between two CLIs
		t.Fatal(err)
	}
	s0, err := a0.OpenStream(1, PayloadTypeWebRTCBinary)
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, msgSize)
	perMessage := func(write func([]byte) error) float64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range nMsgs {
			if err := write(msg); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)

		return float64(after.TotalAlloc-before.TotalAlloc) / nMsgs
	}
	owned := perMessage(func(b []byte) error {
		_, err := s0.WriteSCTPOwned(b, PayloadTypeWebRTCBinary, nil)

		return err
	})
	copied := perMessage(func(b []byte) error {
		_, err := s0.WriteSCTP(b, PayloadTypeWebRTCBinary)

		return err
	})
	t.Logf("bytes allocated per %d-byte message: WriteSCTPOwned %.0f, WriteSCTP %.0f", msgSize, owned, copied)
	if owned > msgSize/8 {
		t.Errorf("WriteSCTPOwned allocated %.0f bytes per %d-byte message: it copies the payload", owned, msgSize)
	}
	if copied < msgSize {
		t.Errorf("WriteSCTP allocated only %.0f bytes per %d-byte message: the measure is wrong", copied, msgSize)
	}
}
