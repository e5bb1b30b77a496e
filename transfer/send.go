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
	"strings"
	"time"
)

// DefaultChunkSize is the payload size of a D message unless SendOptions.ChunkSize says
// otherwise.
const DefaultChunkSize = 64 << 10

// SendOptions configures Send.
type SendOptions struct {
	ChunkSize int         // payload bytes per D message; default 64 KiB; at most MaxMessageSize-1
	App       string      // hello "app" value, e.g. "p2pcopy/0.1"
	OnEvent   func(Event) // optional
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
	s := newSession(ctx, conn, roleSend, opts.App)
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
			return Result{}, s.fail(e, "", "")
		}
		return Result{}, err // a programming error in the caller
	}
	if err := s.hello(); err != nil {
		return Result{}, err
	}
	msgs, err := encodeManifest(entries, MaxMessageSize)
	if err != nil {
		return Result{}, s.fail(newError(CodeLimit, "%v", err), "", "")
	}
	for _, b := range msgs {
		if err := s.write(b); err != nil {
			return Result{}, s.writeFailed(err, "while sending the list of files", "")
		}
	}
	prog := newProgress(opts.OnEvent, entries)
	prog.manifest(entries)

	m, err := s.expect(typeAccept)
	if err != nil {
		return Result{}, s.fail(err, "while waiting for the receiver to accept", "")
	}
	resume, err := checkResume(m.Accept, entries)
	if err != nil {
		return Result{}, s.fail(err, "", "")
	}

	sd := &sender{s: s, items: items, resume: resume, prog: prog, buf: make([]byte, 1+chunk)}
	sd.buf[0] = typeData
	s.readAsync() // the receiver may send X at any time
	for i := range items {
		if items[i].Entry.Kind == KindDir {
			continue
		}
		if err := sd.sendEntry(i); err != nil {
			return Result{}, err
		}
	}
	if err := sd.interrupted("before the end of the transfer"); err != nil {
		return Result{}, err
	}
	if err := s.write(encodeMessage(typeEnd, struct{}{})); err != nil {
		return Result{}, s.writeFailed(err, "while finishing the transfer", "")
	}
	if _, err := s.expect(typeComplete); err != nil {
		return Result{}, s.fail(err, "before the receiver confirmed that everything arrived",
			"; they may all have arrived (check on the receiving side); otherwise run both commands again to resume")
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

// checkResume validates the receiver's A message and returns the resume requests by
// entry index.
func checkResume(a acceptMsg, entries []Entry) (map[int]resumeReq, error) {
	resume := make(map[int]resumeReq, len(a.Resume))
	for _, r := range a.Resume {
		switch {
		case r.I >= len(entries):
			return nil, protocolError("the peer asked to resume entry %d, but the transfer has %d entries", r.I, len(entries))
		case entries[r.I].Kind == KindDir:
			return nil, protocolError("the peer asked to resume %s, which is a directory", entries[r.I].Path)
		case entries[r.I].Size >= 0 && r.Offset > entries[r.I].Size:
			return nil, protocolError("the peer asked to resume %s at byte %d, but it has only %d bytes", entries[r.I].Path, r.Offset, entries[r.I].Size)
		}
		if _, dup := resume[r.I]; dup {
			return nil, protocolError("the peer asked to resume %s twice", entries[r.I].Path)
		}
		resume[r.I] = r
	}
	return resume, nil
}

type sender struct {
	s      *session
	items  []Item
	resume map[int]resumeReq
	prog   *progress
	buf    []byte // buf[0] is 'D'; content is read into buf[1:]

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
		return s.fail(newError(CodeIO, "cannot read %s: %s", e.Path, cause(err)), "", "")
	}
	defer func() { rc.Close() }()
	if err := sd.unchanged(e, rc); err != nil {
		return s.fail(err, "", "")
	}

	h := sha256.New()
	var offset int64
	if r, ok := sd.resume[i]; ok && r.Offset > 0 && e.Kind == KindFile {
		if err := sd.copyN(h, rc, r.Offset, e); err != nil {
			return s.fail(err, "", "")
		}
		if strings.EqualFold(hex.EncodeToString(h.Sum(nil)), r.SHA256) {
			offset = r.Offset
		} else { // the partial file is damaged or the source changed: start over
			h.Reset()
			if rc, err = rewind(rc, sd.items[i].Open); err != nil {
				return s.fail(newError(CodeIO, "cannot read %s: %s", e.Path, cause(err)), "", "")
			}
		}
	}

	if err := s.write(encodeMessage(typeStart, startMsg{I: i, Offset: offset})); err != nil {
		return s.writeFailed(err, "while sending "+e.Path, resumeHint(e))
	}
	sd.prog.start(i, e, offset)
	sd.resumed += offset

	done := offset
	when := "while " + e.Path + " was being sent" // built once: the loop must not allocate
	for e.Size < 0 || done < e.Size {
		if err := sd.interrupted(when); err != nil {
			return err
		}
		want := len(sd.buf) - 1
		if e.Size >= 0 {
			want = int(min(int64(want), e.Size-done))
		}
		n, err := sd.readChunk(rc, want, e.Kind == KindStream)
		if n > 0 {
			h.Write(sd.buf[1 : 1+n])
			if werr := s.write(sd.buf[:1+n]); werr != nil {
				return s.writeFailed(werr, fmt.Sprintf("while sending %s, %s", e.Path, ofTotal(done, e.Size, "sent")), resumeHint(e))
			}
			done += int64(n)
			sd.sent += int64(n)
			sd.prog.add(n)
		}
		if err == io.EOF && e.Size < 0 {
			break
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return s.fail(sd.changedError(e), "", "")
		}
		if err != nil {
			return s.fail(&Error{Code: CodeIO, Message: fmt.Sprintf("cannot read %s: %s", e.Path, cause(err)), err: err}, "", "")
		}
	}
	if err := sd.unchanged(e, rc); err != nil {
		return s.fail(err, "", "")
	}
	end := fileEndMsg{I: i, SHA256: hex.EncodeToString(h.Sum(nil))}
	if err := s.write(encodeMessage(typeFileEnd, end)); err != nil {
		return s.writeFailed(err, "while sending "+e.Path, resumeHint(e))
	}
	sd.files++
	sd.prog.done()
	return nil
}

// interrupted checks, without blocking, whether the context was cancelled or the peer
// sent something (normally X) while we are sending; when describes the moment.
func (sd *sender) interrupted(when string) error {
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
		err = protocolError("the peer sent a %s message %s", messageName(m.Type), when)
	}
	return s.fail(err, when, "")
}

// resumeHint is what the sender's user can do after the connection broke while e was being
// sent: run both commands again; a file then resumes from what the receiver kept, a stream
// (standard input) starts over.
func resumeHint(e Entry) string {
	if e.Kind == KindStream {
		return "; run both commands again to send it again from the start (a stream cannot resume)"
	}
	return "; run both commands again to resume"
}

// readChunk reads up to want bytes of content into sd.buf[1:]. For files it fills the
// chunk; for streams it returns what one Read yields, so that a slow stream is not held
// back.
func (sd *sender) readChunk(r io.Reader, want int, stream bool) (int, error) {
	p := sd.buf[1 : 1+want]
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
	return newError(CodeChanged, "%s changed while it was being sent; send it again when it is no longer being written", e.Path)
}

// rewind returns r positioned at its start: seeked if possible, reopened otherwise.
func rewind(r io.ReadCloser, open func() (io.ReadCloser, error)) (io.ReadCloser, error) {
	if sk, ok := r.(io.Seeker); ok {
		if _, err := sk.Seek(0, io.SeekStart); err == nil {
			return r, nil
		}
	}
	r.Close()
	nr, err := open()
	if err != nil {
		return nopCloser{}, err
	}
	return nr, nil
}

type nopCloser struct{ io.Reader }

func (nopCloser) Close() error { return nil }

// ofTotal formats "3.1 MB of 10.0 MB sent", or "3.1 MB sent" when the total is unknown.
func ofTotal(n, total int64, verb string) string {
	if total < 0 {
		return formatBytes(n) + " " + verb
	}
	return formatBytes(n) + " of " + formatBytes(total) + " " + verb
}
