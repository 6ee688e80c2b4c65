package bls

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// Root is the file tree of a mounted ESP or XBOOTLDR partition (or of a
// directory standing in for one) that entries are read from; files are
// opened through os.Root, relative to it. (A partition found on a block
// device is a disk.Partition.)
type Root struct {
	Path string // where it is mounted
	root *os.Root
	// display names a file on the partition as the user knows it
	// (Options.Display); nil means Path joined with the name.
	display func(dir, name string) string
}

// Display names the file name (relative to the partition, "/EFI/...") as
// the user knows it, for messages: "vda1 (ESP):/EFI/Linux/x.efi" for a
// partition the caller mounted in a private directory, else the path on
// this machine.
func (p *Root) Display(name string) string {
	if p.display != nil {
		return p.display(p.Path, name)
	}
	return strings.TrimSuffix(p.Path, "/") + name
}

// Open opens a file named by an entry, relative to the partition. Paths
// that are not normalized, and symlinks that leave the partition, are
// refused.
func (p *Root) Open(name string) (*os.File, error) {
	f, _, err := p.openStat(name)
	return f, err
}

// openStat is Open that also returns what the file's stat said.
func (p *Root) openStat(name string) (*os.File, fs.FileInfo, error) {
	clean, err := normalizePath(name)
	if err != nil {
		return nil, nil, err
	}
	full := p.Display(clean)
	// O_NONBLOCK: opening a FIFO or device must not hang the boot.
	f, err := p.root.OpenFile(strings.TrimPrefix(clean, "/"), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, &fs.PathError{Op: "open", Path: full, Err: unwrapPathError(err)}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() && !st.IsDir() {
		f.Close()
		return nil, nil, &fs.PathError{Op: "open", Path: full, Err: errors.New("not a regular file or directory")}
	}
	return f, st, nil
}

// ReadFile reads a small file named by an entry.
func (p *Root) ReadFile(name string, limit int64) ([]byte, error) {
	f, st, err := p.openStat(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file", p.Display(name))
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", p.Display(name), st.Size(), limit)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("%s: %w", p.Display(name), err)
	}
	return b, nil
}

// unwrapPathError drops the *PathError wrapper (whose path is relative to
// the root) and keeps the reason.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// HasEntries reports whether the partition mounted on path holds a file
// Load reads as an entry: a *.conf file in EntriesDir or a *.efi file in
// Type2Dir, by name only (names Load skips, such as ".x.conf", do not
// count). It reads the two directories, not the files: a disk whose
// entries are all broken still has entries, and -list shows why they do
// not boot. A directory that cannot be read holds no entries.
func HasEntries(path string) bool {
	r, err := os.OpenRoot(path)
	if err != nil {
		return false
	}
	defer r.Close()
	for _, d := range []struct{ dir, suffix string }{{EntriesDir, ".conf"}, {Type2Dir, ".efi"}} {
		f, err := r.Open(strings.TrimPrefix(d.dir, "/"))
		if err != nil {
			continue
		}
		des, _ := f.ReadDir(-1)
		f.Close()
		for _, de := range des {
			if de.Type().IsRegular() && !skipName(de.Name(), d.suffix) {
				return true
			}
		}
	}
	return false
}
