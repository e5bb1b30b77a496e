package transfer

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
)

// partName returns the name of the partial file for name: NAME.p2pcopy-part, with the
// base name shortened (and made unique with a hash) if that would exceed 255 bytes.
func partName(name string) string {
	dir, base := filepath.Split(name)
	if len(base)+len(partSuffix) <= maxComponentBytes {
		return name + partSuffix
	}
	sum := sha256.Sum256([]byte(base))
	tag := "~" + hex.EncodeToString(sum[:4])
	cut := maxComponentBytes - len(partSuffix) - len(tag)
	for cut > 0 && base[cut]&0xc0 == 0x80 { // do not split a UTF-8 sequence
		cut--
	}
	return dir + base[:cut] + tag + partSuffix
}

// check decides where each entry goes and refuses the transfer if anything is wrong:
// more than one entry for standard output, paths through symlinks, existing files
// (except complete candidates: regular files of exactly the announced size, which are
// offered for resuming at their end), not enough free space. It chooses what A offers.
// Nothing is written.
func (r *receiver) check() error {
	outputs := 0
	for i := range r.plan {
		p := &r.plan[i]
		switch {
		case p.Kind == KindDir:
			p.target = toDir
		case p.Kind == KindText && r.opts.Text != nil:
			p.target = toText
		case r.opts.Stdout != nil:
			p.target = toStdout
			outputs++
		default:
			p.target = toFile
		}
	}
	if outputs > 1 {
		return newError(CodeRejected, "the peer sends %d files, but standard output takes a single file", outputs).fix(FixOneOutput).
			tellPeer("the receiver writes to its standard output, which takes a single file, and this transfer has %d", outputs)
	}
	if r.root == nil {
		return nil
	}

	dirs := make(map[string]dirState)
	var existing []string
	for i := range r.plan {
		p := &r.plan[i]
		if p.target != toFile && p.target != toDir {
			continue
		}
		st, err := r.dirState(path.Dir(p.Path), dirs)
		if err != nil {
			return err
		}
		if st == dirMissing {
			if p.target == toDir {
				dirs[p.Path] = dirMissing
			}
			continue
		}
		if err := r.checkFinal(p, dirs, &existing); err != nil {
			return err
		}
		if p.target == toFile {
			if err := r.checkPart(p); err != nil {
				return err
			}
		}
	}
	if len(existing) > 0 && !r.opts.Overwrite {
		if len(existing) == 1 {
			return r.existsError(existing[0])
		}
		return newError(CodeExists, "%s and %d other files already exist in %s", existing[0], len(existing)-1, r.dirName()).fix(FixReplaceOrElsewhere).
			tellPeer("%s and %d other files already exist on the receiving side, which did not allow replacing them", quote(existing[0]), len(existing)-1)
	}
	r.chooseOffers()
	return r.checkSpace()
}

type dirState int

const (
	dirExists  dirState = iota + 1 // a real directory (not a symlink)
	dirMissing                     // does not exist: nothing below it exists either
)

// dirState returns whether the directory dir ('/'-separated, relative to the root)
// exists, refusing symlinks and non-directories on the way. Results are cached in
// dirs so that every directory is looked at once.
func (r *receiver) dirState(dir string, dirs map[string]dirState) (dirState, error) {
	if dir == "." {
		return dirExists, nil
	}
	if st, ok := dirs[dir]; ok {
		return st, nil
	}
	st, err := r.dirState(path.Dir(dir), dirs)
	if err != nil || st == dirMissing {
		dirs[dir] = st
		return st, err
	}
	fi, err := r.root.Lstat(filepath.FromSlash(dir))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st = dirMissing
	case err != nil:
		return 0, r.lookError(dir, err)
	case fi.Mode()&fs.ModeSymlink != 0:
		return 0, r.symlinkError(dir)
	case !fi.IsDir():
		return 0, r.notDirError(dir)
	default:
		st = dirExists
	}
	dirs[dir] = st
	return st, nil
}

// checkFinal looks at the final name of an entry whose parent directory exists.
func (r *receiver) checkFinal(p *planned, dirs map[string]dirState, existing *[]string) error {
	fi, err := r.root.Lstat(p.name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if p.target == toDir {
			dirs[p.Path] = dirMissing
		}
	case err != nil:
		return r.lookError(p.Path, err)
	case p.target == toDir && fi.Mode()&fs.ModeSymlink != 0:
		return r.symlinkError(p.Path)
	case p.target == toDir && !fi.IsDir():
		return r.notDirError(p.Path)
	case p.target == toDir:
		p.exists = true
		dirs[p.Path] = dirExists
	case fi.IsDir():
		return newError(CodeExists, "%s already exists in %s as a directory", p.Path, r.dirName()).fix(FixMoveOrElsewhere).
			tellPeer("%s already exists on the receiving side as a directory", quote(p.Path))
	case p.Kind == KindFile && fi.Mode().IsRegular() && fi.Size() == p.Size:
		// Probably received by an earlier run that was interrupted later: offered in A as
		// complete, kept if the sender's hash matches, refused (unless Overwrite) if not.
		p.exists, p.complete = true, true
	default:
		p.exists = true
		*existing = append(*existing, p.Path)
	}
	return nil
}

// checkPart looks at the partial file left by an earlier run, if any.
func (r *receiver) checkPart(p *planned) error {
	fi, err := r.root.Lstat(p.part)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return r.lookError(filepath.ToSlash(p.part), err)
	case !fi.Mode().IsRegular():
		return newError(CodeExists, "%s exists in %s and is not a regular file", filepath.ToSlash(p.part), r.dirName()).fix(FixMoveOrElsewhere).
			tellPeer("the partial file of %s on the receiving side is not a regular file", quote(p.Path))
	case p.Kind == KindFile && !p.complete: // the final name takes precedence over a partial file
		p.partSize = min(fi.Size(), p.Size)
	}
	return nil
}

// proofOverhead is the size of the sender's P message without proofs: P{"proofs":[]}.
// P is larger than the A it answers, so the offers are counted in P's terms.
const proofOverhead = len(`P{"proofs":[]}`)

// offerCost is the size of one proof in the P message that answers an offer, with its
// separating comma: {"i":I,"offset":OFFSET,"sha256":"64 hex digits"}, — the offer in A is
// the same without the hash. The receiver bounds the count so that both fit in a message.
func offerCost(i int, offset int64) int {
	return len(`{"i":,"offset":,"sha256":""},`) + len(strconv.Itoa(i)) + len(strconv.FormatInt(offset, 10)) + 2*sha256.Size
}

// chooseOffers decides what A offers for resuming: the usable bytes of partial files
// and the complete candidates (final names that already hold Size bytes). The A message,
// and the sender's P that answers it, must not exceed MaxMessageSize, which leaves room
// for about 2,200 to 2,600 offers depending on the digits of the indices and offsets. When more could be
// offered, the largest are (they save the most); for the others:
//   - a partial file is started over: it is truncated when the entry's S{i, 0} arrives;
//   - a complete candidate is received again into its partial file and, once verified,
//     compared with the existing file (see finish): if identical, the existing file is
//     kept and the partial file removed; if not, the transfer fails with "exists"
//     unless Overwrite. An existing file is never overwritten without Overwrite, and
//     the re-run still finishes, at the cost of sending those files again.
func (r *receiver) chooseOffers() {
	type offer struct {
		i      int
		offset int64
	}
	var offers []offer
	for i := range r.plan {
		p := &r.plan[i]
		switch {
		case p.target != toFile:
		case p.complete && p.Size > 0:
			offers = append(offers, offer{i, p.Size})
		case !p.complete && p.partSize > 0:
			offers = append(offers, offer{i, p.partSize})
		}
		// An empty complete candidate needs no offer: S{i, 0} is S{i, Size}.
	}
	slices.SortStableFunc(offers, func(a, b offer) int { return cmp.Compare(b.offset, a.offset) })
	budget := MaxMessageSize - proofOverhead
	full := false
	for _, o := range offers {
		p := &r.plan[o.i]
		if cost := offerCost(o.i, o.offset); !full && cost <= budget {
			budget -= cost
			p.offer, p.partSize = true, o.offset
		} else {
			full = true // from here on nothing is offered, so only the largest are
			p.partSize = 0
		}
	}
}

func (r *receiver) checkSpace() error {
	var need, again int64
	for _, p := range r.plan {
		switch {
		case p.target != toFile || p.Size <= 0:
		case p.complete && !p.offer:
			// Received again into a partial file that is removed once found identical
			// (or that makes the transfer fail): one at a time.
			again = max(again, p.Size)
		default:
			need += p.Size - p.partSize // 0 for an offered complete candidate
		}
	}
	need += again
	if need <= 0 {
		return nil
	}
	free := r.opts.FreeSpace
	if free == nil {
		free = diskFree
	}
	avail, err := free(r.opts.Dir)
	if err != nil || avail < 0 || need <= avail {
		return nil // unknown free space: find out while writing
	}
	return newError(CodeDiskFull, "not enough free space in %s: need %s, %s free", r.dirName(), formatBytes(need), formatBytes(avail)).fix(FixFreeSpace).
		tellPeer("the receiving side has not enough free space: the transfer needs %s", formatBytes(need))
}

// lookError reports a failure to look at path (relative to the output directory).
func (r *receiver) lookError(path string, err error) *Error {
	return (&Error{Code: CodeIO, Message: fmt.Sprintf("cannot look at %s in %s: %s", path, r.dirName(), cause(err)), err: err}).
		tellPeer("the receiving side cannot look at %s", quote(path))
}

// symlinkError refuses to write through the symbolic link path.
func (r *receiver) symlinkError(path string) *Error {
	return newError(CodeUnsafePath, "%s in %s is a symbolic link; files are never written through symbolic links", path, r.dirName()).fix(FixMoveOrElsewhere).
		tellPeer("%s is a symbolic link on the receiving side, which never writes through one", quote(path))
}

// notDirError refuses to write into path, which is not a directory.
func (r *receiver) notDirError(path string) *Error {
	return newError(CodeExists, "%s already exists in %s and is not a directory", path, r.dirName()).fix(FixMoveOrElsewhere).
		tellPeer("%s already exists on the receiving side and is not a directory", quote(path))
}
