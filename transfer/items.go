package transfer

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// Kind is the type of a manifest entry.
type Kind string

// Entry kinds.
const (
	KindFile   Kind = "file"
	KindDir    Kind = "dir"
	KindStream Kind = "stream"
	KindText   Kind = "text"
)

// Entry describes one thing in a manifest.
type Entry struct {
	Path    string      // relative, '/'-separated
	Kind    Kind        //
	Size    int64       // -1 when unknown (stream)
	Mode    fs.FileMode // permission bits only
	ModTime time.Time   //
}

// Item is one thing to send: its manifest entry and how to open its content.
type Item struct {
	Entry Entry
	// Open opens the content; nil for directories. For KindFile the ReadCloser should
	// also be an io.Seeker with a Stat method (an *os.File): Send checks that the file
	// did not change while it was being sent and restarts from the beginning when a
	// resume offer does not match.
	Open func() (io.ReadCloser, error)
}

func toWire(e Entry) wireEntry {
	w := wireEntry{Path: e.Path, Kind: e.Kind, Size: e.Size, Mode: uint32(e.Mode.Perm())}
	if e.Kind == KindDir {
		w.Size = 0
	}
	if !e.ModTime.IsZero() {
		w.MTime = e.ModTime.Unix()
	}
	return w
}

func fromWire(w wireEntry) Entry {
	// NFC (PROTOCOL.md §2.2), whatever the peer sent: a name read on macOS may come decomposed
	// (NFD), and the same file must have the same name on the next run, to resume.
	e := Entry{Path: norm.NFC.String(w.Path), Kind: w.Kind, Size: w.Size, Mode: fs.FileMode(w.Mode) & fs.ModePerm}
	if w.MTime != 0 {
		e.ModTime = time.Unix(w.MTime, 0)
	}
	if e.Kind == KindDir {
		e.Size = 0
	}
	return e
}

// StreamItem returns an item that sends everything r yields until io.EOF under the name
// name (KindStream, size unknown). Its Open can be used once; r is not closed.
func StreamItem(name string, r io.Reader) Item {
	return Item{
		Entry: Entry{Path: name, Kind: KindStream, Size: -1, Mode: 0o644, ModTime: time.Now()},
		Open:  func() (io.ReadCloser, error) { return io.NopCloser(r), nil },
	}
}

// TextItem returns an item that sends text as "message.txt" (KindText).
func TextItem(text string) Item {
	return Item{
		Entry: Entry{Path: "message.txt", Kind: KindText, Size: int64(len(text)), Mode: 0o644, ModTime: time.Now()},
		Open:  func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil },
	}
}

// FileItems walks one path given on the command line. A regular file becomes one entry
// named by its base name; a directory becomes the directory entry plus everything under
// it ("dir/sub/file"), directories before their contents, in lexical order. A symlink
// given as path itself is followed; symlinks and special files found inside a directory
// are skipped, and so are names the receiver would refuse (see SanitizePath) and
// leftover NAME.p2pcopy-part files. Each skip is reported in warnings, e.g.
// "skipping symlink dir/link".
//
// Every file is opened once to make sure it is readable. Errors name the path and the
// cause: "cannot read photos/x.jpg: permission denied".
func FileItems(p string) (items []Item, warnings []string, err error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s: %s", p, cause(err))
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read %s: %w", p, err)
	}
	name := filepath.Base(abs)
	if reason := pathProblem(name); reason != "" || name == string(filepath.Separator) {
		if reason == "" {
			reason = "it has no name"
		}
		return nil, nil, fmt.Errorf("cannot send %s: the receiver would refuse its name (%s)", p, reason)
	}
	w := walker{}
	switch {
	case fi.Mode().IsRegular():
		if err := w.addFile(p, name, fi); err != nil {
			return nil, nil, err
		}
	case fi.IsDir():
		if err := w.addDir(p, name, fi); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("cannot send %s: it is not a regular file or a directory", p)
	}
	return w.items, w.warnings, nil
}

type walker struct {
	items    []Item
	warnings []string
}

func entryOf(name string, fi fs.FileInfo, kind Kind) Entry {
	e := Entry{Path: name, Kind: kind, Mode: fi.Mode().Perm(), ModTime: fi.ModTime()}
	if kind == KindFile {
		e.Size = fi.Size()
	}
	return e
}

// addFile adds the regular file at osPath under the manifest name name.
func (w *walker) addFile(osPath, name string, fi fs.FileInfo) error {
	f, err := os.Open(osPath)
	if err != nil {
		return fmt.Errorf("cannot read %s: %s", osPath, cause(err))
	}
	f.Close()
	w.items = append(w.items, Item{
		Entry: entryOf(name, fi, KindFile),
		Open:  func() (io.ReadCloser, error) { return os.Open(osPath) },
	})
	return nil
}

// addDir adds the directory at osPath and everything under it.
func (w *walker) addDir(osPath, name string, fi fs.FileInfo) error {
	w.items = append(w.items, Item{Entry: entryOf(name, fi, KindDir)})
	des, err := os.ReadDir(osPath) // sorted by name
	if err != nil {
		return fmt.Errorf("cannot read %s: %s", osPath, cause(err))
	}
	for _, de := range des {
		childOS := filepath.Join(osPath, de.Name())
		child := path.Join(name, de.Name())
		if strings.HasSuffix(de.Name(), partSuffix) {
			w.warnings = append(w.warnings, "skipping partial file "+child)
			continue
		}
		if reason := pathProblem(de.Name()); reason != "" {
			w.warnings = append(w.warnings, fmt.Sprintf("skipping %s: the receiver would refuse its name (%s)", quote(child), reason))
			continue
		}
		if len(child) > maxPathBytes {
			w.warnings = append(w.warnings, fmt.Sprintf("skipping %s: the path is longer than %d bytes", quote(child), maxPathBytes))
			continue
		}
		cfi, err := de.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue // removed since ReadDir
		}
		if err != nil {
			return fmt.Errorf("cannot read %s: %s", childOS, cause(err))
		}
		switch mode := cfi.Mode(); {
		case mode&fs.ModeSymlink != 0:
			w.warnings = append(w.warnings, "skipping symlink "+child)
		case mode.IsDir():
			if err := w.addDir(childOS, child, cfi); err != nil {
				return err
			}
		case mode.IsRegular():
			if err := w.addFile(childOS, child, cfi); err != nil {
				return err
			}
		default:
			w.warnings = append(w.warnings, "skipping special file "+child)
		}
	}
	return nil
}
