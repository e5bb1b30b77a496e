//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestDistReproducible: make dist's script gives byte-identical archives when run twice, and the
// binary in an archive says the version and commit it was built with.
func TestDistReproducible(t *testing.T) {
	if _, err := exec.LookPath("zip"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("make dist needs zip: apt-get install zip")
		}
		t.Skip("skipping: make dist needs zip")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	run := func(dir string) string {
		cmd := exec.Command(filepath.Join(root, "scripts/dist.sh"), "v9.9.9")
		cmd.Env = append(os.Environ(), "TARGETS=linux/amd64 windows/amd64", "DIST_DIR="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("dist.sh: %v\n%s", err, out)
		}
		sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
		if err != nil {
			t.Fatal(err)
		}
		return string(sums)
	}
	a, b := t.TempDir(), t.TempDir()
	first, second := run(a), run(b)
	if first != second {
		t.Errorf("two builds of one commit differ:\n%s\n%s", first, second)
	}
	for _, name := range []string{"p2pcopy_v9.9.9_linux_amd64.tar.gz", "p2pcopy_v9.9.9_windows_amd64.zip"} {
		if !strings.Contains(first, "  "+name+"\n") {
			t.Errorf("SHA256SUMS lacks %s:\n%s", name, first)
		}
	}
	x := t.TempDir()
	if out, err := exec.Command("tar", "-xzf", filepath.Join(a, "p2pcopy_v9.9.9_linux_amd64.tar.gz"), "-C", x).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(x, "p2pcopy_v9.9.9_linux_amd64", "p2pcopy"), "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "p2pcopy v9.9.9 (commit ") {
		t.Errorf("p2pcopy version from the archive: %v\n%s", err, out)
	}
}
