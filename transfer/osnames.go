package transfer

import (
	"fmt"
	"runtime"
	"strings"
)

// Names that only some systems cannot hold. SanitizePath refuses what is unsafe everywhere
// (reserved device names and drive letters included, so that a tree received on Linux can be
// copied on to Windows); these rules refuse, on the systems concerned, what would be renamed or
// merged there. They take the system as a parameter so that every system's rules are tested on
// every system.

// osNameProblem returns why the file system of goos cannot hold path ('/'-separated, already
// through SanitizePath), or "".
func osNameProblem(path, goos string) string {
	if goos != "windows" {
		return ""
	}
	for _, c := range strings.Split(path, "/") {
		if i := strings.IndexAny(c, `<>:"|?*`); i >= 0 {
			return fmt.Sprintf("it contains %q, which Windows file names cannot hold", c[i])
		}
		if strings.HasSuffix(c, ".") || strings.HasSuffix(c, " ") {
			return "a name ends in a dot or a space, which Windows drops (it would be another name)"
		}
	}
	return ""
}

// caseInsensitive reports whether the usual file system of goos treats names that differ only
// in case as one name (NTFS; APFS and HFS+ as macOS formats them by default).
func caseInsensitive(goos string) bool { return goos == "windows" || goos == "darwin" }

// foldName is the key under which a case-insensitive file system finds path.
func foldName(path string) string { return strings.ToLower(path) }

// receiverOS is the system whose file-name rules a receiver applies: the one it runs on, or
// the one a test names.
func receiverOS(test string) string {
	if test != "" {
		return test
	}
	return runtime.GOOS
}
