package signal

import (
	"errors"
	"io"
	"testing"

	"github.com/pion/datachannel"
)

// fakeStream stands in for the detached DataChannel.
type fakeStream struct{ datachannel.ReadWriteCloser }

func (fakeStream) Close() error { return nil }

// TestLoseAfterClose: once we closed the connection, a later "lost" report (the peer connection
// failing as a consequence) is not why it ended, and recording it does not race with readers.
func TestLoseAfterClose(t *testing.T) {
	c := &Conn{raw: fakeStream{}, closed: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 1000 {
			_ = c.reason(io.EOF)
		}
	}()
	c.shutdown()
	c.lose(errors.New("no packets from your peer for 30s"))
	<-done
	if err := c.reason(io.EOF); err != io.EOF {
		t.Errorf("after our own Close: %v, want io.EOF", err)
	}

	c = &Conn{raw: fakeStream{}, closed: make(chan struct{})}
	why := errors.New("no packets from your peer for 30s")
	c.lose(why)
	c.lose(errors.New("the connection was closed"))
	c.shutdown()
	if err := c.reason(io.EOF); err != why {
		t.Errorf("lost, then closed: %v, want the first reason", err)
	}
}
