package signal

import (
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/pion/sctp"
)

// hostilePair connects a (which believes its peer takes messages of any size, as a sender
// that edits its SDP does) to b, an ordinary peer.
func hostilePair(t *testing.T) (a, b *Conn) {
	t.Helper()
	a, b, _, _ = connectedPair(t, func(sdp string) string {
		edited := strings.Replace(sdp, "a=max-message-size:262144", "a=max-message-size:67108864", 1)
		if edited == sdp {
			t.Fatal("no max-message-size in the rebuilt SDP")
		}
		return edited
	})
	return a, b
}

// TestOversizedMessageSaysHowLarge: a message larger than the reader's buffer fails the read
// with its size; one larger than half the receive buffer, which could never be delivered
// (it would fill the receive window: the reader waited forever), fails as soon as that
// much of it arrived, with the association aborted, instead of wedging the connection.
func TestOversizedMessageSaysHowLarge(t *testing.T) {
	for _, c := range []struct {
		size     int
		complete bool
	}{{MaxMessageSize + 1, true}, {20 << 20, false}} {
		a, b := hostilePair(t)
		go func() {
			if err := a.WriteMsg(make([]byte, c.size)); err != nil {
				t.Errorf("write: %v", err)
			}
		}()
		start := time.Now()
		_, err := b.ReadMsg(make([]byte, MaxMessageSize))
		var big *sctp.MessageTooLargeError
		if !errors.As(err, &big) {
			t.Fatalf("%d bytes: read returned %v, want a MessageTooLargeError", c.size, err)
		}
		if big.Complete != c.complete || (c.complete && big.Size != c.size) || (!c.complete && big.Size < sctpReceiveBuffer*7/8) {
			t.Errorf("%d bytes: %+v", c.size, big)
		}
		if c.complete && !errors.Is(err, io.ErrShortBuffer) {
			t.Errorf("%v does not match io.ErrShortBuffer", err)
		}
		// Unpatched, the second read never returned; the bound is loose for -race and busy
		// machines (about 0.5 s here, 13 s under -race).
		if d := time.Since(start); d > time.Minute {
			t.Errorf("%d bytes: the read returned after %v", c.size, d)
		}
	}
}
