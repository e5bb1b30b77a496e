package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
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
	p.send('H', `{"v":2,"role":"send","app":"evil/1"}`)
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

// sendFile plays a well-behaved sender of entry i with content data to the end: S, D, F, E,
// then it waits for C and closes, as a real sender does.
func (p *rawPeer) sendFile(i int, data string) {
	p.send('S', startMsg{I: i})
	p.send('D', data)
	p.send('F', fileEndMsg{I: i, SHA256: sum(data)})
	p.send('E', "{}")
	p.recv() // C
	p.c.Close()
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
	return hostileIn(t, opts, nil, script)
}

// hostileIn is hostile with setup, if not nil, preparing the output directory dst
// first (parent/outside/keep.txt exists then).
func hostileIn(t *testing.T, opts ReceiveOptions, setup func(dst string), script func(p *rawPeer)) (*errorMsg, string, error) {
	t.Helper()
	parent := t.TempDir()
	dst := filepath.Join(parent, "dst")
	os.MkdirAll(dst, 0o755)
	writeFile(t, filepath.Join(parent, "outside/keep.txt"), []byte("keep"))
	opts.Dir = dst
	if setup != nil {
		setup(dst)
	}

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
			typ, _ := p.recv()
			if typ == 0 {
				return
			}
			if typ == 'X' {
				a.Close() // as a real sender does once it has read why
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
	// An existing file that the receiver offers as complete (same size as the entry).
	existing := func(t *testing.T, dst string) { writeFile(t, filepath.Join(dst, "keep.txt"), []byte("same")) }
	offersExisting := func(p *rawPeer) {
		p.hello()
		p.manifest(file("keep.txt", 4))
		a := p.accept()
		if want := []held{{I: 0, Offset: 4}}; !slices.Equal(a.Have, want) {
			p.t.Errorf("A.have = %+v, want %+v", a.Have, want)
		}
	}
	// provesExisting proves the existing file's content, as a sender that knows it can.
	provesExisting := func(p *rawPeer) {
		offersExisting(p)
		p.send('P', proofMsg{Proofs: []proof{{I: 0, Offset: 4, SHA256: sum("same")}}})
		if typ, body := p.recv(); typ != 'R' || string(body) != `{"resume":[{"i":0,"offset":4}]}` {
			p.t.Errorf("got %c %s, want R agreeing to resume at 4", typ, body)
		}
	}
	long := strings.Repeat("a", 10_000)
	cases := []struct {
		name   string
		limits Limits                         // default: MaxEntries 3
		setup  func(t *testing.T, dst string) // prepares the output directory
		script func(p *rawPeer)               //
		code   string                         //
		msg    string                         // "DST" stands for the output directory
		peer   string                         // the X message the peer gets, if not msg
		left   []string                       // what must be in dst afterwards
		fix    Fix                            // what the user can do about it
	}{
		{
			name: "drive letter",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("C:/Windows/evil.dll", 1))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: unsafe path "C:/Windows/evil.dll": it contains a drive letter`,
		},
		{
			name: "drive letter inside",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(wireEntry{Path: "d", Kind: KindDir}, file("d/c:evil", 1))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: unsafe path "d/c:evil": it contains a drive letter`,
		},
		{
			name: "NUL in a name",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a\x00/../../outside/keep.txt", 1))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: unsafe path "a\x00/../../outside/keep.txt": it contains a NUL character`,
		},
		{
			name: "backslash traversal",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file(`..\outside\keep.txt`, 1))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: unsafe path "..\\outside\\keep.txt": it contains a backslash`,
		},
		{
			name: "reserved name",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(wireEntry{Path: "d", Kind: KindDir}, file("d/CON.txt", 1))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: unsafe path "d/CON.txt": it contains a name reserved on Windows`,
		},
		{
			name: "name of 10000 bytes",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file(long, 1))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: unsafe path "` + long[:120] + `"…: it is longer than 4096 bytes`,
		},
		{
			name: "component of 300 bytes",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file(long[:300], 1))
			},
			code: CodeUnsafePath,
			msg:  `refusing the transfer: unsafe path "` + long[:120] + `"…: a component is longer than 255 bytes`,
		},
		{
			name: "absurd size",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("huge", 1<<62))
			},
			code: CodeLimit,
			msg:  "refusing the transfer: it is larger than this receiver's limit of 1.1 PB",
		},
		{
			name:   "sizes that overflow",
			limits: Limits{MaxEntries: 3, MaxTotalBytes: math.MaxInt64},
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", math.MaxInt64), file("b", 1))
			},
			code: CodeLimit,
			msg:  "refusing the transfer: it is larger than this receiver's limit of 9.2 EB",
		},
		{
			name: "negative size",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("neg", -5))
			},
			code: CodeProtocol,
			msg:  `the peer sent an invalid manifest (M) message: entry "neg" has a negative size`,
		},
		{
			name: "unknown size for a file",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", -1))
			},
			code: CodeProtocol,
			msg:  `the peer sent an invalid manifest (M) message: entry "a" has a negative size`,
		},
		{
			name: "stream size below -1",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(wireEntry{Path: "s", Kind: KindStream, Size: -2})
			},
			code: CodeProtocol,
			msg:  `the peer sent an invalid manifest (M) message: entry "s" has a negative size`,
		},
		{
			name:  "symlink to a directory outside",
			setup: func(t *testing.T, dst string) { os.Symlink("../outside", filepath.Join(dst, "link")) },
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("link/keep.txt", 4))
			},
			code: CodeUnsafePath,
			fix:  FixMoveOrElsewhere,
			msg:  "link in DST is a symbolic link; files are never written through symbolic links",
			peer: `"link" is a symbolic link on the receiving side, which never writes through one`,
			left: []string{"link -> ../outside"},
		},
		{
			name: "symlink deeper down",
			setup: func(t *testing.T, dst string) {
				os.MkdirAll(filepath.Join(dst, "a/b"), 0o755)
				os.Symlink("../../../outside", filepath.Join(dst, "a/b/c"))
			},
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(wireEntry{Path: "a", Kind: KindDir}, wireEntry{Path: "a/b", Kind: KindDir}, file("a/b/c/x", 1))
			},
			code: CodeUnsafePath,
			fix:  FixMoveOrElsewhere,
			msg:  "a/b/c in DST is a symbolic link; files are never written through symbolic links",
			peer: `"a/b/c" is a symbolic link on the receiving side, which never writes through one`,
			left: []string{"a/", "a/b/", "a/b/c -> ../../../outside"},
		},
		{
			// Same size as its target: it must not be taken for a complete file.
			name:  "symlink to a file outside",
			setup: func(t *testing.T, dst string) { os.Symlink("../outside/keep.txt", filepath.Join(dst, "keep.txt")) },
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("keep.txt", 4))
			},
			code: CodeExists,
			fix:  FixReplaceOrElsewhere,
			msg:  "keep.txt already exists in DST",
			peer: `"keep.txt" already exists on the receiving side, which did not allow replacing it`,
			left: []string{"keep.txt -> ../outside/keep.txt"},
		},
		{
			name:  "symlink as the partial file",
			setup: func(t *testing.T, dst string) { os.Symlink("../outside/keep.txt", filepath.Join(dst, "a"+partSuffix)) },
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 9))
			},
			code: CodeExists,
			fix:  FixMoveOrElsewhere,
			msg:  "a.p2pcopy-part exists in DST and is not a regular file",
			peer: `the partial file of "a" on the receiving side is not a regular file`,
			left: []string{"a.p2pcopy-part -> ../outside/keep.txt"},
		},
		{
			name:  "data after resuming an existing file at its end",
			setup: existing,
			script: func(p *rawPeer) {
				provesExisting(p)
				p.send('S', startMsg{I: 0, Offset: 4})
				p.send('D', "more")
				p.send('F', fileEndMsg{I: 0, SHA256: sum("samemore")})
			},
			code: CodeProtocol,
			msg:  "the peer sent more data for keep.txt than the 4 bytes it announced",
			left: []string{"keep.txt=same"},
		},
		{
			name:  "wrong hash after resuming an existing file at its end",
			setup: existing,
			script: func(p *rawPeer) {
				provesExisting(p)
				p.send('S', startMsg{I: 0, Offset: 4})
				p.send('F', fileEndMsg{I: 0, SHA256: sum("evil")})
			},
			code: CodeVerify,
			msg:  "keep.txt failed verification (sha256 mismatch); the existing file was left as it was; run the transfer again",
			left: []string{"keep.txt=same"},
		},
		{
			name:  "proving other content for an existing file",
			setup: existing,
			script: func(p *rawPeer) {
				offersExisting(p)
				p.send('P', proofMsg{Proofs: []proof{{I: 0, Offset: 4, SHA256: sum("evil")}}})
			},
			code: CodeExists,
			fix:  FixReplaceOrElsewhere,
			msg:  "keep.txt already exists in DST",
			peer: `"keep.txt" already exists on the receiving side, which did not allow replacing it`,
			left: []string{"keep.txt=same"},
		},
		{
			name:  "restarting over an existing file without a proof",
			setup: existing,
			script: func(p *rawPeer) {
				offersExisting(p)
				p.send('P', proofMsg{Proofs: []proof{}})
				p.recv() // R
				p.send('S', startMsg{I: 0})
				p.send('D', "evil")
				p.send('F', fileEndMsg{I: 0, SHA256: sum("evil")})
				p.send('E', "{}")
			},
			code: CodeExists,
			fix:  FixReplaceOrElsewhere,
			msg:  "keep.txt already exists in DST",
			peer: `"keep.txt" already exists on the receiving side, which did not allow replacing it`,
			// Verified, but not wanted without --overwrite: kept as a partial file, so that
			// a run with --overwrite resumes at its end.
			left: []string{"keep.txt.p2pcopy-part=evil", "keep.txt=same"},
		},
		{
			name:  "resuming an existing file in its middle",
			setup: existing,
			script: func(p *rawPeer) {
				provesExisting(p)
				p.send('S', startMsg{I: 0, Offset: 2})
			},
			code: CodeProtocol,
			msg:  "the peer wants to resume keep.txt at byte 2, but 4 bytes were offered",
			left: []string{"keep.txt=same"},
		},
		{
			name:  "resuming an existing file it did not prove",
			setup: existing,
			script: func(p *rawPeer) {
				offersExisting(p)
				p.send('P', proofMsg{Proofs: []proof{}})
				p.recv() // R
				p.send('S', startMsg{I: 0, Offset: 4})
			},
			code: CodeProtocol,
			msg:  "the peer wants to resume keep.txt at byte 4, but 0 bytes were offered",
			left: []string{"keep.txt=same"},
		},
		{
			name:  "proving what was not offered",
			setup: existing,
			script: func(p *rawPeer) {
				offersExisting(p)
				p.send('P', proofMsg{Proofs: []proof{{I: 1, Offset: 4, SHA256: sum("same")}}})
			},
			code: CodeProtocol,
			msg:  "the peer proved entry 1, which was not offered for resuming",
			left: []string{"keep.txt=same"},
		},
		{
			name:  "proving another length",
			setup: existing,
			script: func(p *rawPeer) {
				offersExisting(p)
				p.send('P', proofMsg{Proofs: []proof{{I: 0, Offset: 3, SHA256: sum("sam")}}})
			},
			code: CodeProtocol,
			msg:  "the peer proved 3 bytes of keep.txt, but 4 were offered",
			left: []string{"keep.txt=same"},
		},
		{
			name:  "proving twice",
			setup: existing,
			script: func(p *rawPeer) {
				offersExisting(p)
				p.send('P', proofMsg{Proofs: []proof{{I: 0, Offset: 4, SHA256: sum("same")}, {I: 0, Offset: 4, SHA256: sum("same")}}})
			},
			code: CodeProtocol,
			msg:  "the peer proved keep.txt twice",
			left: []string{"keep.txt=same"},
		},
		{
			name:  "start instead of a proof",
			setup: existing,
			script: func(p *rawPeer) {
				offersExisting(p)
				p.send('S', startMsg{I: 0, Offset: 4})
			},
			code: CodeProtocol,
			msg:  "the peer sent a start (S) message where a proof (P) message was expected",
			left: []string{"keep.txt=same"},
		},
		{
			name: "second hello",
			script: func(p *rawPeer) {
				p.hello()
				p.send('H', `{"v":2,"role":"send"}`)
			},
			code: CodeProtocol,
			msg:  "the peer sent a hello (H) message where a manifest (M) message was expected",
		},
		{
			name: "manifest during the transfer",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 1))
				p.accept()
				p.manifest(file("b", 1))
			},
			code: CodeProtocol,
			msg:  "the peer sent a manifest (M) message during the transfer",
		},
		{
			name: "file end without start",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 0))
				p.accept()
				p.send('F', fileEndMsg{I: 0, SHA256: sum("")})
			},
			code: CodeProtocol,
			msg:  "the peer ended entry 0, which was not started",
		},
		{
			name: "file end for another entry",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 1), file("b", 1))
				p.accept()
				p.send('S', startMsg{I: 0})
				p.send('D', "x")
				p.send('F', fileEndMsg{I: 1, SHA256: sum("x")})
			},
			code: CodeProtocol,
			msg:  "the peer ended entry 1 while a was being received",
		},
		{
			name: "end in the middle of a file",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a", 2))
				p.accept()
				p.send('S', startMsg{I: 0})
				p.send('D', "x")
				p.send('E', "{}")
			},
			code: CodeProtocol,
			msg:  "the peer ended the transfer in the middle of a",
		},
		{
			name: "peer closes right after start",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a.txt", 10))
				p.accept()
				p.send('S', startMsg{I: 0})
				p.c.Close()
			},
			code: CodeIO,
			msg:  "connection to peer lost while receiving a.txt, 0 bytes of 10 bytes received (the peer closed the connection)",
		},
		{
			name: "peer closes after the accept",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a.txt", 10))
				p.accept()
				p.c.Close()
			},
			code: CodeIO,
			msg:  "connection to peer lost before the transfer finished (the peer closed the connection)",
		},
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
				p.send('H', `{"v":1,"role":"send"}`) // a p2pcopy from before the resume handshake
			},
			code: CodeProtocol,
			msg:  "your peer speaks version 1 of the p2pcopy protocol and this program speaks version 2; use the same p2pcopy version on both sides",
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
			msg:  "connection to peer lost while receiving a.txt, 3 bytes of 10 bytes received (the peer closed the connection); the partial file is kept as a.txt.p2pcopy-part",
			fix:  FixRunAgain,
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
			limits := c.limits
			if limits == (Limits{}) {
				limits.MaxEntries = 3
			}
			var dst string
			x, _, err := hostileIn(t, ReceiveOptions{Limits: limits}, func(d string) {
				if dst = d; c.setup != nil {
					c.setup(t, d)
				}
			}, c.script)
			msg := strings.ReplaceAll(c.msg, "DST", dst)
			remote := c.name == "peer reports an error"
			wantError(t, "recv", err, c.code, remote, msg)
			wantFix(t, "recv", err, c.fix)
			if !remote && c.code != CodeIO {
				want := c.peer
				if want == "" {
					want = msg
				}
				if x == nil || x.Code != c.code || x.Message != want {
					t.Errorf("the receiver sent X %+v, want message %q", x, want)
				}
			}
			if x != nil && (strings.Contains(x.Message, dst) || strings.Contains(x.Message, "--") || strings.Contains(x.Message, " -o ")) {
				t.Errorf("the X sent to the peer carries local details or this CLI's advice: %q", x.Message)
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

// TestHostileSenderMillionEntries: a manifest of a million entries is refused by the
// default limit of 200 000 entries as soon as a message takes it over the limit: the
// receiver keeps at most that many entries and stops decoding. (Each M message is
// decoded whole, at most MaxMessageSize bytes, before its entries are counted.)
func TestHostileSenderMillionEntries(t *testing.T) {
	const n = 1_000_000
	sent, accepted := 0, 0
	start := time.Now()
	x, _, err := hostile(t, ReceiveOptions{}, func(p *rawPeer) {
		p.hello()
		var msg []byte
		for i := 0; i < n; {
			msg = append(msg[:0], `M{"entries":[`...)
			for first := true; i < n && len(msg) < MaxMessageSize-100; i, first = i+1, false {
				if !first {
					msg = append(msg, ',')
				}
				msg = fmt.Appendf(msg, `{"path":"f%07d","kind":"file","size":1}`, i)
			}
			msg = fmt.Appendf(msg, `],"more":%v}`, i < n)
			sent++
			if p.c.WriteMsg(msg) == nil {
				accepted++
			}
		}
	})
	msg := "refusing the transfer: it has more than 200000 entries, this receiver's limit"
	wantError(t, "recv", err, CodeLimit, false, msg)
	if x == nil || x.Code != CodeLimit || x.Message != msg {
		t.Errorf("the receiver sent X %+v", x)
	}
	// After its X the receiver drains what the peer still sends (without decoding it) for
	// at most xDeliverWait, so that the X is not torn down in transit.
	d := time.Since(start)
	t.Logf("refused after %v; %d of %d M messages were accepted by the connection", d, accepted, sent)
	if d > 30*time.Second {
		t.Errorf("refusing took %v", d)
	}
}

// FuzzReceive feeds the receiver (writing into a directory, or to Stdout) a hello
// followed by arbitrary messages (each prefixed with a 2-byte length in the fuzz input)
// and checks that it returns an *Error or succeeds, never panics, writes nothing
// outside its directory and never overwrites an existing file. The directory holds
// x = "hello" (offered as complete for an entry "x" of 5 bytes) and a partial file
// y.p2pcopy-part = "hel" (offered for an entry "y" of 3 bytes or more).
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
	f.Add(false, enc(`M{"entries":[{"path":"x","kind":"file","size":5},{"path":"y","kind":"file","size":6}],"more":false}`,
		`S{"i":0,"offset":5}`, `F{"i":0,"sha256":"`+sum("hello")+`"}`,
		`S{"i":1,"offset":3}`, "Dlo!", `F{"i":1,"sha256":"`+sum("hello!")+`"}`, "E{}"))
	f.Add(false, enc(`M{"entries":[{"path":"x","kind":"file","size":5}],"more":false}`,
		`S{"i":0,"offset":0}`, "Dworld", `F{"i":0,"sha256":"`+sum("world")+`"}`, "E{}"))
	f.Fuzz(func(t *testing.T, stdout bool, in []byte) {
		parent := t.TempDir()
		dst := filepath.Join(parent, "dst")
		os.Mkdir(dst, 0o755)
		writeFile(t, filepath.Join(dst, "x"), []byte("hello"))
		writeFile(t, filepath.Join(dst, "y"+partSuffix), []byte("hel"))
		opts := ReceiveOptions{Dir: dst, Limits: Limits{MaxEntries: 100}}
		if stdout {
			opts.Stdout = io.Discard
		}
		// The sender's messages, then io.EOF. (Not a Pipe: closing its end right after
		// writing would also close its reading side, and the receiver's H would fail.)
		c := newScriptConn(t)
		c.add(false, []byte(`H{"v":2,"role":"send"}`))
		for len(in) >= 2 {
			n := min(int(in[0])<<8|int(in[1]), len(in)-2)
			c.add(false, in[2:2+n])
			in = in[2+n:]
		}
		errc := make(chan error, 1)
		go func() {
			_, err := Receive(context.Background(), c, opts)
			errc <- err
		}()
		select {
		case err := <-errc:
			if _, ok := err.(*Error); err != nil && !ok {
				t.Fatalf("error %T: %v", err, err)
			}
		case <-time.After(10 * time.Second):
			c.Close()
			t.Fatal("Receive did not return")
		}
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 || entries[0].Name() != "dst" {
			t.Fatalf("written outside the directory: %v", entries)
		}
		if b, err := os.ReadFile(filepath.Join(dst, "x")); err != nil || string(b) != "hello" {
			t.Fatalf("the existing file x was overwritten: %q, %v", b, err)
		}
	})
}

// hostileReceiver runs Send of a 10 MB file named a.bin against a hand-written receiver.
func hostileReceiver(t *testing.T, script func(p *rawPeer)) error {
	t.Helper()
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.bin"), randomBytes(10_000_000, 9))
	return hostileReceiverItems(t, fileItems(t, filepath.Join(src, "a.bin")), script)
}

// hostileReceiverItems runs Send of items against a hand-written receiver.
func hostileReceiverItems(t *testing.T, items []Item, script func(p *rawPeer)) error {
	t.Helper()
	a, b := Pipe()
	errc := make(chan error, 1)
	go func() {
		_, err := Send(context.Background(), a, items, SendOptions{})
		errc <- err
	}()
	p := &rawPeer{t: t, c: b, buf: make([]byte, MaxMessageSize)}
	p.send('H', `{"v":2,"role":"receive"}`)
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
		p.send('A', `{"have":[{"i":0,"offset":10000001}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer offered to resume a.bin at byte 10000001, but it has only 10000000 bytes")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[{"i":7,"offset":1}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer offered to resume entry 7, but the transfer has 1 entries")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[{"i":0,"offset":-1}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer sent an invalid accept (A) message: negative index or offset")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[{"i":-1,"offset":1}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer sent an invalid accept (A) message: negative index or offset")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[{"i":0,"offset":1e30}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer sent a malformed accept (A) message: "+
		"json: cannot unmarshal number 1e30 into Go struct field held.have.offset of type int64")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[{"i":0,"offset":1},{"i":0,"offset":2}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer offered to resume a.bin twice")

	src := t.TempDir()
	writeFile(t, filepath.Join(src, "d/a.bin"), []byte("a"))
	err = hostileReceiverItems(t, fileItems(t, filepath.Join(src, "d")), func(p *rawPeer) {
		p.send('A', `{"have":[{"i":0,"offset":1}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer offered to resume d, which is a directory")

	// R: the receiver may agree only to what the sender proved, at the proved offset.
	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[{"i":0,"offset":100}]}`)
		p.recv() // P
		p.send('R', `{"resume":[{"i":0,"offset":99}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer agreed to resume a.bin at byte 99, but 100 bytes were proved")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[{"i":0,"offset":100}]}`)
		p.recv() // P
		p.send('R', `{"resume":[{"i":0,"offset":100},{"i":0,"offset":100}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer agreed to resume a.bin twice")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[{"i":0,"offset":100}]}`)
		p.recv() // P
		p.send('R', `{"resume":[{"i":3,"offset":100}]}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer agreed to resume entry 3, which was not proved")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[{"i":0,"offset":100}]}`)
		p.recv() // P
		p.send('S', `{"i":0,"offset":0}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer sent a start (S) message where a resume (R) message was expected")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('S', `{"i":0,"offset":0}`)
	})
	wantError(t, "send", err, CodeProtocol, false, "the peer sent a start (S) message where a accept (A) message was expected")

	// When the sender notices the stray D depends on when its reader goroutine runs: mostly
	// while a.bin is being sent, but under -race on a loaded machine the 10 MB over the
	// in-memory pipe were once all sent first. Each moment has its own exact words.
	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[]}`)
		p.send('D', "unexpected")
		for typ := byte(1); typ != 0; {
			typ, _ = p.recv()
		}
	})
	wantErrorOneOf(t, "send", err, CodeProtocol, false,
		"the peer sent a data (D) message while a.bin was being sent",
		"the peer sent a data (D) message before the end of the transfer",
		"the peer sent a data (D) message where a complete (C) message was expected")

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[]}`)
		p.recv() // S
		p.recv() // D
		p.c.Close()
	})
	wantError(t, "send", err, CodeIO, false, "")
	if msg := err.(*Error).Message; !strings.HasPrefix(msg, "connection to peer lost while sending a.bin, ") || strings.Contains(msg, "again") {
		t.Errorf("message %q, want what happened without advice", msg)
	}
	wantFix(t, "send", err, FixRunAgain)

	// A stream cannot resume: running the transfer again sends it from its start.
	stream := strings.NewReader(string(randomBytes(10_000_000, 10)))
	err = hostileReceiverItems(t, []Item{StreamItem("stdin", stream)}, func(p *rawPeer) {
		p.send('A', `{"have":[]}`)
		p.recv() // S
		p.recv() // D
		p.c.Close()
	})
	wantError(t, "send", err, CodeIO, false, "")
	// The sender sees the loss on a write or, between writes, on its pending read.
	lost := regexp.MustCompile(`^connection to peer lost while (sending stdin, .* sent|stdin was being sent) \([^()]*\)$`)
	if msg := err.(*Error).Message; !lost.MatchString(msg) {
		t.Errorf("message %q, want %s: what happened, without advice", msg, lost)
	}
	wantFix(t, "send", err, FixRunAgainFromStart)

	err = hostileReceiver(t, func(p *rawPeer) {
		p.send('A', `{"have":[]}`)
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
		"(the peer closed the connection); they may all have arrived (check on the receiving side)")
	wantFix(t, "send", err, FixRunAgainIfMissing)
}
