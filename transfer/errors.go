package transfer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Error codes carried by X messages (PROTOCOL.md §2.3) and by [Error.Code].
const (
	CodeCancelled  = "cancelled"   // a user pressed Ctrl-C (or the context was cancelled)
	CodeRejected   = "rejected"    // the receiver declined
	CodeVerify     = "verify"      // SHA-256 mismatch
	CodeDiskFull   = "disk-full"   // not enough space on the receiver
	CodeExists     = "exists"      // the transfer would overwrite something
	CodeLimit      = "limit"       // the manifest is over a receiver limit
	CodeUnsafePath = "unsafe-path" // a path the receiver refuses to write
	CodeChanged    = "changed"     // a source file changed while it was being sent
	CodeProtocol   = "protocol"    // the peer broke the protocol
	CodeIO         = "io"          // a local I/O error or a lost connection
	CodeTimeout    = "timeout"     // nothing heard from the peer, not even a keep-alive
)

// Error is a failure the user must see.
type Error struct {
	Code    string // one of the Code* constants (a peer may send codes unknown to this version)
	Message string // a complete sentence for the user, without the "peer: " prefix
	Remote  bool   // the peer reported this failure with an X message

	// Fix says what the user at this side can do, for the CLI or the page to word in its own
	// terms (flags, buttons); Message says only what happened.
	Fix Fix

	// peer is what the peer is told in X when Message carries local details (the output
	// directory, an OS error, the partial file's name) that the peer must not learn or
	// cannot use; "" means Message.
	peer string
	err  error // the underlying cause, if any (for errors.Is/As)
}

// Fix names what the user at the side that got an error can do about it. Each value is one
// piece of advice, for the CLI or the page to word in its own terms (flags, buttons, "run
// both commands" or "start again on both sides"); the values are not combined.
type Fix int

const (
	FixNone Fix = iota
	// FixReplaceOrElsewhere: allow replacing the existing file(s), or save elsewhere.
	FixReplaceOrElsewhere
	// FixMoveOrElsewhere: move the thing in the way, or save elsewhere.
	FixMoveOrElsewhere
	// FixFreeSpace: free up space, or save elsewhere (nothing was written yet).
	FixFreeSpace
	// FixOneOutput: standard output takes a single file: save into a directory instead.
	FixOneOutput
	// FixRunAgain: the connection was lost (or the peer went silent) during the transfer;
	// running the same transfer again on both sides resumes from what arrived: files that
	// arrived whole are not sent again and a partial file continues where it stopped.
	FixRunAgain
	// FixRunAgainFromStart: the connection was lost while a stream (standard input) was
	// being sent; a stream cannot resume, so running the transfer again sends it from its
	// start.
	FixRunAgainFromStart
	// FixRunAgainIfMissing: the connection was lost after everything was sent but before
	// the receiver confirmed it, so everything may have arrived (the message says so): if
	// the receiving side lacks something, running the same transfer again resumes.
	FixRunAgainIfMissing
	// FixFreeSpaceRunAgain: the receiver's disk filled during the transfer and what arrived
	// is kept: free up space there, then running the same transfer again resumes. (Saving
	// elsewhere would start over, so it is not the advice here.)
	FixFreeSpaceRunAgain
	// FixOppositeRoles: both sides chose the same role; one side must send and the other
	// receive.
	FixOppositeRoles
)

// String names f as in its constant, for test failures and logs.
func (f Fix) String() string {
	names := [...]string{"FixNone", "FixReplaceOrElsewhere", "FixMoveOrElsewhere", "FixFreeSpace",
		"FixOneOutput", "FixRunAgain", "FixRunAgainFromStart", "FixRunAgainIfMissing",
		"FixFreeSpaceRunAgain", "FixOppositeRoles"}
	if f < 0 || int(f) >= len(names) {
		return fmt.Sprintf("Fix(%d)", int(f))
	}
	return names[f]
}

// Error returns the message; messages the peer reported are prefixed with "peer: ".
func (e *Error) Error() string {
	if e.Remote {
		return "peer: " + e.Message
	}
	return e.Message
}

// Unwrap returns the underlying cause: ctx.Err() for a cancelled transfer, the I/O
// error for code "io" or "disk-full", nil otherwise.
func (e *Error) Unwrap() error { return e.err }

func newError(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// protocolError is an error about what the peer sent.
func protocolError(format string, args ...any) *Error {
	return newError(CodeProtocol, format, args...)
}

// fix sets what this side's user can do about e and returns e.
func (e *Error) fix(f Fix) *Error {
	e.Fix = f
	return e
}

// tellPeer sets what the peer is told about e and returns e.
func (e *Error) tellPeer(format string, args ...any) *Error {
	e.peer = fmt.Sprintf(format, args...)
	return e
}

// peerText is the message of the X that reports e to the peer. Errors whose Message
// names this side's directories, files or OS errors set what the peer may read with
// tellPeer (PROTOCOL.md §2.3); the others describe the transfer itself.
func (e *Error) peerText() string {
	if e.peer != "" {
		return e.peer
	}
	return e.Message
}

// remoteError converts an X message into the error the user sees.
func remoteError(m errorMsg) *Error {
	code := cleanPeerText(m.Code, 32)
	if code == "" {
		code = CodeProtocol
	}
	msg := cleanPeerText(m.Message, 1024)
	if msg == "" {
		msg = "the transfer failed (" + code + ")"
	}
	return &Error{Code: code, Message: msg, Remote: true}
}

// cleanPeerText makes text from the peer safe to print: control characters and
// bidirectional overrides are dropped, invalid UTF-8 is replaced and the result is cut
// to at most max bytes at a rune boundary.
func cleanPeerText(s string, max int) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > max {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

func isBidiControl(r rune) bool {
	return r == '\u200e' || r == '\u200f' || r == '\u061c' ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}

// cause returns the most useful short description of an I/O error: the errno text of
// a *PathError or *LinkError rather than the whole "op path: text" string.
func cause(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err.Error()
	}
	if errors.Is(err, io.EOF) {
		return "the peer closed the connection"
	}
	return err.Error()
}

// quote formats a path from the peer for an error message: quoted with escapes for
// anything unprintable, and shortened if it is long.
func quote(p string) string {
	const max = 120
	if len(p) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(p[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", p[:cut])
	}
	return fmt.Sprintf("%q", p)
}
