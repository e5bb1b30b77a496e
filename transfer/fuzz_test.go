package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// scriptConn is a connection whose peer is played from a script: ReadMsg returns the
// scripted messages in order, then io.EOF (the peer hung up). A message marked late is
// only delivered once the local side (a sender) has written E, as a real receiver's C
// would be; lateness is ignored up to the first A message, since a sender waits for
// that one. WriteMsg checks that what the local side writes is a valid message and
// otherwise discards it.
type scriptConn struct {
	t      *testing.T
	closed chan struct{}
	ended  chan struct{} // closed when the sender wrote E

	mu        sync.Mutex
	msgs      [][]byte
	late      []bool
	accepted  bool // an A message was delivered
	delivered []byte
	closeOnce sync.Once
	endOnce   sync.Once
}

func newScriptConn(t *testing.T) *scriptConn {
	return &scriptConn{t: t, closed: make(chan struct{}), ended: make(chan struct{})}
}

// add appends a message to the script.
func (c *scriptConn) add(late bool, msg []byte) {
	c.msgs = append(c.msgs, msg)
	c.late = append(c.late, late)
}

func (c *scriptConn) ReadMsg(buf []byte) (int, error) {
	c.mu.Lock()
	select {
	case <-c.closed:
		c.mu.Unlock()
		return 0, io.ErrClosedPipe
	default:
	}
	if len(c.msgs) == 0 {
		c.mu.Unlock()
		return 0, io.EOF
	}
	m, late := c.msgs[0], c.late[0] && c.accepted
	c.msgs, c.late = c.msgs[1:], c.late[1:]
	if len(m) > 0 && m[0] == typeAccept {
		c.accepted = true
	}
	c.mu.Unlock()
	if late {
		select {
		case <-c.ended:
		case <-c.closed:
			return 0, io.ErrClosedPipe
		}
	}
	if len(m) > len(buf) {
		return 0, io.ErrShortBuffer
	}
	c.mu.Lock()
	if len(m) > 0 {
		c.delivered = append(c.delivered, m[0])
	}
	c.mu.Unlock()
	return copy(buf, m), nil
}

func (c *scriptConn) WriteMsg(p []byte) error {
	select {
	case <-c.closed:
		return io.ErrClosedPipe
	default:
	}
	if len(p) > MaxMessageSize {
		c.t.Errorf("the sender wrote a message of %d bytes", len(p))
	}
	if _, err := decodeMessage(p); err != nil {
		c.t.Errorf("the sender wrote an invalid message %q: %v", p, err)
	}
	if len(p) > 0 && p[0] == typeEnd {
		c.endOnce.Do(func() { close(c.ended) })
	}
	return nil
}

func (c *scriptConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return nil
}

// FuzzSendAgainst runs Send against a hostile receiver: after the hello, the receiver's
// messages come from the fuzz input as [flags][length: 2 bytes][message]…, flags&1
// marking a message to deliver only after the sender's E. Send must return (an *Error
// or success, the latter only after an A and a C), never panic, never hang and never
// write an invalid message. The items are a directory d, a 3000-byte file d/a.bin
// (index 1), an empty file d/e (2), a text (3) and a stream (4).
func FuzzSendAgainst(f *testing.F) {
	content := randomBytes(3000, 1)
	hexsum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	enc := func(msgs ...string) []byte {
		var b []byte
		for _, m := range msgs {
			late := byte(0)
			if m[0] == typeComplete {
				late = 1
			}
			b = append(b, late, byte(len(m)>>8), byte(len(m)))
			b = append(b, m...)
		}
		return b
	}
	done := `C{"files":4,"bytes":3011}`
	f.Add(enc(`A{"resume":[]}`, done))
	f.Add(enc(`A{"resume":[{"i":1,"offset":1000,"sha256":"`+hexsum(content[:1000])+`"}]}`, done))
	f.Add(enc(`A{"resume":[{"i":1,"offset":3000,"sha256":"`+hexsum(content)+`"}]}`, done))
	f.Add(enc(`A{"resume":[{"i":1,"offset":1000,"sha256":"`+hexsum(nil)+`"}]}`, done))
	f.Add(enc(`A{"resume":[{"i":3,"offset":5,"sha256":"`+hexsum([]byte("hello"))+`"},{"i":4,"offset":1,"sha256":"`+hexsum(nil)+`"}]}`, done))
	f.Add(enc(`A{"resume":[{"i":0,"offset":1,"sha256":"`+hexsum(nil)+`"}]}`, done))
	f.Add(enc(`A{"resume":[{"i":1,"offset":3001,"sha256":"`+hexsum(nil)+`"}]}`, done))
	f.Add(append(enc(`A{}`), append([]byte{0, 0, byte(len(done))}, done...)...)) // C before E
	f.Add(enc(`X{"code":"disk-full","message":"disk full"}`))
	f.Add(enc(`A{"resume":[]}`, `X{"code":"verify","message":"bad"}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		src := t.TempDir()
		writeFile(t, filepath.Join(src, "d/a.bin"), content)
		writeFile(t, filepath.Join(src, "d/e"), nil)
		items := append(fileItems(t, filepath.Join(src, "d")), TextItem("hello"), StreamItem("s", bytes.NewReader([]byte("stream"))))

		c := newScriptConn(t)
		c.add(false, []byte(`H{"v":2,"role":"receive"}`))
		for len(in) >= 3 {
			n := min(int(in[1])<<8|int(in[2]), len(in)-3)
			c.add(in[0]&1 != 0, in[3:3+n])
			in = in[3+n:]
		}
		type result struct {
			res Result
			err error
		}
		rc := make(chan result, 1)
		go func() {
			res, err := Send(context.Background(), c, items, SendOptions{ChunkSize: 1000})
			rc <- result{res, err}
		}()
		var r result
		select {
		case r = <-rc:
		case <-time.After(10 * time.Second):
			c.Close()
			t.Fatal("Send did not return")
		}
		if r.err != nil {
			var e *Error
			if !errors.As(r.err, &e) {
				t.Fatalf("error %T: %v", r.err, r.err)
			}
			return
		}
		c.mu.Lock()
		delivered := string(c.delivered)
		c.mu.Unlock()
		if !bytes.Contains([]byte(delivered), []byte{typeAccept}) || delivered[len(delivered)-1] != typeComplete {
			t.Fatalf("Send succeeded after receiving %q", delivered)
		}
		if r.res.Files != 4 || r.res.Bytes != 3011 || r.res.Sent+r.res.Resumed != r.res.Bytes {
			t.Fatalf("result %+v", r.res)
		}
	})
}

// TestScriptConn checks that FuzzSendAgainst's harness can reach a successful Send.
func TestScriptConn(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "f"), []byte("abc"))
	c := newScriptConn(t)
	c.add(false, []byte(`H{"v":2,"role":"receive"}`))
	c.add(false, []byte(`A{"resume":[]}`))
	c.add(true, []byte(`C{"files":1,"bytes":3}`))
	res, err := Send(context.Background(), c, fileItems(t, filepath.Join(src, "f")), SendOptions{})
	if err != nil || res.Files != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	if fmt.Sprint(c.delivered) != fmt.Sprint([]byte("HAC")) {
		t.Errorf("delivered %q", c.delivered)
	}
}
