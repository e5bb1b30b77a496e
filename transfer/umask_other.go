//go:build unix && !linux

package transfer

import "io/fs"

// processUmask returns the process's file mode creation mask.
func processUmask() fs.FileMode { return umaskFallback() }
