package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ukiboot/ukiboot/pkg/disk"
)

// partitions are the ESP/XBOOTLDR directories ukiboot reads.
type partitions struct {
	dirs []string
	// close unmounts what was mounted.
	close func()
	// writable makes the partition mounted on dir writable for one change
	// (the boot-counting rename); restore makes it read-only again.
	writable func(dir string) (restore func() error, err error)
}

// scanDisks returns the partition directories to read: the -root
// directories as given, or the ESP and XBOOTLDR partitions found on the
// block devices, mounted read-only, nosuid, nodev, noexec.
func scanDisks(o *options, logf func(string, ...any)) (*partitions, error) {
	if len(o.roots) > 0 {
		// Not ours to remount: a rename works if the directory is writable.
		return &partitions{dirs: o.roots, close: func() {}, writable: func(string) (func() error, error) {
			return func() error { return nil }, nil
		}}, nil
	}
	return mountDisks(o, logf)
}

func mountDisks(o *options, logf func(string, ...any)) (*partitions, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.wait)
	defer cancel()
	var s disk.Scanner
	res, err := s.WaitScan(ctx, disk.ESP)
	if res != nil {
		for _, e := range res.Errors {
			logf("disk: %v", e)
		}
	}
	if res == nil || len(res.Partitions) == 0 {
		if err == nil {
			err = errors.New("no ESP or XBOOTLDR partition found")
		}
		return nil, fmt.Errorf("scanning disks for %s: %w", o.wait, err)
	}
	base, err := os.MkdirTemp("", "ukiboot-")
	if err != nil {
		return nil, err
	}
	ms, errs := disk.MountAll(res.Partitions, base)
	for _, e := range errs {
		logf("skipping: %v", e)
	}
	cleanup := func() {
		if err := disk.UnmountAll(ms); err != nil {
			logf("unmount: %v", err)
		}
		os.Remove(base)
	}
	if len(ms) == 0 {
		cleanup()
		return nil, errors.New("no ESP or XBOOTLDR partition could be mounted")
	}
	for _, m := range ms {
		if o.verbose {
			logf("mounted %s (%s, %s) on %s", m.Partition.Device, m.Partition.Kind, m.FSType, m.Dir)
		}
	}
	writable := func(dir string) (func() error, error) {
		for _, m := range ms {
			if m.Dir == dir {
				if err := m.RemountRW(); err != nil {
					return nil, fmt.Errorf("remounting %s read-write: %w", m.Partition.Device, err)
				}
				return m.RemountRO, nil
			}
		}
		return nil, fmt.Errorf("%s is not a partition ukiboot mounted", dir)
	}
	return &partitions{dirs: disk.Dirs(ms), close: cleanup, writable: writable}, nil
}
