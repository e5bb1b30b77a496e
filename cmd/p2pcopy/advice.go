package main

import (
	"errors"
	"fmt"

	"github.com/p2pcopy/p2pcopy/signal"
	"github.com/p2pcopy/p2pcopy/transfer"
)

// advice returns the message for err with what this user can do about it, where the library's
// message says only what happened. The library reports a failure on the peer's side in the
// peer's words (the peer may be a browser, which has no command-line flags), so the hint for
// the person at this side is added here, as age's cmd adds hints to the library's errors.
func advice(err error) string {
	msg := err.Error()
	var ce *signal.ConnectError
	if errors.As(err, &ce) {
		return connectAdvice(ce)
	}
	var te *transfer.Error
	if !errors.As(err, &te) {
		return msg
	}
	if !te.Remote {
		return msg + fixHint(te.Fix)
	}
	switch te.Code {
	case transfer.CodeExists:
		return msg + "; ask your peer to move it away or to save into another folder (p2pcopy receive -o DIR), or to allow replacing it (--overwrite)"
	case transfer.CodeDiskFull:
		return msg + "; ask your peer to free up space or to save elsewhere, then run both commands again to resume"
	}
	return msg
}

// connectAdvice explains a failed connection with what to try, most likely first: a peer that
// never reached us is probably gone (or never took our answer); packets that came without a
// working path point at a firewall or strict NATs, which a TURN relay gets around.
func connectAdvice(e *signal.ConnectError) string {
	const fix = "run both commands again with --turn turn:USER:PASS@HOST:PORT on either side"
	const network = "check that no firewall blocks UDP; across the internet, both sides may be behind strict NATs: " + fix
	msg := fmt.Sprintf("could not connect to your peer: %s (%s). ", e.What, e.Tried)
	switch {
	case e.Cause != "":
		return msg + e.Cause + ": " + fix
	case e.PeerSilent && e.Offered:
		return msg + "Your peer never reached you: is their p2pcopy still running (it gives up --timeout, " +
			"30s by default, after printing its answer)? If it is, on the same network " + network
	case e.PeerSilent:
		return msg + "Your peer never reached you: is their p2pcopy still running (it waits for your answer), " +
			"and did they paste your answer? If they did, on the same network " + network
	}
	return msg + "On the same network, " + network
}

// fixHint words a transfer.Fix for the person at this terminal.
func fixHint(f transfer.Fix) string {
	switch f {
	case transfer.FixReplaceOrElsewhere:
		return "; use --overwrite to replace, or -o to choose another directory"
	case transfer.FixMoveOrElsewhere:
		return "; move it away, or use -o to choose another directory"
	case transfer.FixFreeSpace:
		return "; free up space, or use -o to choose another directory"
	case transfer.FixOneOutput:
		return "; -o - writes a single file to standard output: choose a directory with -o instead"
	case transfer.FixRunAgain:
		return "; run both commands again to resume"
	case transfer.FixRunAgainFromStart:
		return "; run both commands again to send it again from the start (a stream cannot resume)"
	case transfer.FixRunAgainIfMissing:
		// The library's message has just said that everything may have arrived.
		return "; otherwise run both commands again to resume"
	case transfer.FixFreeSpaceRunAgain:
		// Not -o: another directory lacks the partial files, so the transfer would start over.
		return "; free up space and run both commands again to resume"
	case transfer.FixOppositeRoles:
		return `; one side must run "p2pcopy send" and the other "p2pcopy receive"`
	}
	return ""
}
