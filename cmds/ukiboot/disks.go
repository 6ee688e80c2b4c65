package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/ukiboot/ukiboot/pkg/disk"
)

// partitions are the ESP/XBOOTLDR directories ukiboot reads.
type partitions struct {
	dirs []string
	// names[i] is how the user knows dirs[i]: for a partition ukiboot
	// mounted, its device and GPT label or kind ("vda1 (ESP)"); for a
	// -root directory, the directory as given. Name files with display.
	names []string
	// mounted is true when ukiboot mounted the partitions (no -root).
	mounted bool
	// close unmounts what was mounted.
	close func()
	// writable makes the partition mounted on dir writable for one change
	// (the boot-counting rename); restore makes it read-only again.
	writable func(dir string) (restore func() error, err error)
}

// display names the file at path (relative to the partition, as
// "/EFI/Linux/x.efi") on the partition read from dir as the user knows it:
// "vda1 (ESP):/EFI/Linux/x.efi" for a partition ukiboot mounted,
// "DIR/EFI/Linux/x.efi" for a -root DIR. A dir that is not one of the
// partitions is joined with path.
func (p *partitions) display(dir, path string) string {
	for i, d := range p.dirs {
		if d != dir || i >= len(p.names) {
			continue
		}
		if p.mounted {
			return p.names[i] + ":" + "/" + strings.TrimPrefix(filepath.ToSlash(path), "/")
		}
		return filepath.Join(p.names[i], path)
	}
	return filepath.Join(dir, path)
}

// scanDisks returns the partition directories to read: the -root
// directories as given, or the ESP and XBOOTLDR partitions found on the
// block devices, mounted read-only, nosuid, nodev, noexec.
func scanDisks(o *options, logf func(string, ...any)) (*partitions, error) {
	if len(o.roots) > 0 {
		// Not ours to remount: a rename works if the directory is writable.
		return &partitions{dirs: o.roots, names: o.roots, close: func() {}, writable: func(string) (func() error, error) {
			return func() error { return nil }, nil
		}}, nil
	}
	return mountDisks(o, logf, disk.Scanner{})
}

// noDiskHint is what to do when no partition was found or mounted.
const noDiskHint = "load the storage driver (the README's Disks section lists the modules: virtio_blk, ahci and sd_mod, nvme, " +
	"usb-storage, mmc_block) or give the partition with -root DIR"

// noMountHint is what to do when partitions were found but none mounted.
const noMountHint = "load the file system drivers (vfat with nls_cp437 and nls_iso8859_1; ext4 for an XBOOTLDR on ext4) or give the partition with -root DIR"

func mountDisks(o *options, logf func(string, ...any), s disk.Scanner) (*partitions, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.wait)
	defer cancel()
	res, err := s.WaitScan(ctx, disk.ESP)
	if res == nil || len(res.Partitions) == 0 {
		// A *disk.NotFoundError lists the devices seen and their errors.
		if err == nil {
			err = errors.New("no ESP or XBOOTLDR partition found")
		}
		return nil, fmt.Errorf("scanning disks for %s: %w\n%s", o.wait, err, noDiskHint)
	}
	for _, e := range res.Errors {
		logf("disk: %v", e)
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
		return nil, fmt.Errorf("no ESP or XBOOTLDR partition could be mounted\n%s", noMountHint)
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
					return nil, err // names the device
				}
				return m.RemountRO, nil
			}
		}
		return nil, fmt.Errorf("%s is not a partition ukiboot mounted", dir)
	}
	dirs := disk.Dirs(ms)
	names := make([]string, len(dirs))
	for i, d := range dirs {
		for _, m := range ms {
			if m.Dir == d {
				names[i] = partitionName(m.Partition, s.DevDir)
			}
		}
	}
	return &partitions{dirs: dirs, names: names, mounted: true, close: cleanup, writable: writable}, nil
}

// partitionName is how the user knows p: its device node under devDir
// (disk.DefaultDevDir when empty) and its GPT label, or its kind when it
// has none: "vda1 (ESP)", "nvme0n1p2 (boot)". Characters of the label
// that do not print are shown as '?': the label comes from the disk.
func partitionName(p disk.Partition, devDir string) string {
	if devDir == "" {
		devDir = disk.DefaultDevDir
	}
	dev := p.Device
	if rel, err := filepath.Rel(devDir, p.Device); err == nil && !strings.HasPrefix(rel, "..") {
		dev = rel
	}
	label := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		return '?'
	}, strings.TrimSpace(p.Name))
	if label == "" {
		label = strings.ToUpper(string(p.Kind))
	}
	return dev + " (" + label + ")"
}
