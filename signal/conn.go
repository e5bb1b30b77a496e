package signal

import (
	"errors"
	"sync"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/sctp"
	"github.com/pion/webrtc/v4"
)

// closeGrace is how long a read pending when the connection is closed may wait for the peer to
// close its side too (so that what was written before Close is delivered first).
const closeGrace = 5 * time.Second

// ErrClosed is returned by WriteMsg once the connection is gone.
var ErrClosed = errors.New("connection closed")

// Conn is an open DataChannel used as a reliable, ordered message channel with flow control. It
// satisfies transfer.Conn.
type Conn struct {
	raw       datachannel.ReadWriteCloser
	dc        *webrtc.DataChannel
	low       chan struct{} // a token arrives when the buffered amount fell below lowWater
	closed    chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	lost     error // why the connection died; only recorded while still open
	isClosed bool  // shutdown began: a later lose is not why it ended

	// Info says how the connection was made.
	Info ConnInfo
}

// ReadMsg reads one whole message into buf.
func (c *Conn) ReadMsg(buf []byte) (int, error) {
	n, err := c.raw.Read(buf)
	if err != nil {
		err = c.reason(err)
	}
	return n, err
}

// lose records why the connection died; the first reason wins, and none once the connection
// was closed (by us, or because of an earlier reason).
func (c *Conn) lose(why error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lost == nil && !c.isClosed {
		c.lost = why
	}
}

// reason replaces a low-level error with the recorded cause, if the connection died. An
// oversized message stays what it is: the association is aborted because of it.
func (c *Conn) reason(err error) error {
	var big *sctp.MessageTooLargeError
	if errors.As(err, &big) {
		return err
	}
	c.mu.Lock()
	lost, closed := c.lost, c.isClosed
	c.mu.Unlock()
	if closed && lost != nil {
		return lost
	}
	return err
}

// WriteMsg sends one message, first waiting while more than highWater bytes are buffered, so a
// receiver that stops reading slows the sender instead of filling its memory.
func (c *Conn) WriteMsg(p []byte) error {
	if err := c.waitWritable(); err != nil {
		return err
	}
	if _, err := c.raw.Write(p); err != nil {
		return c.reason(err)
	}
	return nil
}

// WriteMsgOwned sends one non-empty message like WriteMsg, but hands p over instead of
// copying it: SCTP cuts its chunks from p and keeps them until the peer acknowledged them
// (sctp's Stream.WriteSCTPOwned; WriteMsg's DataChannel write copies every message once more).
// The caller must not modify p until release is called. release is called once, when the peer
// has the whole message, from pion's goroutine that reads the peer's acknowledgements, maybe
// before WriteMsgOwned returns; it must return at once and must not call into the connection.
// It is not called if WriteMsgOwned fails (p is the caller's again then), nor if the
// connection closes first (p is then left to the garbage collector). It is part of transfer's
// optional OwnedWriter interface.
func (c *Conn) WriteMsgOwned(p []byte, release func()) error {
	st := c.sctpStream()
	if st == nil || len(p) == 0 { // not pion's DataChannel; an empty message has its own PPI
		if err := c.WriteMsg(p); err != nil {
			return err
		}
		release()
		return nil
	}
	if err := c.waitWritable(); err != nil {
		return err
	}
	// What DataChannel.Write does for a binary message, without its copy; it also counts the
	// channel's messages and bytes sent, which p2pcopy does not read.
	if _, err := st.WriteSCTPOwned(p, sctp.PayloadTypeWebRTCBinary, release); err != nil {
		return c.reason(err)
	}
	return nil
}

// waitWritable waits while more than highWater bytes are buffered.
func (c *Conn) waitWritable() error {
	for c.dc.BufferedAmount() > highWater {
		select {
		case <-c.low:
		case <-c.closed:
			return c.reason(ErrClosed)
		}
	}
	select {
	case <-c.closed:
		return c.reason(ErrClosed)
	default:
	}
	return nil
}

// Close closes the channel; pending reads and writes return.
func (c *Conn) Close() error {
	c.shutdown()
	return nil
}

func (c *Conn) shutdown() {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.isClosed = true
		c.mu.Unlock()
		close(c.closed)
		_ = c.raw.Close()
		// Closing a stream only resets our sending half; a read blocked on it returns when the
		// peer resets its half too, after everything we queued before the reset (a last X
		// message) reached it. A peer that went silent never does: the deadline bounds the wait.
		if d, ok := c.raw.(datachannel.ReadDeadliner); ok {
			_ = d.SetReadDeadline(time.Now().Add(closeGrace))
		}
	})
}
