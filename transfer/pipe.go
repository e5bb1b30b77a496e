package transfer

import (
	"fmt"
	"io"
	"sync"
)

const (
	// pipeCapacity bounds the bytes in flight in each direction of a Pipe.
	pipeCapacity = 4 << 20
	// pipeMsgOverhead is what each queued message costs on top of its bytes, so that
	// a flood of empty messages is bounded too.
	pipeMsgOverhead = 64
)

// Pipe returns two connected in-memory Conns. Each direction buffers up to 4 MiB; a
// writer blocks while the buffer is full, which exercises flow control.
//
// Close on one end makes the other end's ReadMsg return io.EOF once the messages
// already written have been read, and its WriteMsg return an error. ReadMsg and WriteMsg
// on the closed end itself return io.ErrClosedPipe.
func Pipe() (Conn, Conn) {
	ab, ba := newPipeQueue(), newPipeQueue()
	return &pipeEnd{in: ba, out: ab}, &pipeEnd{in: ab, out: ba}
}

type pipeEnd struct {
	in, out *pipeQueue
}

func (p *pipeEnd) ReadMsg(buf []byte) (int, error) { return p.in.read(buf) }
func (p *pipeEnd) WriteMsg(b []byte) error         { return p.out.write(b) }

func (p *pipeEnd) Close() error {
	p.out.closeWriter()
	p.in.closeReader()
	return nil
}

// pipeQueue is one direction of a Pipe: a ring buffer of bytes plus the lengths of the
// messages stored in it.
type pipeQueue struct {
	mu      sync.Mutex
	changed *sync.Cond

	ring       []byte
	head, used int   // ring[head:] holds the oldest message; used bytes in ring
	lens       []int // message lengths, oldest first, from lens[lhead:]
	lhead      int
	cost       int // used + pipeMsgOverhead per queued message
	capacity   int

	writerClosed bool // no more messages will come: read returns io.EOF once drained
	readerClosed bool // nobody reads any more: write fails, queued messages are dropped
}

func newPipeQueue() *pipeQueue {
	q := &pipeQueue{ring: make([]byte, pipeCapacity), capacity: pipeCapacity}
	q.changed = sync.NewCond(&q.mu)
	return q
}

func (q *pipeQueue) write(p []byte) error {
	if len(p) > q.capacity {
		return fmt.Errorf("transfer.Pipe: message of %d bytes is over the %d-byte capacity", len(p), q.capacity)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.writerClosed || q.readerClosed {
			return io.ErrClosedPipe
		}
		if q.cost+len(p)+pipeMsgOverhead <= q.capacity || q.cost == 0 {
			break
		}
		q.changed.Wait()
	}
	// Copy p after the last stored byte, wrapping around the end of the ring.
	tail := (q.head + q.used) % len(q.ring)
	n := copy(q.ring[tail:], p)
	copy(q.ring, p[n:])
	q.used += len(p)
	q.cost += len(p) + pipeMsgOverhead
	q.lens = append(q.lens, len(p))
	q.changed.Broadcast()
	return nil
}

func (q *pipeQueue) read(buf []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for {
		if q.readerClosed {
			return 0, io.ErrClosedPipe
		}
		if q.lhead < len(q.lens) {
			break
		}
		if q.writerClosed {
			return 0, io.EOF
		}
		q.changed.Wait()
	}
	size := q.lens[q.lhead]
	q.lhead++
	if q.lhead == len(q.lens) {
		q.lens, q.lhead = q.lens[:0], 0
	}
	var err error
	n := size
	if size > len(buf) {
		err = io.ErrShortBuffer // n is the message's size, as Conn asks
	} else {
		c := copy(buf[:size], q.ring[q.head:])
		copy(buf[c:size], q.ring)
	}
	q.head = (q.head + size) % len(q.ring)
	q.used -= size
	q.cost -= size + pipeMsgOverhead
	q.changed.Broadcast()
	return n, err
}

func (q *pipeQueue) closeWriter() {
	q.mu.Lock()
	q.writerClosed = true
	q.changed.Broadcast()
	q.mu.Unlock()
}

func (q *pipeQueue) closeReader() {
	q.mu.Lock()
	q.readerClosed = true
	q.changed.Broadcast()
	q.mu.Unlock()
}
