package transfer

import (
	"bufio"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// processUmask returns the process's file mode creation mask. Linux shows it in
// /proc/self/status (since 4.7), which reads it without changing it; umask(2) can only
// be read by setting it, which would race with every other goroutine creating files.
func processUmask() fs.FileMode {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return umaskFallback()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return fs.FileMode(m) & fs.ModePerm
			}
		}
	}
	return umaskFallback()
}
