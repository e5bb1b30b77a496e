package transfer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
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
// more than one entry for standard output, paths through symlinks, existing files,
// not enough free space. Nothing is written.
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
		return newError(CodeRejected, "the peer sends %d files, but -o - writes a single file to standard output; choose a directory with -o instead", outputs)
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
			return newError(CodeExists, "%s already exists in %s; use --overwrite to replace it, or -o to choose another directory", existing[0], r.dirName())
		}
		return newError(CodeExists, "%s and %d other files already exist in %s; use --overwrite to replace them, or -o to choose another directory", existing[0], len(existing)-1, r.dirName())
	}
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
		return 0, &Error{Code: CodeIO, Message: fmt.Sprintf("cannot look at %s in %s: %s", dir, r.dirName(), cause(err)), err: err}
	case fi.Mode()&fs.ModeSymlink != 0:
		return 0, newError(CodeUnsafePath, "%s in %s is a symbolic link; files are never written through symbolic links: remove it or use -o to choose another directory", dir, r.dirName())
	case !fi.IsDir():
		return 0, newError(CodeExists, "%s already exists in %s and is not a directory; move it away or use -o to choose another directory", dir, r.dirName())
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
		return &Error{Code: CodeIO, Message: fmt.Sprintf("cannot look at %s in %s: %s", p.Path, r.dirName(), cause(err)), err: err}
	case p.target == toDir && fi.Mode()&fs.ModeSymlink != 0:
		return newError(CodeUnsafePath, "%s in %s is a symbolic link; files are never written through symbolic links: remove it or use -o to choose another directory", p.Path, r.dirName())
	case p.target == toDir && !fi.IsDir():
		return newError(CodeExists, "%s already exists in %s and is not a directory; move it away or use -o to choose another directory", p.Path, r.dirName())
	case p.target == toDir:
		p.exists = true
		dirs[p.Path] = dirExists
	case fi.IsDir():
		return newError(CodeExists, "%s already exists in %s as a directory; move it away or use -o to choose another directory", p.Path, r.dirName())
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
		return &Error{Code: CodeIO, Message: fmt.Sprintf("cannot look at %s in %s: %s", filepath.ToSlash(p.part), r.dirName(), cause(err)), err: err}
	case !fi.Mode().IsRegular():
		return newError(CodeExists, "%s exists in %s and is not a regular file; remove it or use -o to choose another directory", filepath.ToSlash(p.part), r.dirName())
	case p.Kind == KindFile:
		p.partSize = min(fi.Size(), p.Size)
	}
	return nil
}

func (r *receiver) checkSpace() error {
	var need int64
	for _, p := range r.plan {
		if p.target == toFile && p.Size > 0 {
			need += p.Size - p.partSize
		}
	}
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
	return newError(CodeDiskFull, "not enough free space in %s: need %s, %s free; free up space or choose another directory with -o", r.dirName(), formatBytes(need), formatBytes(avail))
}
