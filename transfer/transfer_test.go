package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSingleFile(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	data := randomBytes(10<<20, 1)
	writeFile(t, filepath.Join(src, "big.bin"), data)
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(src, "big.bin"), mtime, mtime)
	os.Chmod(filepath.Join(src, "big.bin"), 0o640)

	var sev, rev events
	o := transfer(t, fileItems(t, filepath.Join(src, "big.bin")),
		SendOptions{App: "test/1", OnEvent: sev.add},
		ReceiveOptions{Dir: dst, App: "test/1", OnEvent: rev.add})
	o.mustSucceed(t)

	got, err := os.ReadFile(filepath.Join(dst, "big.bin"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("received content differs (err %v)", err)
	}
	fi, _ := os.Stat(filepath.Join(dst, "big.bin"))
	if fi.Mode().Perm() != 0o640 || !fi.ModTime().Equal(mtime) {
		t.Errorf("mode %v mtime %v, want 0640 %v", fi.Mode(), fi.ModTime(), mtime)
	}
	want := Result{Files: 1, Bytes: 10 << 20, Sent: 10 << 20}
	for side, r := range map[string]Result{"send": o.sendRes, "recv": o.recvRes} {
		r.Duration = 0
		if r != want {
			t.Errorf("%s result %+v, want %+v", side, r, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "big.bin"+partSuffix)); !errors.Is(err, fs.ErrNotExist) {
		t.Error("partial file left behind")
	}
	for side, ev := range map[string]*events{"send": &sev, "recv": &rev} {
		if n := len(ev.of(EventManifest)); n != 1 {
			t.Errorf("%s: %d manifest events", side, n)
		}
		if s, d := ev.of(EventFileStart), ev.of(EventFileDone); len(s) != 1 || len(d) != 1 || d[0].Bytes != 10<<20 || d[0].Total != 10<<20 {
			t.Errorf("%s: file events %+v %+v", side, s, d)
		}
		if d := ev.of(EventDone); len(d) != 1 || d[0].Bytes != 10<<20 {
			t.Errorf("%s: done events %+v", side, d)
		}
		last := int64(0)
		for _, p := range ev.of(EventProgress) {
			if p.Bytes < last || p.Bytes > 10<<20 || p.Total != 10<<20 {
				t.Errorf("%s: bad progress event %+v", side, p)
			}
			last = p.Bytes
		}
	}
}

func TestDirectoryTree(t *testing.T) {
	parent, dst := t.TempDir(), t.TempDir()
	src := filepath.Join(parent, "Ünïcødé")
	files := map[string]string{
		"日本語.txt":             "こんにちは",
		"empty.txt":           "",
		"sub/a.txt":           "a",
		"sub/deeper/b.txt":    strings.Repeat("b", 100_000),
		"sub/deeper/c.bin":    string(randomBytes(70_000, 2)),
		"z/émoji 🎉.md":        "party",
		"sub/deeper/.hidden":  "h",
		"with space/file one": "1",
	}
	for name, content := range files {
		writeFile(t, filepath.Join(src, name), []byte(content))
	}
	for _, d := range []string{"emptydir", "sub/emptytoo", "sub/deeper/empty/nested"} {
		os.MkdirAll(filepath.Join(src, d), 0o755)
	}
	os.Chmod(filepath.Join(src, "sub/deeper"), 0o750)
	dirTime := time.Date(2019, 5, 6, 7, 8, 9, 0, time.UTC)
	os.Chtimes(filepath.Join(src, "sub"), dirTime, dirTime)

	items := fileItems(t, src)
	// Directories before their contents, lexical order.
	var paths []string
	for _, it := range items {
		paths = append(paths, it.Entry.Path)
	}
	wantOrder := []string{"Ünïcødé", "Ünïcødé/empty.txt", "Ünïcødé/emptydir", "Ünïcødé/sub", "Ünïcødé/sub/a.txt",
		"Ünïcødé/sub/deeper", "Ünïcødé/sub/deeper/.hidden", "Ünïcødé/sub/deeper/b.txt", "Ünïcødé/sub/deeper/c.bin",
		"Ünïcødé/sub/deeper/empty", "Ünïcødé/sub/deeper/empty/nested", "Ünïcødé/sub/emptytoo",
		"Ünïcødé/with space", "Ünïcødé/with space/file one", "Ünïcødé/z", "Ünïcødé/z/émoji 🎉.md", "Ünïcødé/日本語.txt"}
	if fmt.Sprint(paths) != fmt.Sprint(wantOrder) {
		t.Errorf("FileItems order:\n got %q\nwant %q", paths, wantOrder)
	}

	o := transfer(t, items, SendOptions{ChunkSize: 1000}, ReceiveOptions{Dir: dst})
	o.mustSucceed(t)
	sameTree(t, dst, parent)
	if o.recvRes.Files != len(files) || o.sendRes.Files != len(files) {
		t.Errorf("Files = %d/%d, want %d", o.sendRes.Files, o.recvRes.Files, len(files))
	}
	fi, _ := os.Stat(filepath.Join(dst, "Ünïcødé/sub/deeper"))
	if fi.Mode().Perm() != 0o750 {
		t.Errorf("directory mode %v, want 0750", fi.Mode())
	}
	fi, _ = os.Stat(filepath.Join(dst, "Ünïcødé/sub"))
	if !fi.ModTime().Equal(dirTime) {
		t.Errorf("directory mtime %v, want %v", fi.ModTime(), dirTime)
	}
}

// countingConn counts the messages written per type and their largest size.
type countingConn struct {
	Conn
	mu     sync.Mutex
	count  map[byte]int
	maxLen int
}

func (c *countingConn) WriteMsg(p []byte) error {
	c.mu.Lock()
	if c.count == nil {
		c.count = map[byte]int{}
	}
	if len(p) > 0 {
		c.count[p[0]]++
	}
	c.maxLen = max(c.maxLen, len(p))
	c.mu.Unlock()
	return c.Conn.WriteMsg(p)
}

func TestManySmallFiles(t *testing.T) {
	parent, dst := t.TempDir(), t.TempDir()
	src := filepath.Join(parent, "many")
	const n = 10_000
	for i := range n {
		dir := filepath.Join(src, fmt.Sprintf("dir-with-a-fairly-long-name-%03d", i/100))
		if i%100 == 0 {
			os.MkdirAll(dir, 0o755)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("file-number-%05d.txt", i)), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	items := fileItems(t, src)
	a, b := Pipe()
	ca := &countingConn{Conn: a}
	var rres Result
	var rerr error
	done := make(chan struct{})
	go func() { rres, rerr = Receive(context.Background(), b, ReceiveOptions{Dir: dst}); close(done) }()
	sres, serr := Send(context.Background(), ca, items, SendOptions{})
	<-done
	if serr != nil || rerr != nil {
		t.Fatalf("send: %v, receive: %v", serr, rerr)
	}
	if sres.Files != n || rres.Files != n {
		t.Errorf("files %d/%d, want %d", sres.Files, rres.Files, n)
	}
	if ca.count['M'] < 2 {
		t.Errorf("the manifest of %d entries was sent in %d message(s)", len(items), ca.count['M'])
	}
	if ca.maxLen > MaxMessageSize {
		t.Errorf("a message of %d bytes was sent", ca.maxLen)
	}
	t.Logf("%d entries in %d M messages", len(items), ca.count['M'])
	sameTree(t, dst, parent)
}

func TestStreamToStdout(t *testing.T) {
	data := randomBytes(3<<20+17, 3)
	var out syncBuffer
	var rev events
	o := transfer(t, []Item{StreamItem("stdin", bytes.NewReader(data))}, SendOptions{},
		ReceiveOptions{Stdout: &out, OnEvent: rev.add})
	o.mustSucceed(t)
	if out.String() != string(data) {
		t.Fatal("stream content differs")
	}
	if o.recvRes.Bytes != int64(len(data)) || o.recvRes.Files != 1 {
		t.Errorf("result %+v", o.recvRes)
	}
	if d := rev.of(EventDone); len(d) != 1 || d[0].Total != -1 || d[0].Bytes != int64(len(data)) {
		t.Errorf("done event %+v", d)
	}
}

func TestStreamToFile(t *testing.T) {
	dst := t.TempDir()
	data := randomBytes(100_000, 4)
	o := transfer(t, []Item{StreamItem("backup.tar", bytes.NewReader(data))}, SendOptions{}, ReceiveOptions{Dir: dst})
	o.mustSucceed(t)
	if got, _ := os.ReadFile(filepath.Join(dst, "backup.tar")); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
}

func TestText(t *testing.T) {
	const msg = "hello, world\nsecond line 🎉"
	var out syncBuffer
	o := transfer(t, []Item{TextItem(msg)}, SendOptions{}, ReceiveOptions{Dir: t.TempDir(), Text: &out})
	o.mustSucceed(t)
	if out.String() != msg {
		t.Fatalf("text %q", out.String())
	}

	// Without a Text writer, the text is saved as a file.
	dst := t.TempDir()
	o = transfer(t, []Item{TextItem(msg)}, SendOptions{}, ReceiveOptions{Dir: dst})
	o.mustSucceed(t)
	if got, _ := os.ReadFile(filepath.Join(dst, "message.txt")); string(got) != msg {
		t.Fatalf("message.txt = %q", got)
	}

	// With -o -, a text and a file: the file goes to Stdout, the text to Text.
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "f"), []byte("file content"))
	var stdout, text syncBuffer
	items := append(fileItems(t, filepath.Join(src, "f")), TextItem(msg))
	o = transfer(t, items, SendOptions{}, ReceiveOptions{Stdout: &stdout, Text: &text})
	o.mustSucceed(t)
	if stdout.String() != "file content" || text.String() != msg {
		t.Fatalf("stdout %q text %q", stdout.String(), text.String())
	}
}

func TestStdoutIgnoresDirectories(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "d/sub/a"), []byte("the only file"))
	var out syncBuffer
	o := transfer(t, fileItems(t, filepath.Join(src, "d")), SendOptions{}, ReceiveOptions{Stdout: &out})
	o.mustSucceed(t)
	if out.String() != "the only file" {
		t.Errorf("stdout %q", out.String())
	}
}

func TestStdoutRefusesSeveralFiles(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "d/a"), []byte("a"))
	writeFile(t, filepath.Join(src, "d/b"), []byte("b"))
	var out syncBuffer
	o := transfer(t, fileItems(t, filepath.Join(src, "d")), SendOptions{}, ReceiveOptions{Stdout: &out})
	msg := "the peer sends 2 files, but standard output takes a single file"
	wantError(t, "recv", o.recvErr, CodeRejected, false, msg)
	wantError(t, "send", o.sendErr, CodeRejected, true, "the receiver writes to its standard output, which takes a single file, and this transfer has 2")
	if out.String() != "" {
		t.Error("something was written")
	}
}

func TestEmptyTransfer(t *testing.T) {
	o := transfer(t, nil, SendOptions{}, ReceiveOptions{Dir: t.TempDir()})
	o.mustSucceed(t)
}

func TestResume(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	data := randomBytes(5<<20+123, 5)
	writeFile(t, filepath.Join(src, "vm.img"), data)
	const prefix = 3<<20 + 7
	writeFile(t, filepath.Join(dst, "vm.img"+partSuffix), data[:prefix])

	var sev, rev events
	o := transfer(t, fileItems(t, filepath.Join(src, "vm.img")), SendOptions{OnEvent: sev.add},
		ReceiveOptions{Dir: dst, OnEvent: rev.add})
	o.mustSucceed(t)
	if got, _ := os.ReadFile(filepath.Join(dst, "vm.img")); !bytes.Equal(got, data) {
		t.Fatal("content differs")
	}
	for side, r := range map[string]Result{"send": o.sendRes, "recv": o.recvRes} {
		if r.Resumed != prefix || r.Sent != int64(len(data))-prefix || r.Bytes != int64(len(data)) {
			t.Errorf("%s: %+v, want Resumed %d", side, r, prefix)
		}
	}
	for side, ev := range map[string]*events{"send": &sev, "recv": &rev} {
		if s := ev.of(EventFileStart); len(s) != 1 || s[0].Offset != prefix || s[0].Bytes != prefix {
			t.Errorf("%s: file-start %+v", side, s)
		}
	}
}

func TestResumeTamperedPrefix(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	data := randomBytes(1<<20, 6)
	writeFile(t, filepath.Join(src, "a.bin"), data)
	bad := bytes.Clone(data[:500_000])
	bad[1234] ^= 1
	writeFile(t, filepath.Join(dst, "a.bin"+partSuffix), bad)
	// A partial file longer than the entry is cut to the entry's size.
	writeFile(t, filepath.Join(src, "b.bin"), data[:1000])
	writeFile(t, filepath.Join(dst, "b.bin"+partSuffix), data[:2000])

	o := transfer(t, fileItems(t, filepath.Join(src, "a.bin"), filepath.Join(src, "b.bin")), SendOptions{}, ReceiveOptions{Dir: dst})
	o.mustSucceed(t)
	if got, _ := os.ReadFile(filepath.Join(dst, "a.bin")); !bytes.Equal(got, data) {
		t.Fatal("a.bin differs")
	}
	if got, _ := os.ReadFile(filepath.Join(dst, "b.bin")); !bytes.Equal(got, data[:1000]) {
		t.Fatal("b.bin differs")
	}
	if o.recvRes.Resumed != 1000 || o.sendRes.Resumed != 1000 {
		t.Errorf("Resumed = %d/%d, want 1000 (b.bin only)", o.sendRes.Resumed, o.recvRes.Resumed)
	}
}

func TestOverwrite(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "photos/a.jpg"), []byte("new a"))
	writeFile(t, filepath.Join(src, "photos/b.jpg"), []byte("new b"))
	// Existing files of another size are refused up front (same size: TestResumeComplete).
	writeFile(t, filepath.Join(dst, "photos/a.jpg"), []byte("older a"))
	items := fileItems(t, filepath.Join(src, "photos"))

	o := transfer(t, items, SendOptions{}, ReceiveOptions{Dir: dst})
	msg := "photos/a.jpg already exists in " + dst
	wantError(t, "recv", o.recvErr, CodeExists, false, msg)
	if e := o.recvErr.(*Error); e.Fix != FixReplaceOrElsewhere {
		t.Errorf("Fix = %v, want FixReplaceOrElsewhere: the CLI words it as --overwrite or -o", e.Fix)
	}
	wantError(t, "send", o.sendErr, CodeExists, true, `"photos/a.jpg" already exists on the receiving side, which did not allow replacing it`)
	if got := tree(t, dst); fmt.Sprint(got) != "[photos/ photos/a.jpg=older a]" {
		t.Errorf("something was written: %q", got)
	}

	writeFile(t, filepath.Join(dst, "photos/b.jpg"), []byte("older b"))
	o = transfer(t, items, SendOptions{}, ReceiveOptions{Dir: dst})
	wantError(t, "recv", o.recvErr, CodeExists, false, "photos/a.jpg and 1 other files already exist in "+dst+
		"")

	o = transfer(t, items, SendOptions{}, ReceiveOptions{Dir: dst, Overwrite: true})
	o.mustSucceed(t)
	sameTree(t, dst, src)

	// A directory is never replaced by a file, even with Overwrite.
	dst2 := t.TempDir()
	os.MkdirAll(filepath.Join(dst2, "photos/a.jpg"), 0o755)
	o = transfer(t, items, SendOptions{}, ReceiveOptions{Dir: dst2, Overwrite: true})
	wantError(t, "recv", o.recvErr, CodeExists, false, "photos/a.jpg already exists in "+dst2+
		" as a directory")
	// Nor a file by a directory.
	dst3 := t.TempDir()
	writeFile(t, filepath.Join(dst3, "photos"), []byte("x"))
	o = transfer(t, items, SendOptions{}, ReceiveOptions{Dir: dst3, Overwrite: true})
	wantError(t, "recv", o.recvErr, CodeExists, false, "photos already exists in "+dst3+
		" and is not a directory")
}

func TestMergeIntoExistingDirectory(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "photos/new.jpg"), []byte("new"))
	writeFile(t, filepath.Join(dst, "photos/old.jpg"), []byte("old"))
	os.Chmod(filepath.Join(dst, "photos"), 0o700)
	o := transfer(t, fileItems(t, filepath.Join(src, "photos")), SendOptions{}, ReceiveOptions{Dir: dst})
	o.mustSucceed(t)
	if got := fmt.Sprint(tree(t, dst)); got != "[photos/ photos/new.jpg=new photos/old.jpg=old]" {
		t.Errorf("tree %s", got)
	}
	if fi, _ := os.Stat(filepath.Join(dst, "photos")); fi.Mode().Perm() != 0o700 {
		t.Errorf("the mode of an existing directory was changed to %v", fi.Mode())
	}
}

func TestSymlinkInDir(t *testing.T) {
	parent := t.TempDir()
	dst, outside := filepath.Join(parent, "dst"), filepath.Join(parent, "outside")
	os.MkdirAll(dst, 0o755)
	os.MkdirAll(outside, 0o755)
	writeFile(t, filepath.Join(outside, "victim.txt"), []byte("precious"))
	os.Symlink(outside, filepath.Join(dst, "photos"))
	os.Symlink(filepath.Join(outside, "victim.txt"), filepath.Join(dst, "victim.txt"))
	before := tree(t, parent)

	src := t.TempDir()
	writeFile(t, filepath.Join(src, "photos/victim.txt"), []byte("evil"))
	writeFile(t, filepath.Join(src, "victim.txt"), []byte("evil"))

	// Writing into a directory that is a symlink is refused.
	o := transfer(t, fileItems(t, filepath.Join(src, "photos")), SendOptions{}, ReceiveOptions{Dir: dst, Overwrite: true})
	wantError(t, "recv", o.recvErr, CodeUnsafePath, false, "photos in "+dst+
		" is a symbolic link; files are never written through symbolic links")
	wantError(t, "send", o.sendErr, CodeUnsafePath, true, "")

	// A file whose final name is a symlink: refused without Overwrite…
	o = transfer(t, fileItems(t, filepath.Join(src, "victim.txt")), SendOptions{}, ReceiveOptions{Dir: dst})
	wantError(t, "recv", o.recvErr, CodeExists, false, "")
	if got := tree(t, parent); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("the tree changed:\n%q\n%q", got, before)
	}
	// …and with Overwrite the symlink itself is replaced, never its target.
	o = transfer(t, fileItems(t, filepath.Join(src, "victim.txt")), SendOptions{}, ReceiveOptions{Dir: dst, Overwrite: true})
	o.mustSucceed(t)
	if b, _ := os.ReadFile(filepath.Join(outside, "victim.txt")); string(b) != "precious" {
		t.Fatal("the symlink's target was overwritten")
	}
	if fi, _ := os.Lstat(filepath.Join(dst, "victim.txt")); !fi.Mode().IsRegular() {
		t.Fatal("victim.txt is not a regular file")
	}

	// A partial file that is a symlink is refused.
	os.Symlink(filepath.Join(outside, "victim.txt"), filepath.Join(dst, "other.txt"+partSuffix))
	writeFile(t, filepath.Join(src, "other.txt"), []byte("evil"))
	o = transfer(t, fileItems(t, filepath.Join(src, "other.txt")), SendOptions{}, ReceiveOptions{Dir: dst})
	wantError(t, "recv", o.recvErr, CodeExists, false, "other.txt.p2pcopy-part exists in "+dst+
		" and is not a regular file")
	if b, _ := os.ReadFile(filepath.Join(outside, "victim.txt")); string(b) != "precious" {
		t.Fatal("the symlink's target was overwritten")
	}
}

func TestConfirm(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "a.txt"), []byte("a"))
	var seen []Entry
	o := transfer(t, fileItems(t, filepath.Join(src, "a.txt")), SendOptions{}, ReceiveOptions{Dir: dst,
		Confirm: func(_ context.Context, entries []Entry) error {
			seen = entries
			return errors.New("not now")
		}})
	msg := "the receiver declined the transfer: not now"
	wantError(t, "recv", o.recvErr, CodeRejected, false, msg)
	wantError(t, "send", o.sendErr, CodeRejected, true, msg)
	if o.sendErr.Error() != "peer: "+msg {
		t.Errorf("Error() = %q", o.sendErr.Error())
	}
	if len(seen) != 1 || seen[0].Path != "a.txt" || seen[0].Size != 1 || seen[0].Kind != KindFile {
		t.Errorf("Confirm saw %+v", seen)
	}
	if len(tree(t, dst)) != 0 {
		t.Error("something was written")
	}

	o = transfer(t, fileItems(t, filepath.Join(src, "a.txt")), SendOptions{}, ReceiveOptions{Dir: dst,
		Confirm: func(context.Context, []Entry) error { return nil }})
	o.mustSucceed(t)
}

func TestHelloMismatch(t *testing.T) {
	a, b := Pipe()
	var wg sync.WaitGroup
	wg.Add(2)
	errs := make([]error, 2)
	for i, c := range []Conn{a, b} {
		go func() { defer wg.Done(); _, errs[i] = Send(context.Background(), c, nil, SendOptions{}) }()
	}
	wg.Wait()
	for _, err := range errs {
		wantError(t, "send", err, CodeProtocol, false, "your peer is also sending")
		wantFix(t, "send", err, FixOppositeRoles)
	}

	a, b = Pipe()
	wg.Add(2)
	for i, c := range []Conn{a, b} {
		go func() {
			defer wg.Done()
			_, errs[i] = Receive(context.Background(), c, ReceiveOptions{Dir: t.TempDir()})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		wantError(t, "recv", err, CodeProtocol, false, "your peer is also receiving")
		wantFix(t, "recv", err, FixOppositeRoles)
	}
}

func TestLimits(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "d/a"), []byte("aaaa"))
	writeFile(t, filepath.Join(src, "d/b"), []byte("bbbb"))
	items := fileItems(t, filepath.Join(src, "d"))
	cases := []struct {
		limits Limits
		msg    string
	}{
		{Limits{MaxEntries: 2}, "refusing the transfer: it has more than 2 entries, this receiver's limit"},
		{Limits{MaxPathBytes: 2}, `refusing the transfer: the path "d/a" is longer than this receiver's limit of 2 bytes`},
		{Limits{MaxTotalBytes: 7}, "refusing the transfer: it is larger than this receiver's limit of 7 bytes"},
	}
	for _, c := range cases {
		o := transfer(t, items, SendOptions{}, ReceiveOptions{Dir: t.TempDir(), Limits: c.limits})
		wantError(t, "recv", o.recvErr, CodeLimit, false, c.msg)
		wantError(t, "send", o.sendErr, CodeLimit, true, c.msg)
	}
}

func TestFreeSpace(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "a"), make([]byte, 20_000))
	writeFile(t, filepath.Join(dst, "a"+partSuffix), make([]byte, 5_000))
	free := func(dir string) (int64, error) {
		if dir != dst {
			t.Errorf("FreeSpace(%q)", dir)
		}
		return 3100, nil
	}
	o := transfer(t, fileItems(t, filepath.Join(src, "a")), SendOptions{}, ReceiveOptions{Dir: dst, FreeSpace: free})
	msg := "not enough free space in " + dst + ": need 15.0 kB, 3.1 kB free"
	wantError(t, "recv", o.recvErr, CodeDiskFull, false, msg)
	wantError(t, "send", o.sendErr, CodeDiskFull, true, "the receiving side has not enough free space: the transfer needs 15.0 kB")

	// The default looks at the real file system, which has room for 20 kB.
	o = transfer(t, fileItems(t, filepath.Join(src, "a")), SendOptions{}, ReceiveOptions{Dir: dst})
	o.mustSucceed(t)
	if free, err := diskFree(dst); err != nil || free <= 0 {
		t.Errorf("diskFree = %d, %v", free, err)
	}
}

func TestMissingOutputDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nope")
	o := transfer(t, nil, SendOptions{}, ReceiveOptions{Dir: dir})
	msg := "cannot open the output directory " + dir + ": no such file or directory"
	wantError(t, "recv", o.recvErr, CodeIO, false, msg)
	wantError(t, "send", o.sendErr, CodeIO, true, "the receiving side cannot open its output directory")
}

// changingFile changes its file's modification time after the first Read.
type changingFile struct {
	*os.File
	once sync.Once
}

func (c *changingFile) Read(p []byte) (int, error) {
	n, err := c.File.Read(p)
	c.once.Do(func() {
		later := time.Now().Add(time.Hour)
		os.Chtimes(c.File.Name(), later, later)
	})
	return n, err
}

func TestSourceChanged(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	name := filepath.Join(src, "a.jpg")
	writeFile(t, name, randomBytes(300_000, 7))
	msg := "photos/a.jpg changed while it was being sent; send it again when it is no longer being written"

	// Changed during the transfer.
	items := fileItems(t, name)
	items[0].Entry.Path = "photos/a.jpg"
	items[0].Open = func() (io.ReadCloser, error) {
		f, err := os.Open(name)
		return &changingFile{File: f}, err
	}
	o := transfer(t, items, SendOptions{}, ReceiveOptions{Dir: dst})
	wantError(t, "send", o.sendErr, CodeChanged, false, msg)
	wantError(t, "recv", o.recvErr, CodeChanged, true, `"photos/a.jpg" changed on the sending side while it was being sent`)
	if _, err := os.Stat(filepath.Join(dst, "photos/a.jpg")); err == nil {
		t.Error("the changed file was saved")
	}

	// Changed between FileItems and Send.
	items = fileItems(t, name)
	writeFile(t, name, []byte("shorter"))
	o = transfer(t, items, SendOptions{}, ReceiveOptions{Dir: t.TempDir()})
	wantError(t, "send", o.sendErr, CodeChanged, false, "a.jpg changed while it was being sent; send it again when it is no longer being written")
}

// slowReader yields a little data at a time, forever.
type slowReader struct{}

func (slowReader) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return copy(p, "0123456789"), nil
}

func TestCancelSender(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	o := transferCtx(t, ctx, context.Background(), []Item{StreamItem("s", slowReader{})}, SendOptions{},
		ReceiveOptions{Stdout: &out, OnEvent: func(ev Event) {
			if ev.Type == EventFileStart {
				time.AfterFunc(50*time.Millisecond, cancel)
			}
		}})
	wantError(t, "send", o.sendErr, CodeCancelled, false, "transfer cancelled")
	if !errors.Is(o.sendErr, context.Canceled) {
		t.Errorf("the sender's error does not wrap context.Canceled: %v", o.sendErr)
	}
	wantError(t, "recv", o.recvErr, CodeCancelled, true, "the peer cancelled the transfer")
	if o.recvErr.Error() != "peer: the peer cancelled the transfer" {
		t.Errorf("Error() = %q", o.recvErr)
	}
}

// cancelAfter cancels a context once more than n bytes were read.
type cancelAfter struct {
	Conn
	n      int
	cancel func()
}

func (c *cancelAfter) ReadMsg(p []byte) (int, error) {
	n, err := c.Conn.ReadMsg(p)
	if c.n -= n; c.n < 0 {
		c.cancel()
		time.Sleep(20 * time.Millisecond) // let the watcher send X and close the connection
	}
	return n, err
}

// blockingWriter blocks every Write until release is closed.
type blockingWriter struct{ release chan struct{} }

func (w blockingWriter) Write(p []byte) (int, error) {
	<-w.release
	return len(p), nil
}

func TestCancelReceiver(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(src, "big"), randomBytes(20<<20, 8))
	ctx, cancel := context.WithCancel(context.Background())
	a, b := Pipe()
	var o outcome
	done := make(chan struct{})
	go func() {
		o.recvRes, o.recvErr = Receive(ctx, &cancelAfter{Conn: b, n: 1 << 20, cancel: cancel}, ReceiveOptions{Dir: dst})
		close(done)
	}()
	o.sendRes, o.sendErr = Send(context.Background(), a, fileItems(t, filepath.Join(src, "big")), SendOptions{})
	<-done
	wantError(t, "recv", o.recvErr, CodeCancelled, false, "transfer cancelled")
	if !errors.Is(o.recvErr, context.Canceled) {
		t.Errorf("the receiver's error does not wrap context.Canceled: %v", o.recvErr)
	}
	wantError(t, "send", o.sendErr, CodeCancelled, true, "the peer cancelled the transfer")
	// The partial file is kept for a resume.
	if fi, err := os.Stat(filepath.Join(dst, "big"+partSuffix)); err != nil || fi.Size() == 0 {
		t.Errorf("partial file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "big")); err == nil {
		t.Error("the final file exists")
	}

	// Cancelled while blocked writing to standard output.
	ctx, cancel = context.WithCancel(context.Background())
	w := blockingWriter{make(chan struct{})}
	time.AfterFunc(100*time.Millisecond, func() { cancel(); time.Sleep(50 * time.Millisecond); close(w.release) })
	o = transferCtx(t, context.Background(), ctx, fileItems(t, filepath.Join(src, "big")), SendOptions{},
		ReceiveOptions{Stdout: w})
	wantError(t, "recv", o.recvErr, CodeCancelled, false, "transfer cancelled")
	wantError(t, "send", o.sendErr, CodeCancelled, true, "the peer cancelled the transfer")
}

func TestCancelWhileConfirming(t *testing.T) {
	src := t.TempDir()
	writeFile(t, filepath.Join(src, "a"), []byte("a"))
	sctx, cancel := context.WithCancel(context.Background())
	confirmErr := make(chan error, 1)
	o := transferCtx(t, sctx, context.Background(), fileItems(t, filepath.Join(src, "a")), SendOptions{},
		ReceiveOptions{Dir: t.TempDir(), Confirm: func(ctx context.Context, _ []Entry) error {
			cancel() // the sender gives up while we ask the user
			<-ctx.Done()
			confirmErr <- ctx.Err()
			return ctx.Err()
		}})
	wantError(t, "send", o.sendErr, CodeCancelled, false, "transfer cancelled")
	wantError(t, "recv", o.recvErr, CodeCancelled, true, "the peer cancelled the transfer")
	if err := <-confirmErr; !errors.Is(err, context.Canceled) {
		t.Errorf("Confirm's context: %v", err)
	}
}

func TestCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := transferCtx(t, ctx, context.Background(), nil, SendOptions{}, ReceiveOptions{Dir: t.TempDir()})
	wantError(t, "send", o.sendErr, CodeCancelled, false, "transfer cancelled")
	wantError(t, "recv", o.recvErr, CodeCancelled, true, "the peer cancelled the transfer")
}

func TestProgressThrottled(t *testing.T) {
	var ev events
	start := time.Now()
	o := transfer(t, []Item{StreamItem("s", io.LimitReader(slowReader{}, 20_000))}, SendOptions{OnEvent: ev.add},
		ReceiveOptions{Stdout: io.Discard})
	o.mustSucceed(t)
	elapsed := time.Since(start)
	n := len(ev.of(EventProgress))
	if max := int(elapsed/progressInterval) + 2; n > max {
		t.Errorf("%d progress events in %v (at most %d expected)", n, elapsed, max)
	}
	if n == 0 {
		t.Errorf("no progress event in %v", elapsed)
	}
}

func TestSendRefusesBadItems(t *testing.T) {
	items := []Item{TextItem("a"), TextItem("b")}
	o := transfer(t, items, SendOptions{}, ReceiveOptions{Dir: t.TempDir()})
	wantError(t, "send", o.sendErr, CodeUnsafePath, false, `cannot send two entries named "message.txt"; send them separately or rename one`)
	wantError(t, "recv", o.recvErr, CodeUnsafePath, true, "")

	it := TextItem("x")
	it.Entry.Path = "../x"
	o = transfer(t, []Item{it}, SendOptions{}, ReceiveOptions{Dir: t.TempDir()})
	wantError(t, "send", o.sendErr, CodeUnsafePath, false, `cannot send "../x": the receiver would refuse its name: unsafe path "../x": it contains a ".." component`)
}

// TestResumeSourceChanged: the source file was replaced between the broken run and the re-run;
// the kept prefix no longer matches, so the file restarts from zero and ends up correct.
func TestResumeSourceChanged(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	old := randomBytes(1<<20, 7)
	changed := randomBytes(1<<20, 8)
	writeFile(t, filepath.Join(src, "a.bin"), changed)
	writeFile(t, filepath.Join(dst, "a.bin"+partSuffix), old[:600_000])
	o := transfer(t, fileItems(t, filepath.Join(src, "a.bin")), SendOptions{}, ReceiveOptions{Dir: dst})
	o.mustSucceed(t)
	if got, _ := os.ReadFile(filepath.Join(dst, "a.bin")); !bytes.Equal(got, changed) {
		t.Fatal("a.bin is not the changed source")
	}
	if o.recvRes.Resumed != 0 || o.sendRes.Sent != int64(len(changed)) {
		t.Errorf("resumed %d, sent %d; want a restart from zero", o.recvRes.Resumed, o.sendRes.Sent)
	}
}
