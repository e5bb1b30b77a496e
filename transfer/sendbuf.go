package transfer

import "sync"

// maxFreeSendBytes bounds the buffers sendBuffers keeps for reuse: more than an OwnedWriter
// holds at once in practice (signal's flow control keeps at most 8 MiB buffered), so that
// steady sending allocates nothing, and little enough to not matter next to it.
const maxFreeSendBytes = 16 << 20

// sendBuffers hands out D message buffers (buf[0] is 'D') for an OwnedWriter, which keeps
// each until the peer has it, and takes them back when the writer releases them. Every
// buffer has its release function made once, so sending allocates nothing per message.
type sendBuffers struct {
	size int // 1 + the chunk size

	mu   sync.Mutex
	free []*sendBuffer
}

type sendBuffer struct {
	b       []byte
	release func() // returns the buffer to its pool; called by the OwnedWriter
}

func newSendBuffers(size int) *sendBuffers { return &sendBuffers{size: size} }

// get returns a buffer that nobody else holds.
func (p *sendBuffers) get() *sendBuffer {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		sb := p.free[n-1]
		p.free[n-1] = nil
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return sb
	}
	p.mu.Unlock()
	sb := &sendBuffer{b: make([]byte, p.size)}
	sb.b[0] = typeData
	sb.release = func() { p.put(sb) }
	return sb
}

// put takes a buffer back; it never blocks for long (the writer calls it from its own
// goroutine).
func (p *sendBuffers) put(sb *sendBuffer) {
	p.mu.Lock()
	if (len(p.free)+1)*p.size <= maxFreeSendBytes {
		p.free = append(p.free, sb)
	}
	p.mu.Unlock()
}
