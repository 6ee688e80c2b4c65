package main

import (
	"fmt"
	"os"
	"path"
	"strings"

	"github.com/ukiboot/ukiboot/pkg/bls"
)

// bumpCounter does systemd-boot's boot counting before an attempt: the
// entry file name+LEFT-DONE.ext becomes name+(LEFT-1)-(DONE+1).ext, on
// its own partition, which is writable only for the rename and synced.
// Nothing else on any disk is ever written. The entry is updated to the
// new name.
func bumpCounter(e *bls.Entry, parts *partitions) error {
	c := e.Counter
	next := c.Next()
	dir := strings.TrimSuffix(e.Partition.Path, "/")
	oldPath := dir + e.Path
	newPath := path.Join(path.Dir(oldPath), next)
	restore, err := parts.writable(e.Partition.Path)
	if err != nil {
		return err
	}
	err = os.Rename(oldPath, newPath)
	if err == nil {
		err = syncDir(path.Dir(newPath))
	}
	if rerr := restore(); rerr != nil && err == nil {
		err = fmt.Errorf("remounting read-only: %w", rerr)
	}
	if err != nil {
		return fmt.Errorf("cannot rename %s to %s: %w", oldPath, next, err)
	}
	e.Path = path.Join(path.Dir(e.Path), next)
	if e.UKI != "" && e.Type == bls.Type2 {
		e.UKI = e.Path
	}
	e.FileName = next
	if _, cnt, ok := bls.ParseCounter(next, path.Ext(next)); ok {
		e.Counter = &cnt
		e.TriesLeft, e.TriesDone = cnt.Left, cnt.Done
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
