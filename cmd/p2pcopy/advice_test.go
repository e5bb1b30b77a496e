package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/p2pcopy/p2pcopy/signal/netcheck"
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
		{&transfer.Error{Code: transfer.CodeIO, Message: "connection to peer lost while receiving a.txt, 3 bytes of 10 bytes received (the peer closed the connection); the partial file is kept as a.txt.p2pcopy-part", Fix: transfer.FixRunAgain},
			"connection to peer lost while receiving a.txt, 3 bytes of 10 bytes received (the peer closed the connection); the partial file is kept as a.txt.p2pcopy-part; run both commands again to resume"},
		{&transfer.Error{Code: transfer.CodeIO, Message: "connection to peer lost while sending stdin, 1.0 MB sent (the peer closed the connection)", Fix: transfer.FixRunAgainFromStart},
			"connection to peer lost while sending stdin, 1.0 MB sent (the peer closed the connection); run both commands again to send it again from the start (a stream cannot resume)"},
		{&transfer.Error{Code: transfer.CodeIO, Message: "connection to peer lost before the receiver confirmed that everything arrived (the peer closed the connection); they may all have arrived (check on the receiving side)", Fix: transfer.FixRunAgainIfMissing},
			"connection to peer lost before the receiver confirmed that everything arrived (the peer closed the connection); they may all have arrived (check on the receiving side); otherwise run both commands again to resume"},
		{&transfer.Error{Code: transfer.CodeDiskFull, Message: "disk full while writing big.bin (4.2 MB of 10.5 MB written); the partial file is kept as big.bin.p2pcopy-part", Fix: transfer.FixFreeSpaceRunAgain},
			"disk full while writing big.bin (4.2 MB of 10.5 MB written); the partial file is kept as big.bin.p2pcopy-part; free up space and run both commands again to resume"},
		{&transfer.Error{Code: transfer.CodeProtocol, Message: "your peer is also sending", Fix: transfer.FixOppositeRoles},
			`your peer is also sending; one side must run "p2pcopy send" and the other "p2pcopy receive"`},
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

// TestEveryFixWorded: each transfer.Fix has CLI wording, so a Fix added to the library
// without it fails here instead of reaching the user as a bare message.
func TestEveryFixWorded(t *testing.T) {
	n := 0
	for f := transfer.FixNone + 1; !strings.HasPrefix(f.String(), "Fix("); f++ {
		if fixHint(f) == "" {
			t.Errorf("%v has no wording in fixHint", f)
		}
		n++
	}
	if n < 9 {
		t.Errorf("only %d Fix values found: Fix.String must name every value", n)
	}
}

// TestEveryVerdictWorded: each of netcheck's verdict codes has its sentence with the flags that
// help, and the codes themselves never reach a person.
func TestEveryVerdictWorded(t *testing.T) {
	for v, flag := range map[netcheck.Verdict]string{
		netcheck.VerdictBlocked:   "--turn",
		netcheck.VerdictPublic:    "public address",
		netcheck.VerdictEIM:       "--turn",
		netcheck.VerdictSymmetric: "--turn",
		netcheck.VerdictUnknown:   "--stun",
	} {
		if got := verdictAdvice(v); got == string(v) || !strings.Contains(got, flag) {
			t.Errorf("verdict %q is worded %q, want a sentence with %q", v, got, flag)
		}
	}
}
