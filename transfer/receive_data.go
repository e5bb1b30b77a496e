package transfer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// incoming is the entry being received, between S and F.
type incoming struct {
	i       int
	p       *planned
	w       io.Writer
	f       *os.File // the partial file, for toFile
	h       hash.Hash
	written int64 // content bytes held, including a resumed prefix
	keep    bool  // a complete candidate resumed at its end: the existing file is kept as it is
}

// receiveData handles S, D, F until E.
func (r *receiver) receiveData() (retErr error) {
	s := r.s
	next := r.nextFile(0)
	var cur *incoming
	defer func() {
		if cur != nil {
			r.abandon(cur, retErr)
		}
	}()
	for {
		m, err := s.read()
		if err != nil {
			if cur != nil {
				return s.fail(err, fmt.Sprintf("while receiving %s, %s", cur.p.Path, ofTotal(cur.written, cur.p.Size, "received")), r.lostWhileReceiving(cur))
			}
			return s.fail(err, "before the transfer finished", ifLost{})
		}
		switch m.Type {
		case typeData:
			if cur == nil {
				return s.fail(protocolError("the peer sent data outside a file"), "", ifLost{})
			}
			if err := r.write(cur, m.Data); err != nil {
				return s.fail(err, "", ifLost{})
			}
		case typeStart:
			i := m.Start.I
			switch {
			case cur != nil:
				return s.fail(protocolError("the peer started entry %d before finishing %s", i, cur.p.Path), "", ifLost{})
			case next >= len(r.plan):
				return s.fail(protocolError("the peer started entry %d, but every file was already received", i), "", ifLost{})
			case i != next:
				return s.fail(protocolError("the peer started entry %d where entry %d (%s) was expected", i, next, r.plan[next].Path), "", ifLost{})
			}
			if cur, err = r.open(i, m.Start.Offset); err != nil {
				return s.fail(err, "", ifLost{})
			}
		case typeFileEnd:
			switch {
			case cur == nil:
				return s.fail(protocolError("the peer ended entry %d, which was not started", m.FileEnd.I), "", ifLost{})
			case m.FileEnd.I != cur.i:
				return s.fail(protocolError("the peer ended entry %d while %s was being received", m.FileEnd.I, cur.p.Path), "", ifLost{})
			}
			if err := r.finish(cur, m.FileEnd.SHA256); err != nil {
				return s.fail(err, "", ifLost{})
			}
			cur = nil
			next = r.nextFile(next + 1)
		case typeEnd:
			switch {
			case cur != nil:
				return s.fail(protocolError("the peer ended the transfer in the middle of %s", cur.p.Path), "", ifLost{})
			case next < len(r.plan):
				return s.fail(protocolError("the peer ended the transfer after %d of %d files", r.files, r.files+r.remaining(next)), "", ifLost{})
			}
			return nil
		default:
			return s.fail(protocolError("the peer sent a %s message during the transfer", messageName(m.Type)), "", ifLost{})
		}
	}
}

// nextFile returns the index of the first non-directory entry at or after i.
func (r *receiver) nextFile(i int) int {
	for i < len(r.plan) && r.plan[i].target == toDir {
		i++
	}
	return i
}

func (r *receiver) remaining(i int) int {
	n := 0
	for ; i < len(r.plan); i = r.nextFile(i + 1) {
		n++
	}
	return n
}

// open starts entry i (an S message) at offset.
func (r *receiver) open(i int, offset int64) (*incoming, error) {
	p := &r.plan[i]
	if offset != 0 && (p.resume == nil || offset != p.partSize) {
		return nil, protocolError("the peer wants to resume %s at byte %d, but %d bytes were offered", p.Path, offset, p.partSize)
	}
	c := &incoming{i: i, p: p, written: offset, h: p.resume}
	if offset == 0 {
		c.h = sha256.New()
	}
	p.resume = nil
	switch {
	case p.complete && offset == p.Size:
		// The existing file already is the entry (proven in P and R; an empty one
		// trivially): keep it exactly as it is. F must still carry its hash; a D message
		// is "more data than announced".
		c.keep, c.w = true, io.Discard
	case p.target == toStdout:
		c.w = r.opts.Stdout
	case p.target == toText:
		c.w = r.opts.Text
	case p.target == toFile:
		f, err := r.openPart(p, offset)
		if err != nil {
			return nil, r.writeError(c, err)
		}
		c.f, c.w = f, f
	}
	r.resumed += offset
	r.prog.start(i, p.Entry, offset)
	return c, nil
}

// openPart opens the partial file of p for writing at offset, creating missing parent
// directories.
func (r *receiver) openPart(p *planned, offset int64) (*os.File, error) {
	if dir := filepath.Dir(p.name); dir != "." {
		if err := r.root.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	f, err := r.root.OpenFile(p.part, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := f.Truncate(offset); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// write handles the payload of a D message.
func (r *receiver) write(c *incoming, data []byte) error {
	if c.p.Size >= 0 && c.written+int64(len(data)) > c.p.Size {
		return protocolError("the peer sent more data for %s than the %d bytes it announced", c.p.Path, c.p.Size)
	}
	n, err := c.w.Write(data)
	c.h.Write(data[:n])
	c.written += int64(n)
	r.sent += int64(n)
	r.prog.add(n)
	if err != nil {
		return r.writeError(c, err)
	}
	return nil
}

// finish handles F: check the size and hash, then put the file in place.
func (r *receiver) finish(c *incoming, sum string) error {
	p := c.p
	if p.Size >= 0 && c.written != p.Size {
		return protocolError("the peer ended %s after %d of the %d bytes it announced", p.Path, c.written, p.Size)
	}
	got := c.h.Sum(nil)
	if !strings.EqualFold(hex.EncodeToString(got), sum) {
		switch {
		case c.keep:
			return newError(CodeVerify, "%s failed verification (sha256 mismatch); the existing file was left as it was; run the transfer again", p.Path)
		case c.f == nil:
			return newError(CodeVerify, "%s failed verification (sha256 mismatch); what was written to the output is damaged; run the transfer again", p.Path)
		}
		return newError(CodeVerify, "%s failed verification (sha256 mismatch); nothing was saved under that name; run the transfer again", p.Path)
	}
	if c.f != nil {
		err := c.f.Close()
		c.f = nil
		if err != nil {
			return r.writeError(c, err)
		}
		if p.complete && !r.opts.Overwrite && r.sameContent(p.name, p.Size, got) {
			// A complete candidate that was not resumed (not offered in A, see
			// chooseOffers, or not proven) and turned out identical: keep the existing
			// file as it is, drop what was received.
			_ = r.root.Remove(p.part)
			c.keep = true
		} else {
			r.setMeta(p.part, p.Entry)
			if !r.opts.Overwrite {
				if _, err := r.root.Lstat(p.name); !errors.Is(err, fs.ErrNotExist) {
					return r.existsError(p.Path)
				}
			}
			if err := r.root.Rename(p.part, p.name); err != nil {
				return (&Error{Code: CodeIO, Message: fmt.Sprintf("cannot save %s in %s: %s", p.Path, r.dirName(), cause(err)), err: err}).
					tellPeer("the receiving side cannot save %s", quote(p.Path))
			}
		}
	}
	// A kept file was not written by this transfer: its mode and times stay as they are.
	r.files++
	r.prog.done()
	return nil
}

// setMeta applies the mode of e, less this process's umask (as cp and tar do without -p),
// and its modification time to the file name, which this transfer wrote.
func (r *receiver) setMeta(name string, e Entry) {
	_ = r.root.Chmod(name, modeOr(e.Mode, 0o644)&^r.umask)
	if !e.ModTime.IsZero() {
		_ = r.root.Chtimes(name, e.ModTime, e.ModTime)
	}
}

// sameContent reports whether the file name (still a regular file) has size bytes whose
// SHA-256 is sum. Any failure to read it counts as different.
func (r *receiver) sameContent(name string, size int64, sum []byte) bool {
	fi, err := r.root.Lstat(name)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
		return false
	}
	h, err := r.hashFile(name, size, make([]byte, 64<<10))
	return err == nil && bytes.Equal(h.Sum(nil), sum)
}

// abandon cleans up after a failure in the middle of c: the partial file is kept for a
// later resume unless its content is known to be bad or it is empty.
func (r *receiver) abandon(c *incoming, err error) {
	if c.keep || (c.f == nil && c.p.target != toFile) {
		return
	}
	if c.f != nil {
		c.f.Close()
	}
	var e *Error
	bad := errors.As(err, &e) && !e.Remote && (e.Code == CodeProtocol || e.Code == CodeVerify)
	if bad || c.written == 0 {
		_ = r.root.Remove(c.p.part)
	}
}

// lostWhileReceiving tells the user about the partial file kept after a lost connection,
// and that running the transfer again resumes from it.
func (r *receiver) lostWhileReceiving(c *incoming) ifLost {
	if c.keep || c.p.target != toFile || c.written == 0 {
		return ifLost{}
	}
	return ifLost{note: "; the partial file is kept as " + filepath.ToSlash(c.p.part), fix: FixRunAgain}
}

// writeError describes a failure to write the content of c.
func (r *receiver) writeError(c *incoming, err error) error {
	p := c.p
	switch p.target {
	case toStdout:
		return (&Error{Code: CodeIO, Message: fmt.Sprintf("cannot write %s to standard output: %s", p.Path, cause(err)), err: err}).
			tellPeer("the receiving side cannot write %s to its standard output", quote(p.Path))
	case toText:
		return (&Error{Code: CodeIO, Message: fmt.Sprintf("cannot write the text message %s: %s", p.Path, cause(err)), err: err}).
			tellPeer("the receiving side cannot show the text message %s", quote(p.Path))
	}
	if isDiskFull(err) {
		return (&Error{Code: CodeDiskFull, err: err, Fix: FixFreeSpaceRunAgain, Message: fmt.Sprintf(
			"disk full while writing %s (%s); the partial file is kept as %s",
			p.Path, ofTotal(c.written, p.Size, "written"), filepath.ToSlash(p.part))}).
			tellPeer("the receiving side ran out of disk space while writing %s (%s); what arrived is kept for resuming", quote(p.Path), ofTotal(c.written, p.Size, "written"))
	}
	return (&Error{Code: CodeIO, Message: fmt.Sprintf("cannot write %s in %s: %s", p.Path, r.dirName(), cause(err)), err: err}).
		tellPeer("the receiving side cannot write %s", quote(p.Path))
}
