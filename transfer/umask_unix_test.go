//go:build unix

package transfer

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestModesMaskedByUmask: modes from the wire are masked by the receiver's umask, as cp and
// tar without -p do: a sender asking for 0777 (or setuid) gets what the user's umask allows.
func TestModesMaskedByUmask(t *testing.T) {
	old := syscall.Umask(0o027)
	defer syscall.Umask(old)
	if got := processUmask(); got != 0o027 {
		t.Fatalf("processUmask() = %o, want 027", got)
	}
	_, dst, err := hostileIn(t, ReceiveOptions{}, nil, func(p *rawPeer) {
		p.hello()
		p.manifest(wireEntry{Path: "d", Kind: KindDir, Mode: 0o777},
			wireEntry{Path: "d/run.sh", Kind: KindFile, Size: 2, Mode: 0o4777})
		p.accept()
		p.sendFile(1, "hi")
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]fs.FileMode{"d": fs.ModeDir | 0o750, "d/run.sh": 0o750} {
		fi, err := os.Stat(filepath.Join(dst, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", name, fi.Mode(), want)
		}
	}
}
