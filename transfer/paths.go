package transfer

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	maxComponentBytes = 255
	maxPathBytes      = 4096

	// partSuffix is appended to a file's name while it is being received.
	partSuffix = ".p2pcopy-part"
)

// SanitizePath checks a path received from the peer (PROTOCOL.md §2.4) and returns it
// with the separators of the local operating system, ready to be used inside an
// [os.Root]. It refuses a path that is empty, absolute, not valid UTF-8, or that contains
// an empty, "." or ".." component, a backslash, a NUL, control or bidirectional-override
// character, a drive letter ("C:"), a Windows reserved name ("CON", "nul.txt", "COM1"…),
// a component over 255 bytes, or that is longer than 4096 bytes.
//
// The error describes the first problem found, e.g. `unsafe path "../x": it contains a
// ".." component`.
func SanitizePath(p string) (string, error) {
	if reason := pathProblem(p); reason != "" {
		return "", fmt.Errorf("unsafe path %s: %s", quote(p), reason)
	}
	return filepath.FromSlash(p), nil
}

// pathProblem returns why p is unsafe, or "" if it is fine.
func pathProblem(p string) string {
	switch {
	case p == "":
		return "it is empty"
	case len(p) > maxPathBytes:
		return fmt.Sprintf("it is longer than %d bytes", maxPathBytes)
	case !utf8.ValidString(p):
		return "it is not valid UTF-8"
	case p[0] == '/':
		return "it is absolute"
	}
	for _, r := range p {
		switch {
		case r == 0:
			return "it contains a NUL character"
		case r == '\\':
			return "it contains a backslash"
		case unicode.IsControl(r):
			return "it contains a control character"
		case isBidiControl(r):
			return "it contains a bidirectional text override"
		case isInvisible(r):
			return fmt.Sprintf("it contains the invisible character U+%04X", r)
		}
	}
	for c := range strings.SplitSeq(p, "/") {
		switch {
		case c == "":
			return "it contains an empty component"
		case c == ".":
			return `it contains a "." component`
		case c == "..":
			return `it contains a ".." component`
		case len(c) > maxComponentBytes:
			return fmt.Sprintf("a component is longer than %d bytes", maxComponentBytes)
		case hasDriveLetter(c):
			return "it contains a drive letter"
		case isReservedName(c):
			return "it contains a name reserved on Windows"
		}
	}
	return ""
}

func hasDriveLetter(c string) bool {
	return len(c) >= 2 && c[1] == ':' && ('a' <= c[0]|0x20 && c[0]|0x20 <= 'z')
}

// isReservedName reports whether c names a Windows device. Like Windows (and Go's
// filepath.IsLocal), it ignores an extension, trailing spaces and dots: "nul.txt" and
// "CON " are reserved too.
func isReservedName(c string) bool {
	base := c
	if i := strings.IndexAny(base, ".:"); i >= 0 {
		base = base[:i]
	}
	base = strings.TrimRight(base, " ")
	switch len(base) {
	case 3:
		switch strings.ToUpper(base) {
		case "CON", "PRN", "AUX", "NUL":
			return true
		}
	case 4, 5: // COM1, LPT9, and COM¹ (the superscript is two bytes in UTF-8)
		u := strings.ToUpper(base[:3])
		if u != "COM" && u != "LPT" {
			return false
		}
		switch base[3:] {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	case 6, 7:
		switch strings.ToUpper(base) {
		case "CONIN$", "CONOUT$":
			return true
		}
	}
	return false
}

// isInvisible reports format characters (category Cf) and line or paragraph separators, which
// show as nothing and can make a name look like another one. The zero-width joiner and
// non-joiner stay allowed: Persian and Indic names and emoji sequences need them, and they
// neither hide nor reorder anything.
func isInvisible(r rune) bool {
	if r == '\u200c' || r == '\u200d' {
		return false
	}
	return unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}
