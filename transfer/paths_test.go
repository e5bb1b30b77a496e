package transfer

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSanitizePath(t *testing.T) {
	long := strings.Repeat("a", 256)
	ok := []string{
		"a", "a.txt", "dir/a.txt", "Ünïcødé/日本語.txt", "a b/c d", ".hidden", "a..b", "...",
		"CONSOLE", "COM10", "LPT", "xy:z", "12:30 notes.txt", "a/b/c/d/e/f",
		strings.Repeat("a", 255), strings.Repeat("a/", 2047) + "a",
	}
	for _, p := range ok {
		got, err := SanitizePath(p)
		if err != nil {
			t.Errorf("SanitizePath(%q): unexpected error %v", p, err)
		} else if got != filepath.FromSlash(p) {
			t.Errorf("SanitizePath(%q) = %q", p, got)
		}
	}
	bad := []struct{ path, reason string }{
		{"", "it is empty"},
		{"../x", `it contains a ".." component`},
		{"a/../../x", `it contains a ".." component`},
		{"..", `it contains a ".." component`},
		{"./a", `it contains a "." component`},
		{"a/.", `it contains a "." component`},
		{"/etc/passwd", "it is absolute"},
		{"//server/share", "it is absolute"},
		{"a//b", "it contains an empty component"},
		{"a/", "it contains an empty component"},
		{"C:", "it contains a drive letter"},
		{"C:/Windows", "it contains a drive letter"},
		{"c:x", "it contains a drive letter"},
		{"a/D:b", "it contains a drive letter"},
		{"a\x00b", "it contains a NUL character"},
		{"a\nb", "it contains a control character"},
		{"a\rb", "it contains a control character"},
		{"a\x1b[31mb", "it contains a control character"},
		{"a\x7fb", "it contains a control character"},
		{"a\u0085b", "it contains a control character"},
		{"evil\u202etxt.exe", "it contains a bidirectional text override"},
		{"pay\u200bpal.txt", "it contains the invisible character U+200B"},
		{"\ufeffa.txt", "it contains the invisible character U+FEFF"},
		{"a\u2028b", "it contains the invisible character U+2028"},
		{"tag\U000E0041.txt", "it contains the invisible character U+E0041"},
		{`a\b`, "it contains a backslash"},
		{`..\x`, "it contains a backslash"},
		{"CON", "it contains a name reserved on Windows"},
		{"con", "it contains a name reserved on Windows"},
		{"dir/NUL.txt", "it contains a name reserved on Windows"},
		{"aux.tar.gz", "it contains a name reserved on Windows"},
		{"COM1", "it contains a name reserved on Windows"},
		{"lpt9.log", "it contains a name reserved on Windows"},
		{"COM¹", "it contains a name reserved on Windows"},
		{"PRN ", "it contains a name reserved on Windows"},
		{"CONIN$", "it contains a name reserved on Windows"},
		{long, "a component is longer than 255 bytes"},
		{"d/" + long + "/x", "a component is longer than 255 bytes"},
		{strings.Repeat("a/", 2048) + "a", "it is longer than 4096 bytes"},
		{"\xff\xfe", "it is not valid UTF-8"},
	}
	for _, c := range bad {
		_, err := SanitizePath(c.path)
		if err == nil {
			t.Errorf("SanitizePath(%q) accepted an unsafe path", c.path)
			continue
		}
		want := "unsafe path " + quote(c.path) + ": " + c.reason
		if err.Error() != want {
			t.Errorf("SanitizePath(%q):\n got %s\nwant %s", c.path, err, want)
		}
	}
}

func FuzzSanitizePath(f *testing.F) {
	for _, s := range []string{"a", "a/b", "../x", "C:/x", "con.txt", "a//b", "Ünïcødé/日本語.txt", "a\x00", "COM¹"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := SanitizePath(p)
		if err != nil {
			if got != "" {
				t.Fatalf("error with a non-empty result %q", got)
			}
			return
		}
		// Whatever is accepted must stay inside the directory on every OS.
		if !filepath.IsLocal(got) || !utf8.ValidString(p) || len(p) > 4096 {
			t.Fatalf("accepted %q (%q), which is not local", p, got)
		}
		for c := range strings.SplitSeq(p, "/") {
			if c == "" || c == "." || c == ".." || len(c) > 255 || strings.ContainsAny(c, "\\\x00") || hasDriveLetter(c) || isReservedName(c) {
				t.Fatalf("accepted %q with component %q", p, c)
			}
		}
		for _, r := range p {
			if r < 0x20 || r == 0x7f {
				t.Fatalf("accepted %q with a control character", p)
			}
		}
		if cleaned := filepath.ToSlash(filepath.Clean(got)); cleaned != p {
			t.Fatalf("accepted %q, which is not clean (%q)", p, cleaned)
		}
	})
}

func TestPartName(t *testing.T) {
	if got := partName(filepath.FromSlash("d/a.txt")); got != filepath.FromSlash("d/a.txt.p2pcopy-part") {
		t.Errorf("partName = %q", got)
	}
	long := strings.Repeat("é", 127) // 254 bytes
	p1, p2 := partName(long), partName(long+"x")
	for _, p := range []string{p1, p2} {
		if len(p) > 255 || !strings.HasSuffix(p, partSuffix) || !utf8.ValidString(p) {
			t.Errorf("partName of a long name = %q (%d bytes)", p, len(p))
		}
	}
	if p1 == p2 {
		t.Error("partName is not unique for long names")
	}
}
