package main

import (
	"errors"
	"testing"

	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/p2pcopy/p2pcopy/transfer"
)

// TestAdvice: the library says what happened; the CLI adds what its user can do, in its own
// flags, for this side's failures and for the peer's refusals (which the peer words without
// flags: it may be a browser).
func TestAdvice(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{&transfer.Error{Code: transfer.CodeExists, Message: "a.txt already exists in /tmp/x", Fix: transfer.FixReplaceOrElsewhere},
			"a.txt already exists in /tmp/x; use --overwrite to replace, or -o to choose another directory"},
		{&transfer.Error{Code: transfer.CodeExists, Message: "d already exists in /tmp/x and is not a directory", Fix: transfer.FixMoveOrElsewhere},
			"d already exists in /tmp/x and is not a directory; move it away, or use -o to choose another directory"},
		{&transfer.Error{Code: transfer.CodeDiskFull, Message: "not enough free space in /tmp/x: need 2 GB, 1 GB free", Fix: transfer.FixFreeSpace},
			"not enough free space in /tmp/x: need 2 GB, 1 GB free; free up space, or use -o to choose another directory"},
		{&transfer.Error{Code: transfer.CodeRejected, Message: "the peer sends 2 files, but standard output takes a single file", Fix: transfer.FixOneOutput},
			"the peer sends 2 files, but standard output takes a single file; -o - writes a single file to standard output: choose a directory with -o instead"},
		{&transfer.Error{Code: transfer.CodeExists, Remote: true, Message: `"a.txt" already exists on the receiving side, which did not allow replacing it`},
			`peer: "a.txt" already exists on the receiving side, which did not allow replacing it; ask your peer to move it away or to save into another folder (p2pcopy receive -o DIR), or to allow replacing it (--overwrite)`},
		{&transfer.Error{Code: transfer.CodeDiskFull, Remote: true, Message: "the receiving side ran out of disk space"},
			"peer: the receiving side ran out of disk space; ask your peer to free up space or to save elsewhere, then run both commands again to resume"},
		{&transfer.Error{Code: transfer.CodeVerify, Message: "a.txt failed verification"}, "a.txt failed verification"},
		{errors.New("plain"), "plain"},
		{&signal.ConnectError{What: "the connection attempt failed", Tried: "tried …"},
			"could not connect to your peer: the connection attempt failed (tried …). On the same network, check that no firewall blocks UDP; " +
				"across the internet, both sides may be behind strict NATs: run both commands again with --turn turn:USER:PASS@HOST:PORT on either side"},
		{&signal.ConnectError{What: "the connection attempt failed", Tried: "tried …", Cause: "Both sides are behind NATs that change ports per destination (symmetric), so no direct path exists"},
			"could not connect to your peer: the connection attempt failed (tried …). Both sides are behind NATs that change ports per destination (symmetric), " +
				"so no direct path exists: run both commands again with --turn turn:USER:PASS@HOST:PORT on either side"},
	} {
		if got := advice(c.err); got != c.want {
			t.Errorf("advice(%v):\n got %s\nwant %s", c.err, got, c.want)
		}
	}
}
