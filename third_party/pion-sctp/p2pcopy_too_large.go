package sctp

import (
	"fmt"
	"io"
)

// MessageTooLargeError is returned by Stream.ReadSCTP for an incoming message larger than
// the buffer given to it (Complete: Size is the message's size; it matches
// io.ErrShortBuffer, as before this patch), or for a message that fills the association's
// whole receive buffer and is still incomplete (Size is what arrived of it so far). Such a
// message closed the receive window and could never be delivered: the association is
// aborted with a protocol violation instead of waiting forever.
// (p2pcopy patch, see P2PCOPY-PATCH.md.)
type MessageTooLargeError struct {
	Size     int
	Complete bool
}

func (e *MessageTooLargeError) Error() string {
	if e.Complete {
		return fmt.Sprintf("message of %d bytes is larger than the read buffer: %v", e.Size, io.ErrShortBuffer)
	}
	return fmt.Sprintf("incoming message larger than %d bytes can never fit the receive window", e.Size)
}

// Unwrap makes a complete message's error match io.ErrShortBuffer.
func (e *MessageTooLargeError) Unwrap() error {
	if e.Complete {
		return io.ErrShortBuffer
	}
	return nil
}

// MessageSize is the message's size, or what arrived of it so far.
func (e *MessageTooLargeError) MessageSize() int { return e.Size }

// Incomplete reports whether MessageSize is only what arrived so far.
func (e *MessageTooLargeError) Incomplete() bool { return !e.Complete }

// maxIncomingMessage bounds an incomplete incoming message: once it fills the whole receive
// buffer the window is zero, and it could never complete. The bound is 7/8 of the buffer, not
// all of it: near the end of the window the sender's next chunk no longer fits, so the last
// bytes arrive only as zero-window probes, one per retransmission timeout, and on a loaded
// host the abort came a minute late (once 12 minutes). No message a peer may send comes near
// it: the largest the SDP allows is far below any receive buffer a p2pcopy peer uses.
func (a *Association) maxIncomingMessage() uint64 {
	return uint64(a.maxReceiveBufferSize) - uint64(a.maxReceiveBufferSize)/8
}
