package session_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/p2pcopy/p2pcopy/transfer"
)

// BenchmarkLoopbackStream copies 256 MiB from memory to io.Discard between two real peers in
// this process over loopback (DTLS, SCTP, the transfer protocol, SHA-256 on both sides, no
// disk), for profiling the data path of both sides at once:
//
//	go test -run '^$' -bench LoopbackStream -benchtime 3x -cpuprofile cpu.out ./internal/session/
func BenchmarkLoopbackStream(b *testing.B) {
	const size = 256 << 20
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{7})
	_, _ = rng.Read(data)
	b.SetBytes(size)
	for b.Loop() {
		snd, rcv := connectPair(b, loopbackConfig(), loopbackConfig(), false, 20*time.Second)
		items := []transfer.Item{transfer.StreamItem("data.bin", bytes.NewReader(data))}
		res := copyItems(b, snd, rcv, items, transfer.ReceiveOptions{Stdout: io.Discard})
		if res.Bytes != size {
			b.Fatalf("received %d bytes, want %d", res.Bytes, size)
		}
		_ = snd.peer.Close()
		_ = rcv.peer.Close()
	}
}
