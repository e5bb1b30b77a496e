package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// rawPeer plays a hand-written sender against the real receiver.
type rawPeer struct {
	t   *testing.T
	c   Conn
	buf []byte
	x   *errorMsg // the last X message the receiver sent
}

// send writes a message: typ followed by body, which is raw bytes, a string, or a value
// encoded as JSON. Errors are ignored: the receiver may have hung up.
func (p *rawPeer) send(typ byte, body any) {
	var b []byte
	switch v := body.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			p.t.Fatal(err)
		}
	}
	p.c.WriteMsg(append([]byte{typ}, b...))
}

// recv reads the next message, recording X; it returns 0 when the connection ended.
func (p *rawPeer) recv() (byte, []byte) {
	n, err := p.c.ReadMsg(p.buf)
	if err != nil || n == 0 {
		return 0, nil
	}
	if p.buf[0] == 'X' {
		var x errorMsg
		json.Unmarshal(p.buf[1:n], &x)
		p.x = &x
	}
	return p.buf[0], p.buf[1:n]
}

func (p *rawPeer) hello() {
	p.send('H', `{"v":1,"role":"send","app":"evil/1"}`)
	if typ, _ := p.recv(); typ != 'H' {
		p.t.Fatalf("no hello from the receiver")
	}
}

func (p *rawPeer) manifest(entries ...wireEntry) {
	p.send('M', manifestMsg{Entries: entries})
}

// accept waits for A (or X).
func (p *rawPeer) accept() acceptMsg {
	typ, body := p.recv()
	var a acceptMsg
	if typ == 'A' {
		json.Unmarshal(body, &a)
	}
	return a
}

func file(path string, size int64) wireEntry {
	return wireEntry{Path: path, Kind: KindFile, Size: size, Mode: 0o644, MTime: 1_600_000_000}
}

func sum(data string) string {
	s := sha256.Sum256([]byte(data))
	return hex.EncodeToString(s[:])
}

// hostile runs script against a receiver writing into parent/dst, where parent also
// holds outside/keep.txt. It returns the receiver's error and the X it sent, and checks
// that nothing was written outside dst.
func hostile(t *testing.T, opts ReceiveOptions, script func(p *rawPeer)) (*errorMsg, string, error) {
	t.Helper()
	parent := t.TempDir()
	dst := filepath.Join(parent, "dst")
	os.MkdirAll(dst, 0o755)
	writeFile(t, filepath.Join(parent, "outside/keep.txt"), []byte("keep"))
	opts.Dir = dst

	a, b := Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := Receive(context.Background(), b, opts)
		errc <- err
	}()
	p := &rawPeer{t: t, c: a, buf: make([]byte, MaxMessageSize)}
	script(p)
	// Drain until the receiver hangs up, keeping its last X.
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		for {
			if typ, _ := p.recv(); typ == 0 {
				return
			}
		}
	}()
	var err error
	select {
	case err = <-errc:
	case <-time.After(30 * time.Second):
		t.Fatal("the receiver did not return")
	}
	<-drained // the receiver closed its end: EOF after its last message
	a.Close()

	var outside []string
	for _, e := range tree(t, parent) {
		if !strings.HasPrefix(e, "dst/") {
			outside = append(outside, e)
		}
	}
	if !slices.Equal(outside, []string{"outside/", "outside/keep.txt=keep"}) {
		t.Errorf("something was written outside the output directory: %q", outside)
	}
	return p.x, dst, err
}

func TestHostileSender(t *testing.T) {
	cases := []struct {
		name   string
		script func(p *rawPeer)
		code   string
		msg    string
		left   []string // what must be in dst afterwards
	}{
		{
			name: "path traversal",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("ok.txt", 1), file("../outside/keep.txt", 4))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: unsafe path "../outside/keep.txt": it contains a ".." component`,
		},
		{
			name: "absolute path",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("/tmp/evil", 1))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: unsafe path "/tmp/evil": it is absolute`,
		},
		{
			name: "traversal in the middle",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(wireEntry{Path: "a", Kind: KindDir}, file("a/../../x", 1))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: unsafe path "a/../../x": it contains a ".." component`,
		},
		{
			name: "terminal escape in a name",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a\x1b]0;pwned\x07", 1))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: unsafe path "a\x1b]0;pwned\a": it contains a control character`,
		},
		{
			name: "partial file name",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a.p2pcopy-part", 1))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: the name "a.p2pcopy-part" ends in .p2pcopy-part, which is reserved for partial files`,
		},
		{
			name: "duplicate path",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 1), file("a", 1))
			},
			code: CodeProtocol,
			msg:  `the peer's list of files contains "a" twice`,
		},
		{
			name: "file inside a file",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 1), file("a/b", 1))
			},
			code: CodeProtocol,
			msg:  `the peer's list of files has "a/b" inside "a", which is not a directory`,
		},
		{
			name: "data beyond the announced size",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a.txt", 5))
				p.accept()
				p.send('S', startMsg{I: 0})
				p.send('D', "hello")
				p.send('D', " world")
				p.send('F', fileEndMsg{I: 0, SHA256: sum("hello world")})
			},
			code: CodeProtocol,
			msg:  "the peer sent more data for a.txt than the 5 bytes it announced",
		},
		{
			name: "out-of-order start",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(wireEntry{Path: "d", Kind: KindDir}, file("d/a", 1), file("d/b", 1))
				p.accept()
				p.send('S', startMsg{I: 2})
			},
			code: CodeProtocol,
			msg:  "the peer started entry 2 where entry 1 (d/a) was expected",
			left: []string{"d/"},
		},
		{
			name: "start of a directory",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(wireEntry{Path: "d", Kind: KindDir}, file("d/a", 1))
				p.accept()
				p.send('S', startMsg{I: 0})
			},
			code: CodeProtocol,
			msg:  "the peer started entry 0 where entry 1 (d/a) was expected",
			left: []string{"d/"},
		},
		{
			name: "start while a file is open",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 1), file("b", 1))
				p.accept()
				p.send('S', startMsg{I: 0})
				p.send('S', startMsg{I: 1})
			},
			code: CodeProtocol,
			msg:  "the peer started entry 1 before finishing a",
		},
		{
			name: "data outside a file",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 1))
				p.accept()
				p.send('D', "x")
			},
			code: CodeProtocol,
			msg:  "the peer sent data outside a file",
		},
		{
			name: "data before accept",
			script: func(p *rawPeer) {
				p.hello()
				p.send('D', "x")
			},
			code: CodeProtocol,
			msg:  "the peer sent a data (D) message where a manifest (M) message was expected",
		},
		{
			name: "unknown message type",
			script: func(p *rawPeer) {
				p.hello()
				p.send('Z', "{}")
			},
			code: CodeProtocol,
			msg:  "the peer sent a message of unknown type 'Z'",
		},
		{
			name: "malformed JSON",
			script: func(p *rawPeer) {
				p.hello()
				p.send('M', `{"entries":[`)
			},
			code: CodeProtocol,
			msg:  "the peer sent a malformed manifest (M) message: unexpected end of JSON input",
		},
		{
			name: "unknown kind",
			script: func(p *rawPeer) {
				p.hello()
				p.send('M', `{"entries":[{"path":"a","kind":"socket","size":0}]}`)
			},
			code: CodeProtocol,
			msg:  `the peer sent an invalid manifest (M) message: entry "a" has an unknown kind "socket"`,
		},
		{
			name: "wrong protocol version",
			script: func(p *rawPeer) {
				p.send('H', `{"v":2,"role":"send"}`)
			},
			code: CodeProtocol,
			msg:  "your peer speaks version 2 of the p2pcopy protocol and this program speaks version 1; use the same p2pcopy version on both sides",
		},
		{
			name: "hash mismatch",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("photos/a.jpg", 5))
				p.accept()
				p.send('S', startMsg{I: 0})
				p.send('D', "hello")
				p.send('F', fileEndMsg{I: 0, SHA256: sum("HELLO")})
			},
			code: CodeVerify,
			msg:  "photos/a.jpg failed verification (sha256 mismatch); nothing was saved under that name; run the transfer again",
			left: []string{"photos/"},
		},
		{
			name: "file ends early",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 10))
				p.accept()
				p.send('S', startMsg{I: 0})
				p.send('D', "hello")
				p.send('F', fileEndMsg{I: 0, SHA256: sum("hello")})
			},
			code: CodeProtocol,
			msg:  "the peer ended a after 5 of the 10 bytes it announced",
		},
		{
			name: "end before all files",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 0), file("b", 0))
				p.accept()
				p.send('S', startMsg{I: 0})
				p.send('F', fileEndMsg{I: 0, SHA256: sum("")})
				p.send('E', "{}")
			},
			code: CodeProtocol,
			msg:  "the peer ended the transfer after 1 of 2 files",
			left: []string{"a="},
		},
		{
			name: "resume that was not offered",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 10))
				p.accept()
				p.send('S', startMsg{I: 0, Offset: 5})
			},
			code: CodeProtocol,
			msg:  "the peer wants to resume a at byte 5, but 0 bytes were offered",
		},
		{
			name: "peer closes mid-file",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a.txt", 10))
				p.accept()
				p.send('S', startMsg{I: 0})
				p.send('D', "hel")
				p.c.Close()
			},
			code: CodeIO,
			msg:  "connection to peer lost while receiving a.txt, 3 bytes of 10 bytes received (the peer closed the connection); the partial file is kept as a.txt.p2pcopy-part: run both commands again to resume",
			left: []string{"a.txt.p2pcopy-part=hel"},
		},
		{
			name: "peer closes before the manifest ends",
			script: func(p *rawPeer) {
				p.hello()
				p.send('M', manifestMsg{Entries: []wireEntry{file("a", 1)}, More: true})
				p.c.Close()
			},
			code: CodeIO,
			msg:  "connection to peer lost while receiving the list of files (the peer closed the connection)",
		},
		{
			name: "too many entries",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 1), file("b", 1), file("c", 1), file("d", 1))
			},
			code: CodeLimit,
			msg:  "refusing the transfer: it has more than 3 entries, this receiver's limit",
		},
		{
			name: "peer reports an error",
			script: func(p *rawPeer) {
				p.hello()
				p.send('X', `{"code":"changed","message":"a changed\u001b[2J while it was being sent"}`)
			},
			code: CodeChanged,
			msg:  "a changed[2J while it was being sent",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x, dst, err := hostile(t, ReceiveOptions{Limits: Limits{MaxEntries: 3}}, c.script)
			remote := c.name == "peer reports an error"
			wantError(t, "recv", err, c.code, remote, c.msg)
			if !remote && c.code != CodeIO {
				if x == nil || x.Code != c.code || x.Message != c.msg {
					t.Errorf("the receiver sent X %+v", x)
				}
			}
			left := tree(t, dst)
			if fmt.Sprint(left) != fmt.Sprint(c.left) && !(len(left) == 0 && len(c.left) == 0) {
				t.Errorf("left in the output directory: %q, want %q", left, c.left)
			}
		})
	}
}

// TestHostileSenderDeepPaths makes sure a manifest of many deep paths is checked in
// linear time.
func TestHostileSenderDeepPaths(t *testing.T) {
	deep := strings.Repeat("a/", 2000)
	start := time.Now()
	_, _, err := hostile(t, ReceiveOptions{Confirm: func(context.Context, []Entry) error { return fmt.Errorf("no") }},
		func(p *rawPeer) {
			p.hello()
			var entries []wireEntry
			for i := range 2000 {
				entries = append(entries, file(fmt.Sprintf("%s%d", deep, i), 0))
			}
			for len(entries) > 0 {
				n := min(len(entries), 50)
				p.send('M', manifestMsg{Entries: entries[:n], More: n < len(entries)})
				entries = entries[n:]
			}
		})
	wantError(t, "recv", err, CodeRejected, false, "the receiver declined the transfer: no")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("checking took %v", d)
	}
}

// FuzzReceive feeds the receiver (writing into a directory, or to Stdout) a hello
// followed by arbitrary messages (each prefixed with a 2-byte length in the fuzz input)
// and checks that it returns an *Error or succeeds, never panics, and writes nothing
// outside its directory.
func FuzzReceive(f *testing.F) {
	enc := func(msgs ...string) []byte {
		var b []byte
		for _, m := range msgs {
			b = append(b, byte(len(m)>>8), byte(len(m)))
			b = append(b, m...)
		}
		return b
	}
	f.Add(false, enc(`M{"entries":[{"path":"d","kind":"dir"},{"path":"d/a","kind":"file","size":5,"mode":420,"mtime":1}],"more":false}`,
		`S{"i":1,"offset":0}`, "Dhello", `F{"i":1,"sha256":"`+sum("hello")+`"}`, "E{}"))
	f.Add(true, enc(`M{"entries":[{"path":"s","kind":"stream","size":-1}],"more":false}`, `S{"i":0,"offset":0}`, "Dabc", "Ddef",
		`F{"i":0,"sha256":"`+sum("abcdef")+`"}`, "E{}"))
	f.Add(false, enc(`M{"entries":[{"path":"../x","kind":"file","size":1}]}`))
	f.Add(false, enc(`M{"entries":[{"path":"a","kind":"file","size":1}]}`, `S{"i":0,"offset":0}`, "Dxy"))
	f.Fuzz(func(t *testing.T, stdout bool, in []byte) {
		parent := t.TempDir()
		dst := filepath.Join(parent, "dst")
		os.Mkdir(dst, 0o755)
		opts := ReceiveOptions{Dir: dst, Limits: Limits{MaxEntries: 100}}
		if stdout {
			opts.Stdout = io.Discard
		}
		a, b := Pipe()
		errc := make(chan error, 1)
		go func() {
			_, err := Receive(context.Background(), b, opts)
			errc <- err
		}()
		a.WriteMsg([]byte(`H{"v":1,"role":"send"}`))
		for len(in) >= 2 {
			n := min(int(in[0])<<8|int(in[1]), len(in)-2)
			a.WriteMsg(in[2 : 2+n])
			in = in[2+n:]
		}
		a.Close()
		if err := <-errc; err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T: %v", err, err)
			}
		}
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 || entries[0].Name() != "dst" {
			t.Fatalf("written outside the directory: %v", entries)
		}
	})
}

// hostileReceiver runs Send of a 10 MB file named a.bin against a hand-written receiver.
func hostileReceiver(t *testing.T, script func(p *rawPeer)) error {
	t.Helper()
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.bin"), randomBytes(10_000_000, 9))
	a, b := Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := Send(context.Background(), a, fileItems(t, filepath.Join(src, "a.bin")), SendOptions{})
		errc <- err
	}()
	p := &rawPeer{t: t, c: b, buf: make([]byte, MaxMessageSize)}
	p.send('H', `{"v":1,"role":"receive"}`)
	for typ := byte(0); typ != 'M'; {
		typ, _ = p.recv()
	}
	script(p)
	select {
	case err := <-errc:
		b.Close()
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Send did not return")
	}
	return nil
}

func TestHostileReceiver(t *testing.T) {
	err := hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"resume":[{"i":0,"offset":10000001,"sha256":"`+sum("")+`"}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer asked to resume a.bin at byte 10000001, but it has only 10000000 bytes")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"resume":[{"i":7,"offset":1,"sha256":"`+sum("")+`"}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer asked to resume entry 7, but the transfer has 1 entries")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"resume":[]}`)
		p.recv() // S
		p.recv() // D
		p.c.Close()
	})
	wantError(t, "send", err, CodeIO, false, "")
	if msg := err.(*Error).Message; !strings.HasPrefix(msg, "connection to peer lost while sending a.bin, ") {
		t.Errorf("message %q", msg)
	}

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"resume":[]}`)
		p.send('C', `{"files":1,"bytes":10000000}`)
		for typ := byte(1); typ != 0; {
			typ, _ = p.recv()
		}
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer sent a complete (C) message while a.bin was being sent")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{}`)
		for typ := byte(0); typ != 'E'; {
			typ, _ = p.recv()
		}
		p.c.Close() // no C
	})
	wantError(t, "send", err, CodeIO, false, "connection to peer lost before the receiver confirmed that everything arrived "+
		"(the peer closed the connection); the files may have arrived: check on the receiving side")
}
