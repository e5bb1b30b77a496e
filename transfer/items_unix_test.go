//go:build linux || darwin || freebsd

package transfer

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

func TestFileItems(t *testing.T) {
	parent := t.TempDir()
	src := filepath.Join(parent, "photos")
	writeFile(t, filepath.Join(src, "b.jpg"), []byte("bb"))
	writeFile(t, filepath.Join(src, "a.jpg"), []byte("a"))
	writeFile(t, filepath.Join(src, "sub/c.jpg"), []byte("ccc"))
	writeFile(t, filepath.Join(src, "old.jpg.p2pcopy-part"), []byte("x"))
	writeFile(t, filepath.Join(src, "back\\slash"), []byte("x"))
	writeFile(t, filepath.Join(src, "aux.c"), []byte("x"))
	os.Symlink("a.jpg", filepath.Join(src, "link"))
	os.Symlink("/etc", filepath.Join(src, "sub/etc"))
	fifo := syscall.Mkfifo(filepath.Join(src, "fifo"), 0o644) == nil

	items, warnings, err := FileItems(src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range items {
		e := it.Entry
		got = append(got, fmt.Sprintf("%s %s %d %o", e.Path, e.Kind, e.Size, e.Mode))
		if (e.Kind == KindDir) != (it.Open == nil) {
			t.Errorf("%s: Open is nil: %v", e.Path, it.Open == nil)
		}
	}
	want := []string{"photos dir 0 755", "photos/a.jpg file 1 644", "photos/b.jpg file 2 644", "photos/sub dir 0 755", "photos/sub/c.jpg file 3 644"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("items\n got %q\nwant %q", got, want)
	}
	wantWarnings := []string{
		`skipping "photos/aux.c": the receiver would refuse its name (it contains a name reserved on Windows)`,
		`skipping "photos/back\\slash": the receiver would refuse its name (it contains a backslash)`,
	}
	if fifo {
		wantWarnings = append(wantWarnings, "skipping special file photos/fifo")
	}
	wantWarnings = append(wantWarnings, "skipping symlink photos/link", "skipping partial file photos/old.jpg.p2pcopy-part", "skipping symlink photos/sub/etc")
	if fmt.Sprint(warnings) != fmt.Sprint(wantWarnings) {
		t.Errorf("warnings\n got %q\nwant %q", warnings, wantWarnings)
	}

	// A file given directly; a symlink given directly is followed.
	os.Symlink(filepath.Join(src, "b.jpg"), filepath.Join(parent, "shortcut"))
	for _, p := range []string{filepath.Join(src, "b.jpg"), filepath.Join(parent, "shortcut")} {
		items, warnings, err := FileItems(p)
		if err != nil || len(warnings) != 0 || len(items) != 1 || items[0].Entry.Kind != KindFile || items[0].Entry.Size != 2 {
			t.Fatalf("FileItems(%s) = %+v, %q, %v", p, items, warnings, err)
		}
		r, _ := items[0].Open()
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != "bb" {
			t.Errorf("content %q", b)
		}
	}

	missing := filepath.Join(parent, "missing.jpg")
	if _, _, err := FileItems(missing); err == nil || err.Error() != "cannot read "+missing+": no such file or directory" {
		t.Errorf("missing file: %v", err)
	}
	if _, _, err := FileItems("/"); err == nil {
		t.Error("FileItems(/) succeeded")
	}
}

// TestFileItemsPermission: an unreadable file is reported before connecting. Root reads
// everything, so as root the check re-runs itself as user nobody.
func TestFileItemsPermission(t *testing.T) {
	if dir := os.Getenv("P2PCOPY_TEST_PERMISSION_DIR"); dir != "" {
		checkUnreadable(t, dir)
		return
	}
	src := filepath.Join(t.TempDir(), "photos")
	writeFile(t, filepath.Join(src, "x.jpg"), []byte("x"))
	if err := os.Chmod(filepath.Join(src, "x.jpg"), 0); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		checkUnreadable(t, src)
		return
	}
	for d := src; d != "/"; d = filepath.Dir(d) { // let nobody reach the directory
		if d == os.TempDir() {
			break
		}
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The test binary sits in a directory only root may enter: run a copy.
	self, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(filepath.Dir(src), "transfer.test")
	if err := os.WriteFile(exe, self, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^TestFileItemsPermission$", "-test.count=1")
	cmd.Env = append(os.Environ(), "P2PCOPY_TEST_PERMISSION_DIR="+src)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}

func checkUnreadable(t *testing.T, src string) {
	t.Helper()
	_, _, err := FileItems(src)
	if want := "cannot read " + filepath.Join(src, "x.jpg") + ": permission denied"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestWriteErrorMessages(t *testing.T) {
	r := &receiver{opts: ReceiveOptions{Dir: "/data"}}
	p := &planned{Entry: Entry{Path: "vm/disk.img", Kind: KindFile, Size: 17_200_000_000}, part: filepath.FromSlash("vm/disk.img" + partSuffix)}
	c := &incoming{p: p, written: 3_100_000_000}
	err := r.writeError(c, &os.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC})
	wantError(t, "ENOSPC", err, CodeDiskFull, false, "disk full while writing vm/disk.img (3.1 GB of 17.2 GB written); "+
		"the partial file is kept as vm/disk.img.p2pcopy-part")
	wantFix(t, "ENOSPC", err, FixFreeSpaceRunAgain)
	err = r.mkdirError(p, &os.PathError{Op: "mkdir", Path: "x", Err: syscall.ENOSPC})
	wantError(t, "mkdir ENOSPC", err, CodeDiskFull, false, "disk full while creating the directory vm/disk.img in /data")
	wantFix(t, "mkdir ENOSPC", err, FixFreeSpaceRunAgain)
	err = r.writeError(c, &os.PathError{Op: "write", Path: "x", Err: syscall.EIO})
	wantError(t, "EIO", err, CodeIO, false, "cannot write vm/disk.img in /data: input/output error")
	wantFix(t, "EIO", err, FixNone)
	p.target = toStdout
	err = r.writeError(c, &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE})
	wantError(t, "EPIPE", err, CodeIO, false, "cannot write vm/disk.img to standard output: broken pipe")
}
