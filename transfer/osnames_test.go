package transfer

import (
	"testing"
)

// TestOSNames: what each system's file names cannot hold, tested on every system.
func TestOSNames(t *testing.T) {
	for _, c := range []struct {
		path, goos, want string
	}{
		{"notes 12:30.txt", "linux", ""},
		{"notes 12:30.txt", "darwin", ""},
		{"notes 12:30.txt", "windows", `it contains ':', which Windows file names cannot hold`},
		{"what?.txt", "windows", `it contains '?', which Windows file names cannot hold`},
		{"a<b>.txt", "windows", `it contains '<', which Windows file names cannot hold`},
		{`say "hi".txt`, "windows", `it contains '"', which Windows file names cannot hold`},
		{"pipe|.txt", "windows", `it contains '|', which Windows file names cannot hold`},
		{"star*.txt", "windows", `it contains '*', which Windows file names cannot hold`},
		{"dir./a.txt", "windows", "a name ends in a dot or a space, which Windows drops (it would be another name)"},
		{"dir/a.txt ", "windows", "a name ends in a dot or a space, which Windows drops (it would be another name)"},
		{"dir./a.txt", "freebsd", ""},
		{".hidden/..ok", "windows", ""},
		{"ordinary/name.txt", "windows", ""},
	} {
		if got := osNameProblem(c.path, c.goos); got != c.want {
			t.Errorf("%s on %s: %q, want %q", c.path, c.goos, got, c.want)
		}
	}
	for goos, want := range map[string]bool{"windows": true, "darwin": true, "linux": false, "freebsd": false} {
		if caseInsensitive(goos) != want {
			t.Errorf("caseInsensitive(%s) = %v", goos, !want)
		}
	}
}

// TestReceiverOSNames: a receiver on Windows refuses names Windows cannot hold, and on Windows
// and macOS two entries that differ only in case (they would be one file there), before
// anything is written; on Linux both transfers are fine.
func TestReceiverOSNames(t *testing.T) {
	for _, c := range []struct {
		goos    string
		entries []wireEntry
		msg     string
	}{
		{"windows", []wireEntry{file("report 12:30.txt", 1)},
			`refusing the transfer: cannot save "report 12:30.txt" here: it contains ':', which Windows file names cannot hold`},
		{"windows", []wireEntry{file("A.txt", 1), file("a.txt", 1)},
			`refusing the transfer: "A.txt" and "a.txt" differ only in case, and file names here do not; rename one on the sending side`},
		{"darwin", []wireEntry{file("Photos/IMG.JPG", 1), file("photos/img.jpg", 1)},
			`refusing the transfer: "Photos/IMG.JPG" and "photos/img.jpg" differ only in case, and file names here do not; rename one on the sending side`},
		{"linux", []wireEntry{file("A.txt", 1), file("a.txt", 1), file("report 12:30.txt", 1)}, ""},
	} {
		x, dst, err := hostileIn(t, ReceiveOptions{goos: c.goos}, nil, func(p *rawPeer) {
			p.hello()
			p.manifest(c.entries...)
			if c.msg == "" {
				p.accept()
				p.c.Close()
			}
		})
		if c.msg == "" {
			if x != nil && x.Code == CodeUnsafePath {
				t.Errorf("%s: refused: %+v", c.goos, x)
			}
			continue
		}
		wantError(t, c.goos, err, CodeUnsafePath, false, c.msg)
		if x == nil || x.Code != CodeUnsafePath {
			t.Errorf("%s: X %+v", c.goos, x)
		}
		if got := tree(t, dst); len(got) != 0 {
			t.Errorf("%s: written: %q", c.goos, got)
		}
	}
}

// TestNamesNFC: a decomposed name (as macOS may read it) is saved under its composed (NFC)
// form, so that the next run's name finds the partial file; the two forms of one name in one
// manifest are one name.
func TestNamesNFC(t *testing.T) {
	const nfd, nfc = "cafe\u0301.txt", "caf\u00e9.txt"
	_, dst, err := hostileIn(t, ReceiveOptions{}, nil, func(p *rawPeer) {
		p.hello()
		p.manifest(file(nfd, 2))
		p.accept()
		p.sendFile(0, "hi")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dst); len(got) != 1 || got[0] != nfc+"=hi" {
		t.Errorf("saved %q, want %q", got, nfc+"=hi")
	}
	_, _, err = hostileIn(t, ReceiveOptions{}, nil, func(p *rawPeer) {
		p.hello()
		p.manifest(file(nfd, 2), file(nfc, 2))
	})
	wantError(t, "recv", err, CodeProtocol, false, `the peer's list of files contains "café.txt" twice`)

	// The sender puts names on the wire composed.
	src := t.TempDir()
	writeFile(t, src+"/"+nfd, []byte("hi"))
	items := fileItems(t, src+"/"+nfd)
	entries, err := checkItems(items)
	if err != nil || entries[0].Path != nfc {
		t.Errorf("sender's entry %q, %v; want %q", entries[0].Path, err, nfc)
	}
}
