// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package dtls

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// ReadOwned returns each record's data in a slice of its own: slices kept by the caller stay
// intact while later records arrive, and they match what was written, in order.
func TestP2pcopyReadOwnedKeepsEachRecord(t *testing.T) {
	ca, cb, err := pipeMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = ca.Close()
		_ = cb.Close()
	}()

	const count, size = 300, 1000
	record := func(i int) []byte { return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, size/2) }
	go func() {
		for i := 0; i < count; i++ {
			if _, err := ca.Write(record(i)); err != nil {
				return
			}
		}
	}()
	kept := make([][]byte, 0, count)
	for i := 0; i < count; i++ {
		got, err := readOwnedWithin(t, cb, 10*time.Second)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		kept = append(kept, got)
	}
	for i, got := range kept {
		if !bytes.Equal(got, record(i)) {
			t.Fatalf("record %d changed after later reads (first bytes %x)", i, got[:4])
		}
	}

	// Read still works beside it, and still refuses a buffer that is too small.
	if _, err := ca.Write([]byte("after")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	n, err := cb.Read(buf)
	assert.NoError(t, err)
	assert.Equal(t, "after", string(buf[:n]))
	if _, err := ca.Write([]byte("too long")); err != nil {
		t.Fatal(err)
	}
	_, err = cb.Read(buf)
	assert.ErrorIs(t, err, errBufferTooSmall)
}

// Receiving application data costs one copy of it (the slice ReadOwned returns), not a copy for
// the handshake fragment buffer as well: upstream copied every record for it before checking
// whether it was a handshake record.
func TestP2pcopyApplicationDataCopiedOnce(t *testing.T) {
	ca, cb, err := pipeMemory()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = ca.Close()
		_ = cb.Close()
	}()

	const count, size = 1000, 4000
	payload := bytes.Repeat([]byte{0x5a}, size)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	go func() {
		for i := 0; i < count; i++ {
			if _, err := ca.Write(payload); err != nil {
				return
			}
		}
	}()
	for i := 0; i < count; i++ {
		got, err := readOwnedWithin(t, cb, 10*time.Second)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if len(got) != size {
			t.Fatalf("record %d: %d bytes", i, len(got))
		}
	}
	runtime.ReadMemStats(&after)
	perRecord := float64(recordSized(&after, size)-recordSized(&before, size)) / count
	t.Logf("%.2f allocations of a record's size per %d-byte record (writer, pipe and reader)", perRecord, size)
	assert.Less(t, perRecord, limitCopiesPerRecord, "record-sized allocations per record")
}

// limitCopiesPerRecord bounds the allocations of a record's size per record for the whole
// exchange of TestP2pcopyApplicationDataCopiedOnce: the in-memory pipe copies each datagram
// once (1), the reader's record is copied once (1); upstream's extra copy for the fragment
// buffer makes it 3.
const limitCopiesPerRecord = 2.5

// recordSized counts the allocations so far in the size classes that hold objects of size to
// 2·size bytes (a record, or a datagram with its header and tag). Counting these rather than
// bytes keeps the race detector's own small allocations out.
func recordSized(m *runtime.MemStats, size int) uint64 {
	var n uint64
	for _, c := range m.BySize {
		if int(c.Size) >= size && int(c.Size) <= 2*size {
			n += c.Mallocs
		}
	}

	return n
}

// readOwnedWithin calls c.ReadOwned with a read deadline d from now.
func readOwnedWithin(t *testing.T, c *Conn, d time.Duration) ([]byte, error) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}

	return c.ReadOwned()
}
