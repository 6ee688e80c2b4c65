package main

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/bls"
	"golang.org/x/sys/unix"
)

// renameEntry does systemd-boot's boot counting before an attempt: the
// entry file name+LEFT-DONE.ext becomes next (name+(LEFT-1)-(DONE+1).ext,
// planned by the caller), on its own partition, which is writable only for
// the rename and synced. Nothing else on any disk is ever written.
//
// renamed says whether the file now has the new name; then the entry is
// updated to it, even when syncing or making the partition read-only again
// failed (err says what failed): a rename that happened is never
// forgotten.
func renameEntry(e *bls.Entry, next string, parts *partitions) (renamed bool, err error) {
	if next == e.Path {
		return true, nil // both counters saturated ("+0-9"): the name stays
	}
	dir := strings.TrimSuffix(e.Root.Path, "/")
	oldPath := dir + e.Path
	newPath := dir + next
	restore, err := parts.writable(e.Root.Path)
	if err != nil {
		return false, fmt.Errorf("cannot rename %s to %s: %w", e.DisplayPath(), path.Base(next), err)
	}
	err = renameNoReplace(oldPath, newPath)
	renamed = err == nil
	if err != nil {
		err = fmt.Errorf("cannot rename %s to %s: %w", e.DisplayPath(), path.Base(next), err)
	} else if serr := syncDir(path.Dir(newPath)); serr != nil {
		err = fmt.Errorf("syncing %s: %w", path.Dir(newPath), serr)
	}
	if rerr := restore(); rerr != nil && err == nil {
		err = fmt.Errorf("making %s read-only again: %w", e.Root.Path, rerr)
	}
	if renamed {
		markRenamed(e, next)
	}
	return renamed, err
}

// markRenamed updates the entry to its new file name and counter.
func markRenamed(e *bls.Entry, next string) {
	name := path.Base(next)
	e.Path = next
	if e.UKI != "" && e.Type == bls.Type2 {
		e.UKI = e.Path
	}
	e.FileName = name
	if _, cnt, ok := bls.ParseCounter(name, path.Ext(name)); ok {
		e.Counter = &cnt
		e.TriesLeft, e.TriesDone = cnt.Left, cnt.Done
	}
}

// renameNoReplace renames oldPath to newPath unless newPath exists: the
// boot-counting rename must never delete another file (rename(2) would
// replace it; UEFI's SetInfo, which systemd-boot renames with, refuses).
// A file system without RENAME_NOREPLACE gets a check before the rename.
func renameNoReplace(oldPath, newPath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldPath, unix.AT_FDCWD, newPath, unix.RENAME_NOREPLACE)
	if err != unix.EINVAL && err != unix.ENOSYS {
		if err != nil {
			return &os.LinkError{Op: "rename", Old: oldPath, New: newPath, Err: err}
		}
		return nil
	}
	if _, err := os.Lstat(newPath); err == nil {
		return &os.LinkError{Op: "rename", Old: oldPath, New: newPath, Err: os.ErrExist}
	}
	return os.Rename(oldPath, newPath)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
