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
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Limits bound what a receiver accepts. Zero fields take the defaults.
type Limits struct {
	MaxEntries    int   // entries in the manifest; default 200 000
	MaxPathBytes  int   // bytes in one path; default (and at most) 4096
	MaxTotalBytes int64 // total content bytes; default 1 PiB (1<<50)
}

const (
	defaultMaxEntries    = 200_000
	defaultMaxTotalBytes = 1 << 50
	// maxManifestPathBytes bounds the memory a manifest can make the receiver use.
	maxManifestPathBytes = 64 << 20
)

func (l Limits) withDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = defaultMaxEntries
	}
	if l.MaxPathBytes <= 0 || l.MaxPathBytes > maxPathBytes {
		l.MaxPathBytes = maxPathBytes
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = defaultMaxTotalBytes
	}
	return l
}

// ReceiveOptions configures Receive.
type ReceiveOptions struct {
	// Dir is the output directory; it must exist. "" means the current directory.
	// Unused when Stdout is set.
	Dir string
	// Stdout, if non-nil ("-o -"), receives the content of the single non-directory
	// entry instead of a file; a transfer with more than one is refused.
	Stdout io.Writer
	// Text receives the content of KindText entries (the CLI passes its standard
	// output). If nil, text is saved as a file like any other entry. The content is
	// written as the peer sent it: strip control characters before showing it on a
	// terminal.
	Text io.Writer
	// Overwrite allows replacing existing files. Without it an existing file is never
	// replaced: a regular file of exactly an entry's size is kept if its content turns
	// out to be the entry's (a run repeated after an interruption); any other existing
	// file makes the transfer fail with code "exists".
	Overwrite bool
	Limits    Limits
	// Confirm, if set, is called once the whole manifest arrived and passed the safety
	// checks. A non-nil error declines the transfer (X "rejected"). Its context is
	// cancelled if the peer gives up meanwhile.
	Confirm func(ctx context.Context, entries []Entry) error
	// FreeSpace returns the bytes available in dir, or -1 if unknown. Default: statfs.
	FreeSpace func(dir string) (int64, error)
	// IdleTimeout is how long Receive waits while nothing at all arrives from the peer
	// (no message and no keep-alive) before it fails with code "timeout"; 0 means
	// DefaultIdleTimeout.
	IdleTimeout time.Duration
	App         string
	OnEvent     func(Event)

	goos string // tests: apply this system's file-name rules instead of runtime.GOOS's
}

// Receive accepts a transfer from the peer on conn. It returns successfully once every
// file was verified and put in place and the peer was told so (C). Receive closes conn
// before it returns.
//
// Failures are *Error; each refusal is also reported to the peer with X. When ctx is
// cancelled, Receive tells the peer (X "cancelled"), closes conn and returns an *Error
// with code "cancelled" that wraps ctx.Err().
func Receive(ctx context.Context, conn Conn, opts ReceiveOptions) (Result, error) {
	start := time.Now()
	s := newSession(ctx, conn, roleReceive, opts.App, opts.IdleTimeout)
	defer s.end()
	if ctx.Err() != nil {
		return Result{}, s.cancelled()
	}
	r := &receiver{
		s:       s,
		opts:    opts,
		limits:  opts.Limits.withDefaults(),
		kinds:   make(map[string]Kind),
		parents: make(map[string]bool),
		goos:    receiverOS(opts.goos),
		folded:  make(map[string]string),
	}
	if opts.Stdout == nil {
		if r.opts.Dir == "" {
			r.opts.Dir = "."
		}
		root, err := os.OpenRoot(r.opts.Dir)
		if err != nil {
			e := (&Error{Code: CodeIO, Message: fmt.Sprintf("cannot open the output directory %s: %s", r.dirName(), cause(err)), err: err}).
				tellPeer("the receiving side cannot open its output directory")
			return Result{}, s.fail(e, "", ifLost{})
		}
		defer root.Close()
		r.root = root
		r.umask = processUmask()
	}
	if err := s.hello(); err != nil {
		return Result{}, err
	}
	if err := r.readManifest(); err != nil {
		return Result{}, err
	}
	if err := r.check(); err != nil {
		return Result{}, s.fail(err, "", ifLost{})
	}
	r.prog = newProgress(opts.OnEvent, r.entries)
	r.prog.manifest(r.entries)
	if err := r.confirm(); err != nil {
		return Result{}, err
	}
	accept, err := r.prepare()
	if err != nil {
		return Result{}, s.fail(err, "", ifLost{})
	}
	if err := s.write(encodeMessage(typeAccept, accept)); err != nil {
		return Result{}, s.writeFailed(err, "while accepting the transfer", ifLost{})
	}
	if len(accept.Have) > 0 {
		if err := r.resumeHandshake(); err != nil {
			return Result{}, err
		}
	}
	if err := r.receiveData(); err != nil {
		return Result{}, err
	}
	r.finishDirs()
	// Everything is verified and in place: the transfer succeeded whatever happens to C.
	s.stopWatching()
	_ = s.write(encodeMessage(typeComplete, completeMsg{Files: r.files, Bytes: r.prog.bytes}))
	r.prog.finish()
	res := Result{Files: r.files, Bytes: r.prog.bytes, Sent: r.sent, Resumed: r.resumed, Duration: time.Since(start)}
	s.waitClose()
	return res, nil
}

type target int

const (
	toFile   target = iota // a file in Dir
	toDir                  // a directory in Dir
	toStdout               // ReceiveOptions.Stdout
	toText                 // ReceiveOptions.Text
)

// planned is a manifest entry and what the receiver will do with it.
type planned struct {
	Entry
	name     string    // native path relative to the root
	part     string    // native path of the partial file
	target   target    //
	exists   bool      // the final name exists (a directory we merge into, or a file to overwrite)
	complete bool      // the final name is a regular file of exactly Size bytes (KindFile): maybe already received
	partSize int64     // bytes offered in A: Size for a complete candidate, else the usable bytes of a partial file
	offer    bool      // check chose to offer partSize bytes in A
	offered  bool      // partSize bytes were offered in A
	resume   hash.Hash // SHA-256 of the first partSize bytes, once R agreed to resume at partSize (until S)
}

type receiver struct {
	s      *session
	opts   ReceiveOptions
	limits Limits
	root   *os.Root // nil when writing to Stdout
	umask  fs.FileMode
	prog   *progress

	entries   []Entry
	plan      []planned
	kinds     map[string]Kind   // path → kind of every entry
	parents   map[string]bool   // paths that are the parent of an entry
	goos      string            // whose file-name rules apply (osnames.go)
	folded    map[string]string // case-insensitive systems: folded path → the entry's path
	total     int64
	pathBytes int

	files   int
	sent    int64
	resumed int64
}

// readManifest reads the M messages and checks each entry as it arrives.
func (r *receiver) readManifest() error {
	for {
		m, err := r.s.expect(typeManifest)
		if err != nil {
			return r.s.fail(err, "while receiving the list of files", ifLost{})
		}
		if len(r.entries)+len(m.Manifest.Entries) > r.limits.MaxEntries {
			return r.s.fail(newError(CodeLimit, "refusing the transfer: it has more than %d entries, this receiver's limit", r.limits.MaxEntries), "", ifLost{})
		}
		for _, w := range m.Manifest.Entries {
			if err := r.addEntry(fromWire(w)); err != nil {
				return r.s.fail(err, "", ifLost{})
			}
		}
		if !m.Manifest.More {
			return nil
		}
	}
}

func (r *receiver) addEntry(e Entry) error {
	name, err := SanitizePath(e.Path)
	if err != nil {
		return newError(CodeUnsafePath, "refusing the transfer: %v", err)
	}
	if len(e.Path) > r.limits.MaxPathBytes {
		return newError(CodeLimit, "refusing the transfer: the path %s is longer than this receiver's limit of %d bytes", quote(e.Path), r.limits.MaxPathBytes)
	}
	if r.pathBytes += len(e.Path); r.pathBytes > maxManifestPathBytes {
		return newError(CodeLimit, "refusing the transfer: its list of files is larger than this receiver's limit of %s", formatBytes(maxManifestPathBytes))
	}
	if strings.HasSuffix(e.Path, partSuffix) {
		return newError(CodeUnsafePath, "refusing the transfer: the name %s ends in %s, which is reserved for partial files", quote(e.Path), partSuffix)
	}
	if _, dup := r.kinds[e.Path]; dup {
		return protocolError("the peer's list of files contains %s twice", quote(e.Path))
	}
	if why := osNameProblem(e.Path, r.goos); why != "" && r.opts.Stdout == nil {
		return newError(CodeUnsafePath, "refusing the transfer: cannot save %s here: %s", quote(e.Path), why).
			tellPeer("refusing the transfer: the receiving side cannot save %s: %s", quote(e.Path), why)
	}
	if caseInsensitive(r.goos) && r.opts.Stdout == nil {
		key := foldName(e.Path)
		if other, ok := r.folded[key]; ok {
			msg := fmt.Sprintf("refusing the transfer: %s and %s differ only in case, and file names here do not; rename one on the sending side", quote(other), quote(e.Path))
			return newError(CodeUnsafePath, "%s", msg).tellPeer("%s", strings.Replace(msg, "file names here", "the receiving side's file names", 1))
		}
		r.folded[key] = e.Path
	}
	// A file cannot contain anything. Only the direct parent is checked here (deeper
	// conflicts fail harmlessly in the file system) so that the cost stays linear.
	if dir := path.Dir(e.Path); dir != "." {
		if k, ok := r.kinds[dir]; ok && k != KindDir {
			return protocolError("the peer's list of files has %s inside %s, which is not a directory", quote(e.Path), quote(dir))
		}
		r.parents[dir] = true
	}
	if e.Kind != KindDir && r.parents[e.Path] {
		return protocolError("the peer's list of files has entries inside %s, which is not a directory", quote(e.Path))
	}
	r.kinds[e.Path] = e.Kind
	if e.Kind != KindDir && e.Size > 0 {
		if r.total += e.Size; r.total > r.limits.MaxTotalBytes || r.total < 0 {
			return newError(CodeLimit, "refusing the transfer: it is larger than this receiver's limit of %s", formatBytes(r.limits.MaxTotalBytes))
		}
	}
	r.entries = append(r.entries, e)
	r.plan = append(r.plan, planned{Entry: e, name: name, part: partName(name)})
	return nil
}

// confirm asks ReceiveOptions.Confirm, watching the connection meanwhile so that a peer
// that gives up cancels the question.
func (r *receiver) confirm() error {
	s := r.s
	if r.opts.Confirm == nil {
		return nil
	}
	arrived := s.readAsync()
	cctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	answered := make(chan struct{})
	go func() {
		select {
		case <-arrived:
			cancel()
		case <-answered:
		}
	}()
	err := r.opts.Confirm(cctx, r.entries)
	close(answered)
	if s.pendingDone() {
		m, rerr := s.read()
		if rerr == nil {
			rerr = protocolError("the peer sent a %s message before the transfer was accepted", messageName(m.Type))
		}
		return s.fail(rerr, "while waiting for you to accept", ifLost{})
	}
	if s.ctx.Err() != nil {
		return s.cancelled()
	}
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Remote {
			e = &Error{Code: CodeRejected, Message: "the receiver declined the transfer", err: err}
			if msg := err.Error(); msg != "" {
				e.Message += ": " + msg
			}
		}
		return s.fail(e, "", ifLost{})
	}
	return nil
}

// prepare lists what check chose to offer for resuming (partial files and complete
// candidates) and creates the directories. It returns the A message, which says only how
// many bytes this side holds of each entry: never a hash of them (PROTOCOL.md §2.3).
func (r *receiver) prepare() (acceptMsg, error) {
	a := acceptMsg{Have: []held{}}
	for i := range r.plan {
		p := &r.plan[i]
		if !p.offer {
			continue
		}
		p.offered = true
		a.Have = append(a.Have, held{I: i, Offset: p.partSize})
	}
	for i := range r.plan {
		if p := &r.plan[i]; p.target == toDir && !p.exists && r.root != nil {
			if err := r.mkdir(p); err != nil {
				return a, err
			}
		}
	}
	return a, nil
}

// resumeHandshake reads the sender's proofs (P) for what A offered, compares each with
// this side's own hash of the same bytes and answers R with the offsets to resume at.
// The sender proves; the receiver, which holds the bytes, judges: it never reveals what
// it holds beyond their length.
func (r *receiver) resumeHandshake() error {
	s := r.s
	m, err := s.expect(typeProof)
	if err != nil {
		return s.fail(err, "while agreeing on what to resume", ifLost{})
	}
	seen := make(map[int]bool, len(m.Proof.Proofs))
	for _, pr := range m.Proof.Proofs {
		switch {
		case pr.I >= len(r.plan) || !r.plan[pr.I].offered:
			return s.fail(protocolError("the peer proved entry %d, which was not offered for resuming", pr.I), "", ifLost{})
		case pr.Offset != r.plan[pr.I].partSize:
			return s.fail(protocolError("the peer proved %d bytes of %s, but %d were offered", pr.Offset, r.plan[pr.I].Path, r.plan[pr.I].partSize), "", ifLost{})
		case seen[pr.I]:
			return s.fail(protocolError("the peer proved %s twice", r.plan[pr.I].Path), "", ifLost{})
		}
		seen[pr.I] = true
	}
	reply := resumeMsg{Resume: []held{}}
	buf := make([]byte, 64<<10)
	for _, pr := range m.Proof.Proofs {
		p := &r.plan[pr.I]
		name := p.part
		if p.complete {
			name = p.name
		}
		h, err := r.hashFile(name, p.partSize, buf)
		if err != nil && s.ctx.Err() != nil {
			return s.cancelled()
		}
		if err == nil && strings.EqualFold(hex.EncodeToString(h.Sum(nil)), pr.SHA256) {
			p.resume = h
			reply.Resume = append(reply.Resume, held{I: pr.I, Offset: p.partSize})
			continue
		}
		// Unreadable or different: a partial file is started over. A complete candidate
		// holds other content under the entry's name: never replaced without Overwrite.
		if p.complete && !r.opts.Overwrite {
			return s.fail(r.existsError(p.Path), "", ifLost{})
		}
		p.partSize = 0
	}
	for i := range r.plan {
		if p := &r.plan[i]; p.offered && p.resume == nil {
			p.partSize = 0 // not proven: received from the start (see finish for a complete candidate)
		}
	}
	if err := s.write(encodeMessage(typeResume, reply)); err != nil {
		return s.writeFailed(err, "while agreeing on what to resume", ifLost{})
	}
	return nil
}

// existsError refuses to replace the existing file path.
func (r *receiver) existsError(path string) *Error {
	return newError(CodeExists, "%s already exists in %s", path, r.dirName()).fix(FixReplaceOrElsewhere).
		tellPeer("%s already exists on the receiving side, which did not allow replacing it", quote(path))
}

// hashFile returns the SHA-256 of the first n bytes of the file name in the root.
func (r *receiver) hashFile(name string, n int64, buf []byte) (hash.Hash, error) {
	f, err := r.root.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	for n > 0 {
		if err := r.s.ctx.Err(); err != nil {
			return nil, err
		}
		got, err := io.ReadFull(f, buf[:min(int64(len(buf)), n)])
		h.Write(buf[:got])
		n -= int64(got)
		if err != nil {
			return nil, err
		}
	}
	return h, nil
}

// mkdir creates a directory entry. It is created private and writable; its mode and
// time are applied by finishDirs once everything inside it is written.
func (r *receiver) mkdir(p *planned) error {
	if dir := filepath.Dir(p.name); dir != "." {
		if err := r.root.MkdirAll(dir, 0o755); err != nil {
			return r.mkdirError(p, err)
		}
	}
	if err := r.root.Mkdir(p.name, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return r.mkdirError(p, err)
	}
	return nil
}

func (r *receiver) mkdirError(p *planned, err error) error {
	if isDiskFull(err) {
		return (&Error{Code: CodeDiskFull, Fix: FixFreeSpaceRunAgain, Message: fmt.Sprintf("disk full while creating the directory %s in %s", p.Path, r.dirName()), err: err}).
			tellPeer("the receiving side ran out of disk space while creating the directory %s", quote(p.Path))
	}
	return (&Error{Code: CodeIO, Message: fmt.Sprintf("cannot create the directory %s in %s: %s", p.Path, r.dirName(), cause(err)), err: err}).
		tellPeer("the receiving side cannot create the directory %s", quote(p.Path))
}

// finishDirs applies the mode and modification time of the directories this transfer
// created, deepest first.
func (r *receiver) finishDirs() {
	for i := len(r.plan) - 1; i >= 0; i-- {
		p := &r.plan[i]
		if p.target != toDir || p.exists || r.root == nil {
			continue
		}
		_ = r.root.Chmod(p.name, modeOr(p.Mode, 0o755)&^r.umask)
		if !p.ModTime.IsZero() {
			_ = r.root.Chtimes(p.name, p.ModTime, p.ModTime)
		}
	}
}

// modeOr returns the permission bits of m (never setuid, setgid or sticky), or def if
// the peer sent none.
func modeOr(m, def fs.FileMode) fs.FileMode {
	if m &= fs.ModePerm; m != 0 {
		return m
	}
	return def
}

// dirName names the output directory in messages.
func (r *receiver) dirName() string {
	if r.opts.Dir == "." || r.opts.Dir == "" {
		return "the current directory"
	}
	return r.opts.Dir
}
