package sctp

import (
	"errors"
	"io"
	"testing"
)

// p2pcopy patch: an incomplete message that reaches maxMessage fails the push with its size
// so far (ordered DATA and ordered/unordered I-DATA), and a complete one is still delivered.
func TestReassemblyQueueMessageTooLarge(t *testing.T) {
	frag := func(tsn uint32, fsn uint32, begin, end, idata bool, n int) *chunkPayloadData {
		c := &chunkPayloadData{
			tsn: tsn, streamIdentifier: 1, streamSequenceNumber: 0, messageIdentifier: 0,
			fragmentSequenceNumber: fsn, beginningFragment: begin, endingFragment: end,
			payloadType: PayloadTypeWebRTCBinary, userData: make([]byte, n),
		}
		if idata {
			c.iData = true
		}
		return c
	}
	for _, idata := range []bool{false, true} {
		q := newReassemblyQueue(1, 0)
		q.maxMessage = 100
		if _, err := q.pushWithError(frag(1, 0, true, false, idata, 60)); err != nil {
			t.Fatalf("idata %v: first fragment: %v", idata, err)
		}
		_, err := q.pushWithError(frag(2, 1, false, false, idata, 60))
		var big *MessageTooLargeError
		if !errors.As(err, &big) || big.Size != 120 || !big.Incomplete() || errors.Is(err, io.ErrShortBuffer) {
			t.Errorf("idata %v: second fragment: %v, want an incomplete MessageTooLargeError of 120 bytes", idata, err)
		}

		q = newReassemblyQueue(1, 0)
		q.maxMessage = 100
		q.pushWithError(frag(1, 0, true, false, idata, 50))
		if complete, err := q.pushWithError(frag(2, 1, false, true, idata, 50)); !complete || err != nil {
			t.Errorf("idata %v: a 100-byte message: complete %v, %v", idata, complete, err)
		}
		buf := make([]byte, 10)
		if _, _, err := q.read(buf); !errors.Is(err, io.ErrShortBuffer) {
			t.Errorf("idata %v: read into 10 bytes: %v", idata, err)
		}
	}
}
