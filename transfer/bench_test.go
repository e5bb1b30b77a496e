package transfer

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkPipeTransfer sends a 64 MiB file over a Pipe, from and to real files, with
// different chunk sizes. Compare with:
//
//	go test -run '^$' -bench PipeTransfer -benchtime 10x ./transfer/
func BenchmarkPipeTransfer(b *testing.B) {
	const size = 64 << 20
	src, dst := b.TempDir(), b.TempDir()
	name := filepath.Join(src, "data.bin")
	if err := os.WriteFile(name, randomBytes(size, 42), 0o644); err != nil {
		b.Fatal(err)
	}
	items := fileItems(b, name)
	for _, kib := range []int{16, 64, 128, 255} {
		chunk := min(kib<<10, MaxMessageSize-1)
		b.Run(fmt.Sprintf("chunk=%dKiB", kib), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				o := transferCtx(b, context.Background(), context.Background(), items,
					SendOptions{ChunkSize: chunk}, ReceiveOptions{Dir: dst, Overwrite: true})
				o.mustSucceed(b)
			}
		})
	}
}

// BenchmarkPipeTransferMemory is BenchmarkPipeTransfer without the file system: a
// 64 MiB stream from memory to io.Discard, so it measures the protocol, the Pipe and
// SHA-256 (computed on both sides).
func BenchmarkPipeTransferMemory(b *testing.B) {
	const size = 64 << 20
	data := randomBytes(size, 44)
	for _, kib := range []int{16, 64, 128, 255} {
		chunk := min(kib<<10, MaxMessageSize-1)
		b.Run(fmt.Sprintf("chunk=%dKiB", kib), func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				items := []Item{StreamItem("data.bin", bytes.NewReader(data))}
				transfer(b, items, SendOptions{ChunkSize: chunk}, ReceiveOptions{Stdout: io.Discard}).mustSucceed(b)
			}
		})
	}
}

// TestSendDoesNotAllocatePerChunk guards the zero-allocation data path: the number of
// allocations of a whole transfer must not grow with the number of chunks.
func TestSendDoesNotAllocatePerChunk(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	src := t.TempDir()
	name := filepath.Join(src, "data.bin")
	if err := os.WriteFile(name, randomBytes(8<<20, 43), 0o644); err != nil {
		t.Fatal(err)
	}
	items := fileItems(t, name)
	allocs := func(chunk int) float64 {
		dst := t.TempDir()
		return testing.AllocsPerRun(3, func() {
			transfer(t, items, SendOptions{ChunkSize: chunk}, ReceiveOptions{Dir: dst, Overwrite: true}).mustSucceed(t)
		})
	}
	big, small := allocs(256<<10-1), allocs(4<<10) // 32 and 2048 chunks
	if small > big+200 {
		t.Errorf("%.0f allocations with 2048 chunks, %.0f with 32: something allocates per chunk", small, big)
	}
}
