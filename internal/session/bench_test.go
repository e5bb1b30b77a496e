package session_test

import (
	"bytes"
	"context"
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
//
// Both sides are CLIs on one machine, so their hellos agree on larger SCTP packets
// (signal.Conn.GrowPackets); BenchmarkLoopbackStreamPionPackets keeps pion's 1191 bytes.
func BenchmarkLoopbackStream(b *testing.B) {
	benchmarkLoopbackStream(b, false)
}

// BenchmarkLoopbackStreamPionPackets is BenchmarkLoopbackStream with the packet size a
// browser peer gets: the Conns hide their PacketGrower, so neither hello offers to grow.
func BenchmarkLoopbackStreamPionPackets(b *testing.B) {
	benchmarkLoopbackStream(b, true)
}

// plainConn hides the optional interfaces of the Conn it wraps.
type plainConn struct{ transfer.Conn }

func benchmarkLoopbackStream(b *testing.B, pionPackets bool) {
	const size = 256 << 20
	data := make([]byte, size)
	rng := rand.NewChaCha8([32]byte{7})
	_, _ = rng.Read(data)
	b.SetBytes(size)
	for b.Loop() {
		snd, rcv := connectPair(b, loopbackConfig(), loopbackConfig(), false, 20*time.Second)
		if snd.err != nil || rcv.err != nil {
			b.Fatalf("connect: sender %v, receiver %v", snd.err, rcv.err)
		}
		var sc, rc transfer.Conn = snd.conn, rcv.conn
		if pionPackets {
			sc, rc = plainConn{sc}, plainConn{rc}
		}
		items := []transfer.Item{transfer.StreamItem("data.bin", bytes.NewReader(data))}
		res := copyConns(b, sc, rc, items, transfer.ReceiveOptions{Stdout: io.Discard})
		if res.Bytes != size {
			b.Fatalf("received %d bytes, want %d", res.Bytes, size)
		}
		_ = snd.peer.Close()
		_ = rcv.peer.Close()
	}
}

// copyConns is copyItems over any transfer.Conn.
func copyConns(t testing.TB, snd, rcv transfer.Conn, items []transfer.Item, opts transfer.ReceiveOptions) transfer.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		_, err := transfer.Send(ctx, snd, items, transfer.SendOptions{})
		_ = snd.Close()
		errc <- err
	}()
	res, err := transfer.Receive(ctx, rcv, opts)
	if err != nil {
		t.Fatalf("receive: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("send: %v", err)
	}
	return res
}
