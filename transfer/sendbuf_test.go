package transfer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// keepingConn is a Conn that keeps what WriteMsgOwned hands it, the way an SCTP stream keeps
// its chunks until the peer acknowledged them: it releases each message only after `hold`
// later ones, and checks then that the sender left the message's bytes alone meanwhile.
type keepingConn struct {
	Conn
	hold int

	mu       sync.Mutex
	kept     []keptMsg
	owned    int            // messages sent through WriteMsgOwned
	sparse   int            // of them, messages that fill less than half their buffer
	buffers  map[*byte]bool // distinct buffers the sender used
	modified int            // messages whose bytes changed before their release
}

type keptMsg struct {
	p       []byte
	sum     [32]byte
	release func()
}

func (c *keepingConn) WriteMsgOwned(p []byte, release func()) error {
	if err := c.Conn.WriteMsg(p); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.owned++
	if 2*len(p) < cap(p) {
		c.sparse++
	}
	c.buffers[&p[0]] = true
	c.kept = append(c.kept, keptMsg{p, sha256.Sum256(p), release})
	for len(c.kept) > c.hold {
		c.releaseOldest()
	}
	return nil
}

func (c *keepingConn) releaseOldest() {
	m := c.kept[0]
	c.kept = c.kept[1:]
	if sha256.Sum256(m.p) != m.sum {
		c.modified++
	}
	m.release()
}

// Send hands file content to a Conn that can keep it, from a few buffers that it reuses
// only once the Conn released them: the file arrives intact, no kept message is touched
// before its release, and 128 messages take a handful of buffers.
func TestSendHandsOverOwnedBuffers(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	name := filepath.Join(src, "data.bin")
	data := randomBytes(8<<20, 44)
	writeFile(t, name, data)
	a, b := Pipe()
	kc := &keepingConn{Conn: a, hold: 4, buffers: map[*byte]bool{}}
	var sendErr, recvErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		_, sendErr = Send(context.Background(), kc, fileItems(t, name), SendOptions{})
	}()
	go func() {
		defer wg.Done()
		_, recvErr = Receive(context.Background(), b, ReceiveOptions{Dir: dst, Overwrite: true})
	}()
	wg.Wait()
	if sendErr != nil || recvErr != nil {
		t.Fatalf("send: %v, receive: %v", sendErr, recvErr)
	}
	got, err := os.ReadFile(filepath.Join(dst, "data.bin"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the received file differs (%v)", err)
	}
	kc.mu.Lock()
	defer kc.mu.Unlock()
	for len(kc.kept) > 0 {
		kc.releaseOldest()
	}
	chunks := len(data) / DefaultChunkSize
	t.Logf("%d owned messages from %d buffers", kc.owned, len(kc.buffers))
	if kc.owned != chunks {
		t.Errorf("%d of %d content messages went through WriteMsgOwned", kc.owned, chunks)
	}
	if kc.modified > 0 {
		t.Errorf("the sender modified %d messages before the conn released them", kc.modified)
	}
	if len(kc.buffers) > kc.hold+2 {
		t.Errorf("%d buffers for %d messages with %d held at a time: released buffers are not reused", len(kc.buffers), kc.owned, kc.hold)
	}
}

// smallReads returns at most n bytes per Read, like a pipe that trickles.
type smallReads struct {
	r io.Reader
	n int
}

func (s smallReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// A stream that yields little per read is not sent from owned buffers: the conn would keep a
// whole 64 KiB buffer for every few hundred bytes in flight. Every owned message fills at
// least half its buffer.
func TestSendOwnsOnlyFullBuffers(t *testing.T) {
	data := randomBytes(4<<20, 45)
	for _, per := range []int{1000, 40 << 10} {
		a, b := Pipe()
		kc := &keepingConn{Conn: a, hold: 4, buffers: map[*byte]bool{}}
		var out bytes.Buffer
		var sendErr, recvErr error
		var wg sync.WaitGroup
		wg.Add(2)
		items := []Item{StreamItem("data.bin", smallReads{bytes.NewReader(data), per})}
		go func() { defer wg.Done(); _, sendErr = Send(context.Background(), kc, items, SendOptions{}) }()
		go func() {
			defer wg.Done()
			_, recvErr = Receive(context.Background(), b, ReceiveOptions{Stdout: &out})
		}()
		wg.Wait()
		if sendErr != nil || recvErr != nil {
			t.Fatalf("%d per read: send: %v, receive: %v", per, sendErr, recvErr)
		}
		if !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("%d per read: the received stream differs", per)
		}
		t.Logf("%d bytes per read: %d owned messages, %d of them less than half full", per, kc.owned, kc.sparse)
		if kc.sparse > 0 {
			t.Errorf("%d bytes per read: %d owned messages fill less than half their buffer", per, kc.sparse)
		}
		if per > DefaultChunkSize/2 && kc.owned == 0 {
			t.Errorf("%d bytes per read: nothing went through WriteMsgOwned", per)
		}
	}
}
