package transfer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"time"

	"golang.org/x/text/unicode/norm"
)

// DefaultChunkSize is the payload size of a D message unless SendOptions.ChunkSize says
// otherwise.
const DefaultChunkSize = 64 << 10

// SendOptions configures Send.
type SendOptions struct {
	ChunkSize int         // payload bytes per D message; default 64 KiB; at most MaxMessageSize-1
	App       string      // hello "app" value, e.g. "p2pcopy/0.1"
	OnEvent   func(Event) // optional
	// IdleTimeout is how long Send waits while nothing at all arrives from the receiver
	// (no message and no keep-alive) before it fails with code "timeout"; 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
}

// Send offers items to the peer on conn and sends them once the peer accepted.
// It returns successfully only after the receiver reported that everything was
// verified and put in place (C). Send closes conn before it returns.
//
// Failures are *Error, except for invalid items (a programming error in the
// caller: an unknown Kind, a missing Open). When ctx is cancelled, Send tells the peer (X "cancelled"),
// closes conn and returns an *Error with code "cancelled" that wraps ctx.Err().
func Send(ctx context.Context, conn Conn, items []Item, opts SendOptions) (Result, error) {
	start := time.Now()
	s := newSession(ctx, conn, roleSend, opts.App, opts.IdleTimeout)
	defer s.end()
	if ctx.Err() != nil {
		return Result{}, s.cancelled()
	}
	chunk := opts.ChunkSize
	if chunk <= 0 {
		chunk = DefaultChunkSize
	}
	chunk = min(chunk, MaxMessageSize-1)

	entries, err := checkItems(items)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return Result{}, s.fail(e, "", ifLost{})
		}
		return Result{}, err // a programming error in the caller
	}
	if err := s.hello(); err != nil {
		return Result{}, err
	}
	msgs, err := encodeManifest(entries, MaxMessageSize)
	if err != nil {
		return Result{}, s.fail(newError(CodeLimit, "%v", err), "", ifLost{})
	}
	for _, b := range msgs {
		if err := s.write(b); err != nil {
			return Result{}, s.writeFailed(err, "while sending the list of files", ifLost{})
		}
	}
	prog := newProgress(opts.OnEvent, entries)
	prog.manifest(entries)

	m, err := s.expect(typeAccept)
	if err != nil {
		return Result{}, s.fail(err, "while waiting for the receiver to accept", ifLost{})
	}
	if err := checkHave(m.Accept, entries); err != nil {
		return Result{}, s.fail(err, "", ifLost{})
	}
	sd := &sender{s: s, items: items, prog: prog, buf: make([]byte, 1+chunk)}
	sd.buf[0] = typeData
	if w, ok := s.conn.(OwnedWriter); ok {
		sd.owned, sd.bufs = w, newSendBuffers(1+chunk)
	}
	if len(m.Accept.Have) > 0 {
		if err := sd.resumeHandshake(m.Accept.Have); err != nil {
			return Result{}, err
		}
	}
	s.readAsync() // the receiver may send X at any time
	for i := range items {
		if items[i].Entry.Kind == KindDir {
			continue
		}
		if err := sd.sendEntry(i); err != nil {
			return Result{}, err
		}
	}
	if err := sd.interrupted("before the end of the transfer", nil, ifLost{fix: FixRunAgainIfMissing}); err != nil {
		return Result{}, err
	}
	if err := s.write(encodeMessage(typeEnd, struct{}{})); err != nil {
		return Result{}, s.writeFailed(err, "while finishing the transfer", ifLost{})
	}
	if _, err := s.expect(typeComplete); err != nil {
		return Result{}, s.fail(err, "before the receiver confirmed that everything arrived",
			ifLost{note: "; they may all have arrived (check on the receiving side)", fix: FixRunAgainIfMissing})
	}
	s.stopWatching() // complete: a late cancellation must not send X any more
	prog.finish()
	return Result{
		Files:    sd.files,
		Bytes:    prog.bytes,
		Sent:     sd.sent,
		Resumed:  sd.resumed,
		Duration: time.Since(start),
	}, nil
}

// checkItems validates what the caller wants to send and returns the manifest.
func checkItems(items []Item) ([]Entry, error) {
	entries := make([]Entry, len(items))
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		e := it.Entry
		e.Path = norm.NFC.String(e.Path) // names read on macOS may be decomposed (PROTOCOL.md §2.2)
		if _, err := SanitizePath(e.Path); err != nil {
			return nil, newError(CodeUnsafePath, "cannot send %s: the receiver would refuse its name: %v", quote(e.Path), err)
		}
		if seen[e.Path] {
			return nil, newError(CodeUnsafePath, "cannot send two entries named %s; send them separately or rename one", quote(e.Path))
		}
		seen[e.Path] = true
		switch e.Kind {
		case KindDir:
		case KindFile, KindText:
			if e.Size < 0 {
				return nil, fmt.Errorf("transfer: item %s has a negative size", e.Path)
			}
		case KindStream:
			e.Size = -1
		default:
			return nil, fmt.Errorf("transfer: item %s has an unknown kind %q", e.Path, e.Kind)
		}
		if e.Kind != KindDir && it.Open == nil {
			return nil, fmt.Errorf("transfer: item %s has no Open function", e.Path)
		}
		e.Mode = e.Mode.Perm()
		entries[i] = e
	}
	return entries, nil
}

// checkHave validates the receiver's A message.
func checkHave(a acceptMsg, entries []Entry) error {
	have := make(map[int]bool, len(a.Have))
	for _, h := range a.Have {
		switch {
		case h.I >= len(entries):
			return protocolError("the peer offered to resume entry %d, but the transfer has %d entries", h.I, len(entries))
		case entries[h.I].Kind == KindDir:
			return protocolError("the peer offered to resume %s, which is a directory", entries[h.I].Path)
		case entries[h.I].Size >= 0 && h.Offset > entries[h.I].Size:
			return protocolError("the peer offered to resume %s at byte %d, but it has only %d bytes", entries[h.I].Path, h.Offset, entries[h.I].Size)
		case have[h.I]:
			return protocolError("the peer offered to resume %s twice", entries[h.I].Path)
		}
		have[h.I] = true
	}
	return nil
}

// resumeHandshake proves (P) the prefixes the receiver holds, as far as this side's
// files have them, and records in sd.resume the offsets the receiver agreed to (R).
func (sd *sender) resumeHandshake(have []held) error {
	s := sd.s
	msg := proofMsg{Proofs: []proof{}}
	states := make(map[int]hash.Hash)
	for _, hd := range have {
		i, e := hd.I, sd.items[hd.I].Entry
		if e.Kind != KindFile || hd.Offset == 0 {
			continue // a stream or text cannot be read twice; nothing to prove at 0
		}
		h, err := sd.prefixHash(i, hd.Offset)
		if err != nil {
			var te *Error
			if errors.As(err, &te) && te.Code == CodeChanged {
				continue // shorter than the receiver's part: the file starts over
			}
			return s.fail(err, "", ifLost{})
		}
		states[i] = h
		msg.Proofs = append(msg.Proofs, proof{I: i, Offset: hd.Offset, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	if err := s.write(encodeMessage(typeProof, msg)); err != nil {
		return s.writeFailed(err, "while agreeing on what to resume", ifLost{})
	}
	m, err := s.expect(typeResume)
	if err != nil {
		return s.fail(err, "while agreeing on what to resume", ifLost{})
	}
	proved := make(map[int]int64, len(msg.Proofs))
	for _, p := range msg.Proofs {
		proved[p.I] = p.Offset
	}
	sd.resume = make(map[int]resumed, len(m.Resume.Resume))
	for _, r := range m.Resume.Resume {
		off, ok := proved[r.I]
		switch {
		case !ok:
			return s.fail(protocolError("the peer agreed to resume entry %d, which was not proved", r.I), "", ifLost{})
		case r.Offset != off:
			return s.fail(protocolError("the peer agreed to resume %s at byte %d, but %d bytes were proved", sd.items[r.I].Entry.Path, r.Offset, off), "", ifLost{})
		}
		if _, dup := sd.resume[r.I]; dup {
			return s.fail(protocolError("the peer agreed to resume %s twice", sd.items[r.I].Entry.Path), "", ifLost{})
		}
		sd.resume[r.I] = resumed{offset: off, h: states[r.I]}
	}
	return nil
}

// resumed is an entry the receiver agreed to resume: the offset, and the SHA-256 state of
// the bytes before it, which F's hash of the whole file goes on from.
type resumed struct {
	offset int64
	h      hash.Hash
}

// prefixHash returns the SHA-256 state after the first n bytes of item i.
func (sd *sender) prefixHash(i int, n int64) (hash.Hash, error) {
	e := sd.items[i].Entry
	rc, err := sd.items[i].Open()
	if err != nil {
		return nil, newError(CodeIO, "cannot read %s: %s", e.Path, cause(err))
	}
	defer rc.Close()
	if err := sd.unchanged(e, rc); err != nil {
		return nil, err
	}
	h := sha256.New()
	if err := sd.copyN(h, rc, n, e); err != nil {
		return nil, err
	}
	return h, nil
}

type sender struct {
	s      *session
	items  []Item
	resume map[int]resumed // what the receiver agreed to resume (R)
	prog   *progress
	buf    []byte // buf[0] is 'D'; content is read into buf[1:]
	// With a conn that can keep what it sends, each D message is sent from a buffer of
	// its own instead of buf, which the conn gives back to bufs (no copy in the conn).
	owned OwnedWriter
	bufs  *sendBuffers

	files   int
	sent    int64
	resumed int64
}

type statter interface {
	Stat() (fs.FileInfo, error)
}

// sendEntry sends S, the content and F for the non-directory entry i.
func (sd *sender) sendEntry(i int) error {
	s, e := sd.s, sd.items[i].Entry
	rc, err := sd.items[i].Open()
	if err != nil {
		return s.fail(newError(CodeIO, "cannot read %s: %s", e.Path, cause(err)), "", ifLost{})
	}
	defer func() { rc.Close() }()
	if err := sd.unchanged(e, rc); err != nil {
		return s.fail(err, "", ifLost{})
	}

	h := sha256.New()
	var offset int64
	if r, ok := sd.resume[i]; ok {
		// The prefix was hashed for P: skip it (a file that changed since then fails
		// the modification-time check above, or F's hash on the receiver).
		if err := skip(rc, r.offset); err != nil {
			return s.fail(&Error{Code: CodeIO, Message: fmt.Sprintf("cannot read %s: %s", e.Path, cause(err)), err: err}, "", ifLost{})
		}
		h, offset = r.h, r.offset
	}

	if err := s.write(encodeMessage(typeStart, startMsg{I: i, Offset: offset})); err != nil {
		return s.writeFailed(err, "while sending "+e.Path, lostWhileSending(e))
	}
	sd.prog.start(i, e, offset)
	sd.resumed += offset

	done := offset
	when := "while " + e.Path + " was being sent" // built once: the loop must not allocate
	lost := lostWhileSending(e)
	// A lost connection reads the same whether a write failed or the watcher saw it first.
	lostWhen := func() string { return fmt.Sprintf("while sending %s, %s", e.Path, ofTotal(done, e.Size, "sent")) }
	for e.Size < 0 || done < e.Size {
		if err := sd.interrupted(when, lostWhen, lost); err != nil {
			return err
		}
		want := len(sd.buf) - 1
		if e.Size >= 0 {
			want = int(min(int64(want), e.Size-done))
		}
		buf := sd.buf
		var sb *sendBuffer
		if sd.bufs != nil {
			sb = sd.bufs.get()
			buf = sb.b
		}
		n, err := readChunk(rc, buf[1:1+want], e.Kind == KindStream)
		if sb != nil && 2*(1+n) < len(buf) {
			// A short read (a stream's, a file's end) is sent as a copy: a conn keeps an
			// owned buffer whole while it counts only the message against its flow control,
			// so a trickle of small messages could hold many buffers. Each kept one is at
			// least half full.
			sd.bufs.put(sb)
			sb = nil
		}
		if n > 0 {
			h.Write(buf[1 : 1+n])
			var werr error
			if sb != nil {
				werr = s.writeOwned(sd.owned, buf[:1+n], sb.release)
			} else {
				werr = s.write(buf[:1+n])
			}
			if werr != nil {
				return s.writeFailed(werr, fmt.Sprintf("while sending %s, %s", e.Path, ofTotal(done, e.Size, "sent")), lostWhileSending(e))
			}
			done += int64(n)
			sd.sent += int64(n)
			sd.prog.add(n)
		}
		if err == io.EOF && e.Size < 0 {
			break
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return s.fail(sd.changedError(e), "", ifLost{})
		}
		if err != nil {
			return s.fail(&Error{Code: CodeIO, Message: fmt.Sprintf("cannot read %s: %s", e.Path, cause(err)), err: err}, "", ifLost{})
		}
	}
	if err := sd.unchanged(e, rc); err != nil {
		return s.fail(err, "", ifLost{})
	}
	end := fileEndMsg{I: i, SHA256: hex.EncodeToString(h.Sum(nil))}
	if err := s.write(encodeMessage(typeFileEnd, end)); err != nil {
		return s.writeFailed(err, "while sending "+e.Path, lostWhileSending(e))
	}
	sd.files++
	sd.prog.done()
	return nil
}

// interrupted checks, without blocking, whether the context was cancelled or the peer
// sent something (normally X) while we are sending; when describes the moment, lostWhen (if
// not nil) describes it for a connection that turns out lost, and lost is what to advise then.
func (sd *sender) interrupted(when string, lostWhen func() string, lost ifLost) error {
	s := sd.s
	select {
	case <-s.ctx.Done():
		return s.cancelled()
	default:
	}
	if !s.pendingDone() {
		return nil
	}
	m, err := s.read()
	if err == nil {
		return s.fail(protocolError("the peer sent a %s message %s", messageName(m.Type), when), when, lost)
	}
	if lostWhen != nil {
		when = lostWhen() // the same words as a write that failed at this point
	}
	return s.fail(err, when, lost)
}

// lostWhileSending is what the sender's user can do after the connection broke while e was
// being sent: run the transfer again; a file then resumes from what the receiver kept, a
// stream (standard input) starts over.
func lostWhileSending(e Entry) ifLost {
	if e.Kind == KindStream {
		return ifLost{fix: FixRunAgainFromStart}
	}
	return ifLost{fix: FixRunAgain}
}

// readChunk reads up to len(p) bytes of content into p. For files it fills p; for streams
// it returns what one Read yields, so that a slow stream is not held back.
func readChunk(r io.Reader, p []byte, stream bool) (int, error) {
	if !stream {
		return io.ReadFull(r, p)
	}
	for {
		n, err := r.Read(p)
		if n > 0 || err != nil {
			if n > 0 && err == io.EOF {
				err = nil // the next Read will report it again
			}
			return n, err
		}
	}
}

// copyN hashes the first n bytes of r (a resume prefix) using sd.buf.
func (sd *sender) copyN(h hash.Hash, r io.Reader, n int64, e Entry) error {
	for n > 0 {
		want := int(min(int64(len(sd.buf)-1), n))
		got, err := io.ReadFull(r, sd.buf[1:1+want])
		h.Write(sd.buf[1 : 1+got])
		n -= int64(got)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return sd.changedError(e)
		}
		if err != nil {
			return &Error{Code: CodeIO, Message: fmt.Sprintf("cannot read %s: %s", e.Path, cause(err)), err: err}
		}
	}
	return nil
}

// unchanged fails with code "changed" if a file's size or modification time differs
// from its manifest entry.
func (sd *sender) unchanged(e Entry, r io.Reader) error {
	st, ok := r.(statter)
	if e.Kind != KindFile || !ok {
		return nil
	}
	fi, err := st.Stat()
	if err != nil {
		return &Error{Code: CodeIO, Message: fmt.Sprintf("cannot read %s: %s", e.Path, cause(err)), err: err}
	}
	if fi.Size() != e.Size || (!e.ModTime.IsZero() && !fi.ModTime().Equal(e.ModTime)) {
		return sd.changedError(e)
	}
	return nil
}

func (sd *sender) changedError(e Entry) *Error {
	if e.Kind != KindFile {
		return newError(CodeIO, "cannot read %s: it ended before the %d bytes announced", e.Path, e.Size)
	}
	return newError(CodeChanged, "%s changed while it was being sent; send it again when it is no longer being written", e.Path).
		tellPeer("%s changed on the sending side while it was being sent", quote(e.Path))
}

// skip moves r past its first n bytes: seeked if possible, read otherwise.
func skip(r io.Reader, n int64) error {
	if sk, ok := r.(io.Seeker); ok {
		_, err := sk.Seek(n, io.SeekStart)
		return err
	}
	_, err := io.CopyN(io.Discard, r, n)
	return err
}

// ofTotal formats "3.1 MB of 10.0 MB sent", or "3.1 MB sent" when the total is unknown.
func ofTotal(n, total int64, verb string) string {
	if total < 0 {
		return formatBytes(n) + " " + verb
	}
	return formatBytes(n) + " of " + formatBytes(total) + " " + verb
}
