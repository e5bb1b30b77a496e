package transfer

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestKeptFileNeverChanged: a sender that knows (or guessed) the content of a file the
// receiver already holds under an offered name may prove it and have the file kept, but
// the file is not this transfer's: its mode and times stay exactly as they were, whatever
// mode and mtime the manifest carries (the attack on .bashrc, secret, flag).
func TestKeptFileNeverChanged(t *testing.T) {
	old := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	setup := func(dst string) {
		writeFile(t, filepath.Join(dst, ".bashrc"), []byte("same"))
		writeFile(t, filepath.Join(dst, "flag"), nil)
		for _, n := range []string{".bashrc", "flag"} {
			os.Chmod(filepath.Join(dst, n), 0o600)
			os.Chtimes(filepath.Join(dst, n), old, old)
		}
	}
	evil := func(path string, size int64) wireEntry {
		return wireEntry{Path: path, Kind: KindFile, Size: size, Mode: 0o7777, MTime: 978307200} // 2001
	}
	x, dst, err := hostileIn(t, ReceiveOptions{}, setup, func(p *rawPeer) {
		p.hello()
		p.manifest(evil(".bashrc", 4), evil("flag", 0))
		if a := p.accept(); len(a.Have) != 1 || a.Have[0] != (held{I: 0, Offset: 4}) {
			t.Errorf("A.have = %+v", a.Have)
		}
		p.send('P', proofMsg{Proofs: []proof{{I: 0, Offset: 4, SHA256: sum("same")}}})
		p.recv() // R
		p.send('S', startMsg{I: 0, Offset: 4})
		p.send('F', fileEndMsg{I: 0, SHA256: sum("same")})
		p.send('S', startMsg{I: 1})
		p.send('F', fileEndMsg{I: 1, SHA256: sum("")})
		p.send('E', "{}")
		if typ, _ := p.recv(); typ != 'C' {
			t.Errorf("got %q, want C", typ)
		}
		p.c.Close() // as a real sender does after C
	})
	if err != nil || x != nil {
		t.Fatalf("Receive: %v (X %+v)", err, x)
	}
	for _, n := range []string{".bashrc", "flag"} {
		fi, err := os.Stat(filepath.Join(dst, n))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o600 || !fi.ModTime().Equal(old) {
			t.Errorf("%s: mode %v, mtime %v; want -rw------- and %v as before", n, fi.Mode(), fi.ModTime(), old)
		}
	}
}

// TestAcceptRevealsNoHashes: the receiver's A says how many bytes it holds of each entry
// and nothing else: no hash of a partial file or of an existing file (a 5-byte pin.txt
// was recovered offline from its hash in version 1).
func TestAcceptRevealsNoHashes(t *testing.T) {
	setup := func(dst string) {
		writeFile(t, filepath.Join(dst, "pin.txt"), []byte("4711\n"))
		writeFile(t, filepath.Join(dst, "big.bin"+partSuffix), []byte("12345"))
	}
	var raw string
	hostileIn(t, ReceiveOptions{}, setup, func(p *rawPeer) {
		p.hello()
		p.manifest(file("pin.txt", 5), file("big.bin", 100))
		typ, body := p.recv()
		raw = string(append([]byte{typ}, body...))
		p.c.Close()
	})
	if want := `A{"have":[{"i":0,"offset":5},{"i":1,"offset":5}]}`; raw != want {
		t.Errorf("A = %s, want %s", raw, want)
	}
	for _, secret := range []string{sum("4711\n"), sum("12345")} {
		if strings.Contains(strings.ToLower(raw), secret) {
			t.Errorf("A carries the hash %s of a receiver's file", secret)
		}
	}
}

// TestSilentSender: a sender that connects and then says nothing, before its hello or in
// the middle of a file, is given up after the idle timeout with a message naming the
// cause; the partial file is kept for resuming.
func TestSilentSender(t *testing.T) {
	const idle = 500 * time.Millisecond
	for _, c := range []struct {
		name, msg string
		script    func(p *rawPeer)
		fix       Fix
		left      []string
	}{
		{
			name:   "before hello",
			script: func(p *rawPeer) {},
			msg:    "your peer went silent before the transfer started: nothing arrived from it for 1s, not even a keep-alive (its p2pcopy may be stuck or its computer asleep)",
		},
		{
			name: "mid-file",
			script: func(p *rawPeer) {
				p.hello()
				p.manifest(file("a.bin", 10))
				p.accept()
				p.send('S', startMsg{I: 0})
				p.send('D', "12345")
			},
			msg:  "your peer went silent while receiving a.bin, 5 bytes of 10 bytes received: nothing arrived from it for 1s, not even a keep-alive (its p2pcopy may be stuck or its computer asleep); the partial file is kept as a.bin.p2pcopy-part",
			fix:  FixRunAgain,
			left: []string{"a.bin.p2pcopy-part=12345"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			_, dst, err := hostileIn(t, ReceiveOptions{IdleTimeout: idle}, nil, func(p *rawPeer) {
				c.script(p)
				time.Sleep(3 * idle) // keep the connection open, silent
			})
			wantError(t, "recv", err, CodeTimeout, false, strings.Replace(c.msg, "1s", idle.String(), 1))
			wantFix(t, "recv", err, c.fix)
			if d := time.Since(start); d > 3*idle+20*time.Second { // loose for busy machines
				t.Errorf("gave up after %v", d)
			}
			if got := tree(t, dst); strings.Join(got, ",") != strings.Join(c.left, ",") {
				t.Errorf("output directory %q, want %q", got, c.left)
			}
		})
	}
}

// TestSilentReceiver: seen from the sender, a receiver that says hello and then nothing
// (no accept, no keep-alive) is given up after the idle timeout.
func TestSilentReceiver(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a.bin"), []byte("abc"))
	a, b := Pipe()
	defer b.Close()
	go func() {
		p := &rawPeer{t: t, c: b, buf: make([]byte, MaxMessageSize)}
		p.send('H', `{"v":2,"role":"receive"}`)
	}()
	_, err := Send(context.Background(), a, fileItems(t, filepath.Join(src, "a.bin")), SendOptions{IdleTimeout: 300 * time.Millisecond})
	wantError(t, "send", err, CodeTimeout, false, "your peer went silent while waiting for the receiver to accept: nothing arrived from it for 300ms, not even a keep-alive (its p2pcopy may be stuck or its computer asleep)")
}

// pausingReader yields its data in pieces with long pauses, like a pipe from a slow program.
type pausingReader struct {
	parts []string
	pause time.Duration
}

func (r *pausingReader) Read(p []byte) (int, error) {
	if len(r.parts) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.pause)
	n := copy(p, r.parts[0])
	r.parts = r.parts[1:]
	return n, nil
}

// TestSlowSourceKeepsAlive: a sender whose stream yields nothing for several idle
// timeouts, and a receiver whose user takes as long to accept, both keep the other side
// waiting with keep-alives; the copy completes.
func TestSlowSourceKeepsAlive(t *testing.T) {
	const idle = 400 * time.Millisecond
	items := []Item{{
		Entry: Entry{Path: "log.txt", Kind: KindStream, Size: -1},
		Open: func() (io.ReadCloser, error) {
			return io.NopCloser(&pausingReader{parts: []string{"one ", "two ", "three"}, pause: 3 * idle}), nil
		},
	}}
	dst := t.TempDir()
	o := transfer(t, items, SendOptions{IdleTimeout: idle}, ReceiveOptions{Dir: dst, IdleTimeout: idle,
		Confirm: func(ctx context.Context, _ []Entry) error {
			time.Sleep(3 * idle)
			return nil
		}})
	o.mustSucceed(t)
	if b, err := os.ReadFile(filepath.Join(dst, "log.txt")); err != nil || string(b) != "one two three" {
		t.Errorf("received %q, %v", b, err)
	}
}

// TestOversizedMessage: a message over MaxMessageSize ends the transfer at once with a
// protocol error naming both sizes, also for one far larger than the receive buffer.
func TestOversizedMessage(t *testing.T) {
	for _, size := range []int{MaxMessageSize + 1, 3 << 20} {
		start := time.Now()
		x, _, err := hostile(t, ReceiveOptions{}, func(p *rawPeer) {
			p.hello()
			big := make([]byte, size)
			big[0] = 'M'
			p.c.WriteMsg(big)
		})
		msg := "the peer sent a message of " + strconv.Itoa(size) + " bytes, more than the 262144 this side accepts"
		wantError(t, "recv", err, CodeProtocol, false, msg)
		if x == nil || x.Message != msg {
			t.Errorf("X %+v", x)
		}
		if d := time.Since(start); d > 10*time.Second { // milliseconds here; loose for busy machines
			t.Errorf("%d bytes: ended after %v", size, d)
		}
	}
}
