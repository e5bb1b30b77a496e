//go:build linux || darwin || freebsd

package transfer

import (
	"errors"

	"golang.org/x/sys/unix"
)

// diskFree returns the bytes available to an unprivileged user in dir.
func diskFree(dir string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return -1, err
	}
	return int64(uint64(st.Bavail) * uint64(st.Bsize)), nil
}

func isDiskFull(err error) bool {
	return errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT)
}
