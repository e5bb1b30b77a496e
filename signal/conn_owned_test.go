package signal

import (
	"bytes"
	"encoding/binary"
	"runtime"
	"testing"
	"time"
)

// WriteMsgOwned over a real loopback pair: messages written from 4 buffers, each refilled as
// soon as it is released, arrive intact, every buffer comes back, and the sending side no
// longer copies what it sends (the process allocates at least half the bytes sent less
// than with WriteMsg, as many messages in flight; the receiving side, in the same process,
// allocates the same in both).
func TestWriteMsgOwnedOverLoopback(t *testing.T) {
	a, b, _, _ := loopbackPair(t)
	a.GrowPackets()
	b.GrowPackets()
	const (
		msgSize = 64 << 10
		nBufs   = 4
		nMsgs   = 256 // 16 MiB
	)
	fill := func(p []byte, i int) {
		for j := 0; j+4 <= len(p); j += 4 {
			binary.LittleEndian.PutUint32(p[j:], uint32(i*len(p)+j)) //nolint:gosec // test pattern
		}
	}
	read := make(chan struct{}, nMsgs) // a token per message read
	recv := func() chan error {
		errc := make(chan error, 1)
		go func() {
			buf, want := make([]byte, msgSize), make([]byte, msgSize)
			for i := range nMsgs {
				n, err := b.ReadMsg(buf)
				if err != nil {
					errc <- err
					return
				}
				fill(want, i)
				if !bytes.Equal(buf[:n], want) {
					t.Errorf("message %d arrived changed", i)
				}
				read <- struct{}{}
			}
			errc <- nil
		}()
		return errc
	}
	allocated := func(send func(i int)) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		errc := recv()
		for i := range nMsgs {
			send(i)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}

	free := make(chan []byte, nBufs)
	for range nBufs {
		free <- make([]byte, msgSize)
	}
	owned := allocated(func(i int) {
		var p []byte
		select {
		case p = <-free:
		case <-time.After(20 * time.Second):
			t.Fatalf("message %d: no buffer was released", i)
		}
		fill(p, i)
		if err := a.WriteMsgOwned(p, func() { free <- p }); err != nil {
			t.Fatal(err)
		}
	})
	for range nBufs {
		select {
		case <-free:
		case <-time.After(20 * time.Second):
			t.Fatal("a buffer was never released after its message arrived")
		}
	}
	for range nMsgs {
		<-read
	}
	msg := make([]byte, msgSize)
	copied := allocated(func(i int) {
		if i >= nBufs { // as many messages in flight as buffers above
			<-read
		}
		fill(msg, i)
		if err := a.WriteMsg(msg); err != nil {
			t.Fatal(err)
		}
	})
	const sent = nMsgs * msgSize
	t.Logf("allocated per byte sent: WriteMsgOwned %.2f, WriteMsg %.2f", float64(owned)/sent, float64(copied)/sent)
	if owned+sent/2 > copied {
		t.Errorf("WriteMsgOwned allocated %d bytes for %d sent, WriteMsg %d: it still copies", owned, sent, copied)
	}
}
