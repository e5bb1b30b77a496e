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
	if _, err := c.raw.Write(p); err != nil {
		return c.reason(err)
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
