// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package mux

// p2pcopy patch (P2PCOPY-PATCH.md §3): a queue of datagrams that takes the writer's slices
// instead of copying them, so that a reader that can keep a slice (ReadOwned) gets the very
// buffer the socket was read into. It keeps packetio.Buffer's contract otherwise: the same size
// limit (payload plus two bytes per packet, as packetio counts), ErrFull when a packet does not
// fit (the packet is dropped, nothing queued), the read deadline, close semantics (queued
// packets stay readable, then io.EOF) and Read's short-buffer behaviour. Its natural home
// upstream is pion/transport's packetio, next to Buffer; pion-ice carries the same type
// (p2pcopy_owned_queue.go there), kept identical but for this comment.

import (
	"errors"
	"io"
	"sync"
	"time"

	"github.com/pion/transport/v5/deadline"
	"github.com/pion/transport/v5/packetio"
)

// ownedQueueHeader is what packetio.Buffer adds to every packet for its limit (its 2-byte
// length header): counting the same way keeps a size limit meaning the same number of packets.
const ownedQueueHeader = 2

// ownedQueueDefaultLimit is packetio.Buffer's limit when none is set (4 MiB, one byte reserved).
const ownedQueueDefaultLimit = 4*1024*1024 - 1

// maxOwnedPacket is packetio.Buffer's largest packet (its length header has 16 bits).
const maxOwnedPacket = 0xffff

var errOwnedPacketTooBig = errors.New("packet too big")

// errOwnedTimeout is the read deadline's error: like packetio.Buffer's, a net.Error whose
// Timeout is true and which wraps packetio.ErrTimeout.
var errOwnedTimeout error = ownedTimeoutError{} //nolint:gochecknoglobals

type ownedTimeoutError struct{}

func (ownedTimeoutError) Error() string   { return packetio.ErrTimeout.Error() }
func (ownedTimeoutError) Unwrap() error   { return packetio.ErrTimeout }
func (ownedTimeoutError) Timeout() bool   { return true }
func (ownedTimeoutError) Temporary() bool { return true }

type ownedPacket struct {
	data  []byte
	attrs packetio.Attributes
}

// ownedQueue is a FIFO of packets whose slices it keeps as given. Its methods may be called
// concurrently.
type ownedQueue struct {
	mu     sync.Mutex
	ring   []ownedPacket // ring[head], …, ring[head+count-1] (mod len) are queued
	head   int
	count  int
	size   int // queued payload bytes plus ownedQueueHeader per packet
	limit  int // largest size; ≤ 0 means ownedQueueDefaultLimit
	closed bool
	notify chan struct{}

	readDeadline *deadline.Deadline
}

func newOwnedQueue() *ownedQueue {
	return &ownedQueue{notify: make(chan struct{}, 1), readDeadline: deadline.New()}
}

// SetLimitSize sets the largest number of queued bytes (payload plus two per packet), as
// packetio.Buffer.SetLimitSize does.
func (q *ownedQueue) SetLimitSize(limit int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.limit = limit
}

// WriteOwned queues p itself: the caller must not touch p afterwards, unless an error is
// returned (then nothing was queued). Attributes are shallow-copied. It returns
// packetio.ErrFull when p does not fit the limit, io.ErrClosedPipe after Close.
func (q *ownedQueue) WriteOwned(p []byte, attrs packetio.Attributes) (int, error) {
	if len(p) > maxOwnedPacket {
		return 0, errOwnedPacketTooBig
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, io.ErrClosedPipe
	}
	limit := q.limit
	if limit <= 0 {
		limit = ownedQueueDefaultLimit
	}
	size := len(p) + ownedQueueHeader
	if size > limit-q.size {
		return 0, packetio.ErrFull
	}
	if q.count == len(q.ring) {
		q.grow()
	}
	slot := &q.ring[(q.head+q.count)%len(q.ring)]
	slot.data = p
	slot.attrs = append(slot.attrs[:0], attrs...)
	q.count++
	q.size += size
	select {
	case q.notify <- struct{}{}:
	default:
	}

	return len(p), nil
}

// grow doubles the ring (q.mu held).
func (q *ownedQueue) grow() {
	ring := make([]ownedPacket, max(16, 2*len(q.ring)))
	n := copy(ring, q.ring[q.head:])
	copy(ring[n:], q.ring[:q.head])
	q.ring, q.head = ring, 0
}

// ReadOwned returns the next packet's slice itself, which now belongs to the caller, and
// replaces attrs with its attributes. It waits like packetio.Buffer.Read: for a packet, the
// read deadline (a packetio timeout error) or Close (io.EOF once the queue is empty).
func (q *ownedQueue) ReadOwned(attrs packetio.Attributes) ([]byte, packetio.Attributes, error) {
	clear(attrs)
	select {
	case <-q.readDeadline.Done():
		return nil, nil, errOwnedTimeout
	default:
	}
	for {
		q.mu.Lock()
		if q.count > 0 {
			slot := &q.ring[q.head]
			p := slot.data
			attrs = append(attrs[:0], slot.attrs...)
			clear(slot.attrs)
			slot.data, slot.attrs = nil, slot.attrs[:0]
			q.head = (q.head + 1) % len(q.ring)
			q.count--
			q.size -= len(p) + ownedQueueHeader
			if q.count > 0 && !q.closed {
				select {
				case q.notify <- struct{}{}:
				default:
				}
			}
			q.mu.Unlock()

			return p, attrs, nil
		}
		if q.closed {
			q.mu.Unlock()

			return nil, nil, io.EOF
		}
		q.mu.Unlock()
		select {
		case <-q.readDeadline.Done():
			return nil, nil, errOwnedTimeout
		case <-q.notify:
		}
	}
}

// Read copies the next packet into p like packetio.Buffer.Read: a packet longer than p is
// consumed, cut short and reported with io.ErrShortBuffer.
func (q *ownedQueue) Read(p []byte, attrs packetio.Attributes) (int, packetio.Attributes, error) {
	pkt, attrs, err := q.ReadOwned(attrs)
	if err != nil {
		return 0, attrs, err
	}
	n := copy(p, pkt)
	if n < len(pkt) {
		return n, attrs, io.ErrShortBuffer
	}

	return n, attrs, nil
}

// Close ends the queue: writes fail, reads drain what is queued and then return io.EOF.
func (q *ownedQueue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.closed = true
		close(q.notify)
	}

	return nil
}

// SetReadDeadline sets the deadline for reads, pending ones included; zero means none.
func (q *ownedQueue) SetReadDeadline(t time.Time) error {
	q.readDeadline.Set(t)

	return nil
}
