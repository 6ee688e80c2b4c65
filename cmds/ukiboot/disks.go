package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/ukiboot/ukiboot/pkg/disk"
)

// scanDisks returns the partition directories to read: the -root
// directories as given, or the ESP and XBOOTLDR partitions found on the
// block devices, mounted read-only, nosuid, nodev, noexec.
func scanDisks(o *options, logf func(string, ...any)) ([]string, func(), error) {
	if len(o.roots) > 0 {
		return o.roots, func() {}, nil
	}
	return mountDisks(o, logf)
}

func mountDisks(o *options, logf func(string, ...any)) ([]string, func(), error) {
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
		return nil, nil, fmt.Errorf("scanning disks for %s: %w", o.wait, err)
	}
	base, err := os.MkdirTemp("", "ukiboot-")
	if err != nil {
		return nil, nil, err
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
		return nil, nil, errors.New("no ESP or XBOOTLDR partition could be mounted")
	}
	for _, m := range ms {
		if o.verbose {
			logf("mounted %s (%s, %s) on %s", m.Partition.Device, m.Partition.Kind, m.FSType, m.Dir)
		}
	}
	return disk.Dirs(ms), cleanup, nil
}
