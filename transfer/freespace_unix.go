//go:build linux || darwin || freebsd

package transfer

import (
	"errors"
	"math"

	"golang.org/x/sys/unix"
)

// diskFree returns the bytes available to an unprivileged user in dir.
func diskFree(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1, err
	}
	// The field types differ by OS: Bavail is uint64 on Linux and macOS but int64 on FreeBSD,
	// where it goes negative once the blocks reserved for root are in use; Bsize is int64 on
	// Linux, uint32 on macOS and uint64 on FreeBSD.
	avail, bsize := int64(st.Bavail), int64(st.Bsize)
	if avail <= 0 || bsize <= 0 {
		return 0, nil
	}
	if avail > math.MaxInt64/bsize {
		return math.MaxInt64, nil
	}
	return avail * bsize, nil
}

func isDiskFull(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT)
}
