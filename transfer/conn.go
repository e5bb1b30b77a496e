package transfer

// MaxMessageSize is the largest message either side sends or accepts (what Chromium
// accepts on a DataChannel).
const MaxMessageSize = 262144

// Conn is a reliable, ordered, message-oriented channel (a WebRTC DataChannel in
// production).
//
// Send and Receive call ReadMsg from one goroutine and WriteMsg from another one at the
// same time, but never WriteMsg concurrently with itself, nor ReadMsg concurrently with
// itself. Close may be called at any time, also while ReadMsg or WriteMsg is blocked, and
// must make them return; it may be called more than once.
type Conn interface {
	// ReadMsg reads exactly one whole message into buf and returns its length. It
	// returns io.EOF when the peer closed the channel cleanly. A message larger than
	// buf is an error that says its size: one with a method MessageSize() int, or one
	// that matches io.ErrShortBuffer with n the message's size. A message too large to
	// be received at all (it would never fit the receive window) is reported as soon as
	// that is known, by an error whose MessageSize is what arrived of it so far and whose
	// method Incomplete() bool returns true.
	ReadMsg(buf []byte) (int, error)
	// WriteMsg sends one message. It blocks while the peer is not keeping up (flow
	// control). p may be reused after it returns.
	WriteMsg(p []byte) error
	// Close closes the channel.
	Close() error
}

// PacketGrower is an optional interface of a Conn whose packets may be made larger than
// what every peer reads (a WebRTC DataChannel between two p2pcopy CLIs on one LAN: SCTP
// packets of ~8 KB instead of ~1.2 KB, far fewer per byte). Send and Receive announce
// the ability in their hello when CanGrowPackets is true, and call GrowPackets once both
// hellos announced it, before anything else is sent; never towards a peer that did not
// (the page never does).
type PacketGrower interface {
	// CanGrowPackets reports whether GrowPackets would make this side's packets larger and
	// this side reads such packets from its peer.
	CanGrowPackets() bool
	// GrowPackets makes the packets this side sends from now on larger.
	GrowPackets()
}

// OwnedWriter is an optional interface of a Conn that can send a message without copying
// it (a WebRTC DataChannel in p2pcopy: SCTP keeps slices of the message until the peer
// acknowledged them, instead of a copy). Send uses it for the content of files.
type OwnedWriter interface {
	// WriteMsgOwned sends the non-empty message p like WriteMsg, but keeps p: the caller
	// must not modify p until release is called. release is called once, when p is no
	// longer needed, maybe before WriteMsgOwned returns and from another goroutine; it must
	// not block. It is not called when WriteMsgOwned returns an error (p is the caller's
	// again), nor for a message the connection drops because it closed.
	WriteMsgOwned(p []byte, release func()) error
}
