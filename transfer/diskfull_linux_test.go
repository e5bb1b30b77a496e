//go:build linux

package transfer

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
)

// mountTmpfs mounts a tmpfs of the given size (e.g. "4m") on a new directory and
// unmounts it when the test ends, whatever happens. It needs root.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "p2pcopytest", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount -t tmpfs: %v\n%s", err, out)
	}
	// Registered after t.TempDir, so it runs before the directory is removed.
	t.Cleanup(func() {
		out, err := exec.Command("umount", dir).CombinedOutput()
		if err == nil {
			return
		}
		// Something still holds it open: detach it rather than leave it mounted.
		if out2, err2 := exec.Command("umount", "-l", dir).CombinedOutput(); err2 != nil {
			t.Errorf("umount %s: %v\n%s\numount -l: %v\n%s", dir, err, out, err2, out2)
		}
	})
	return dir
}

// TestDiskFull fills a real (tmpfs) file system: the up-front check refuses a file that
// cannot fit; if the check is fooled, ENOSPC while writing keeps the partial file; once
// there is space again, the same transfer resumes from it.
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root in CI")
		}
		t.Skip("skipping: needs root to mount a small tmpfs (CI runs it as root)")
	}
	dir := mountTmpfs(t, "4m")
	src := t.TempDir()
	data := randomBytes(10<<20, 21)
	writeFile(t, filepath.Join(src, "big.bin"), data)
	items := fileItems(t, filepath.Join(src, "big.bin"))
	part := filepath.Join(dir, "big.bin"+partSuffix)

	// a. The free-space check refuses it; nothing is written.
	o := transfer(t, items, SendOptions{}, ReceiveOptions{Dir: dir})
	msg := "not enough free space in " + dir + ": need 10.5 MB, 4.2 MB free"
	wantError(t, "recv", o.recvErr, CodeDiskFull, false, msg)
	wantFix(t, "recv", o.recvErr, FixFreeSpace)
	wantError(t, "send", o.sendErr, CodeDiskFull, true, "the receiving side has not enough free space: the transfer needs 10.5 MB")
	if got := tree(t, dir); len(got) != 0 {
		t.Fatalf("written after the free-space check refused: %q", got)
	}

	// b. A free-space check that claims plenty of room: the write hits ENOSPC.
	plenty := func(string) (int64, error) { return 1 << 40, nil }
	o = transfer(t, items, SendOptions{}, ReceiveOptions{Dir: dir, FreeSpace: plenty})
	full := regexp.MustCompile(`^disk full while writing big\.bin \([0-9.]+ (bytes|kB|MB) of 10\.5 MB written\); ` +
		`the partial file is kept as big\.bin\.p2pcopy-part$`)
	var re, se *Error
	if !errors.As(o.recvErr, &re) || re.Code != CodeDiskFull || re.Remote || !full.MatchString(re.Message) {
		t.Fatalf("recv: %#v", o.recvErr)
	}
	wantFix(t, "recv", o.recvErr, FixFreeSpaceRunAgain)
	if !errors.Is(o.recvErr, syscall.ENOSPC) {
		t.Errorf("recv: %v does not wrap ENOSPC", o.recvErr)
	}
	sent := regexp.MustCompile(`^the receiving side ran out of disk space while writing "big\.bin" \([0-9.]+ (bytes|kB|MB) of 10\.5 MB written\); what arrived is kept for resuming$`)
	if !errors.As(o.sendErr, &se) || se.Code != CodeDiskFull || !se.Remote || !sent.MatchString(se.Message) {
		t.Fatalf("send: %#v, want a remote %q error matching %s", o.sendErr, CodeDiskFull, sent)
	}
	kept, err := os.ReadFile(part)
	if err != nil || len(kept) == 0 || !bytes.Equal(kept, data[:len(kept)]) {
		t.Fatalf("partial file: %d bytes, %v", len(kept), err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "big.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("big.bin: %v", err)
	}
	t.Logf("%s; %d bytes kept", re.Message, len(kept))

	// c. Space was freed: the same transfer resumes from the partial file.
	if out, err := exec.Command("mount", "-o", "remount,size=64m", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount: %v\n%s", err, out)
	}
	o = transfer(t, items, SendOptions{}, ReceiveOptions{Dir: dir})
	o.mustSucceed(t)
	if o.recvRes.Resumed != int64(len(kept)) || o.sendRes.Resumed != int64(len(kept)) {
		t.Errorf("Resumed = %d/%d, want %d", o.sendRes.Resumed, o.recvRes.Resumed, len(kept))
	}
	if got, err := os.ReadFile(filepath.Join(dir, "big.bin")); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("big.bin differs (%v)", err)
	}
	if _, err := os.Lstat(part); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial file left behind: %v", err)
	}
}
