package transfer

import "io/fs"

// processUmask is 0 on Windows, where Chmod only sets or clears the read-only attribute.
func processUmask() fs.FileMode { return 0 }
