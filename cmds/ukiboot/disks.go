package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/ukiboot/ukiboot/pkg/bls"
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
	// disk is the boot disk's name ("vda") when ukiboot mounted the
	// partitions: dirs[0] is its ESP, dirs[1] its XBOOTLDR, if any.
	disk string
	// ignored are the ESP and XBOOTLDR partitions of the scan that are
	// not read, each "vdb1 (ESP): why".
	ignored []string
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

// name is how the user knows the partition read from dir: "vda1 (ESP)",
// or the -root DIR; "" when dir is none of them.
func (p *partitions) name(dir string) string {
	for i, d := range p.dirs {
		if d == dir && i < len(p.names) {
			return p.names[i]
		}
	}
	return ""
}

// noPartitions is no partition at all: the disks could not be read, and
// only -url entries can boot.
func noPartitions() *partitions {
	return &partitions{close: func() {}, writable: func(dir string) (func() error, error) {
		return nil, fmt.Errorf("%s is not a partition ukiboot read", dir)
	}}
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
	if res == nil || !res.Has(disk.ESP) {
		// A *disk.NotFoundError lists the devices seen and their errors.
		if err == nil {
			err = errors.New("no ESP partition found")
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
	m := diskMounter(base)
	open := func(bd disk.BootDisk) (*partitions, error) { return openBootDisk(bd, s.DevDir, m, logf) }
	parts, err := pickBootDisk(res, open, s.DevDir, logf)
	if err != nil {
		os.Remove(base)
		return nil, err
	}
	parts.logChoice(o.verbose, logf)
	unmount := parts.close
	parts.close = func() {
		unmount()
		os.Remove(base)
	}
	return parts, nil
}

// pickBootDisk chooses the disk ukiboot boots from and returns its
// partitions, opened with open. The boot order of the firmware is not
// known here (coreboot has none), so the rule is: of the ESPs in the
// order of res.BootDisks (hardware order, the same on every boot), the
// first whose ESP or XBOOTLDR holds an entry (bls.HasEntries) wins, with
// the XBOOTLDR of its own disk; when none holds one, the first that
// mounts, so that the user is told where ukiboot looked. That is the disk
// systemd-boot would run from if the firmware tried the disks in that
// order and passed over those with nothing to boot. Every other ESP and
// XBOOTLDR is left alone (unmounted) and listed in the result's ignored,
// with why.
func pickBootDisk(res *disk.ScanResult, open func(disk.BootDisk) (*partitions, error), devDir string, logf func(string, ...any)) (*partitions, error) {
	disks, ignoredParts := res.BootDisks()
	chosen, at, state := tryBootDisks(disks, open, logf)
	if chosen == nil {
		return nil, fmt.Errorf("no ESP could be mounted\n%s", noMountHint)
	}
	chosen.ignored = passedOver(disks, at, state, devDir)
	for _, ig := range ignoredParts {
		chosen.ignored = append(chosen.ignored, partitionName(ig.Partition, devDir)+": "+ig.Why)
	}
	return chosen, nil
}

// tryBootDisks opens the disks in order until one has entries and returns
// it and its index, or the first that opened when none has; state[i] says
// why disks[i] was passed over ("" when it was not tried). Every disk
// opened but not returned is closed.
func tryBootDisks(disks []disk.BootDisk, open func(disk.BootDisk) (*partitions, error), logf func(string, ...any)) (chosen *partitions, at int, state []string) {
	state = make([]string, len(disks))
	for i, bd := range disks {
		p, err := open(bd)
		if err != nil {
			logf("skipping: %v", err)
			state[i] = "could not be mounted"
			continue
		}
		if p.hasEntries() {
			if chosen != nil {
				chosen.close() // the fallback
			}
			return p, i, state
		}
		state[i] = "holds no boot entries"
		if chosen == nil {
			chosen, at = p, i // the fallback, while none has entries
		} else {
			p.close()
		}
	}
	return chosen, at, state
}

// passedOver says, for each ESP and XBOOTLDR of disks but those of
// disks[at], why it is not read: "vdb1 (ESP): on another disk: vdb holds
// no boot entries".
func passedOver(disks []disk.BootDisk, at int, state []string, devDir string) []string {
	boot := disks[at]
	var notes []string
	for i, bd := range disks {
		if i == at {
			continue
		}
		st := state[i]
		if st == "" {
			st = "comes after the boot disk " + boot.Disk + " in hardware order"
		}
		if bd.Disk == boot.Disk {
			notes = append(notes, partitionName(bd.ESP, devDir)+": another ESP of the boot disk "+boot.Disk+"; this one "+st)
			continue
		}
		why := "on another disk: " + bd.Disk + " " + st
		notes = append(notes, partitionName(bd.ESP, devDir)+": "+why)
		// A disk's BootDisks are adjacent and share its XBOOTLDR: name it once.
		if bd.XBOOTLDR != nil && (i+1 == len(disks) || disks[i+1].Disk != bd.Disk) {
			notes = append(notes, partitionName(*bd.XBOOTLDR, devDir)+": "+why)
		}
	}
	return notes
}

// mounter mounts partitions for openBootDisk: real mounts
// (diskMounter) or, in tests, directories.
type mounter struct {
	mount   func(disk.Partition) (dir string, err error)
	unmount func(dir string) error
	// writable is partitions.writable.
	writable func(dir string) (restore func() error, err error)
}

// diskMounter mounts partitions with disk.Mount (read-only, nosuid,
// nodev, noexec) under base.
func diskMounter(base string) mounter {
	ms := map[string]*disk.Mounted{}
	return mounter{
		mount: func(p disk.Partition) (string, error) {
			m, err := disk.Mount(p, base)
			if err != nil {
				return "", err // names the device
			}
			ms[m.Dir] = m
			return m.Dir, nil
		},
		unmount: func(dir string) error {
			m, ok := ms[dir]
			if !ok {
				return nil
			}
			delete(ms, dir)
			return m.Unmount()
		},
		writable: func(dir string) (func() error, error) {
			m, ok := ms[dir]
			if !ok {
				return nil, fmt.Errorf("%s is not a partition ukiboot mounted", dir)
			}
			if err := m.RemountRW(); err != nil {
				return nil, err // names the device
			}
			return m.RemountRO, nil
		},
	}
}

// openBootDisk mounts the ESP of bd and its XBOOTLDR with m. The ESP must
// mount; an XBOOTLDR that does not is logged and left out.
func openBootDisk(bd disk.BootDisk, devDir string, m mounter, logf func(string, ...any)) (*partitions, error) {
	dir, err := m.mount(bd.ESP)
	if err != nil {
		return nil, err
	}
	p := &partitions{mounted: true, disk: bd.Disk, dirs: []string{dir}, names: []string{partitionName(bd.ESP, devDir)}, writable: m.writable}
	if x := bd.XBOOTLDR; x != nil {
		if dir, err := m.mount(*x); err != nil {
			logf("skipping: %v", err)
		} else {
			p.dirs = append(p.dirs, dir)
			p.names = append(p.names, partitionName(*x, devDir))
		}
	}
	dirs := p.dirs
	p.close = func() {
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := m.unmount(dirs[i]); err != nil {
				logf("unmount: %v", err)
			}
		}
	}
	return p, nil
}

// logChoice logs the boot disk and the partitions left alone, with -v or
// when the boot disk has no entries (then the user wants to know where
// else ukiboot looked).
func (p *partitions) logChoice(verbose bool, logf func(string, ...any)) {
	if !verbose && p.hasEntries() {
		return
	}
	logf("%s", p.summary())
	for _, n := range p.ignored {
		logf("ignored: %s", n)
	}
}

// hasEntries reports whether any of the partitions holds an entry file.
func (p *partitions) hasEntries() bool {
	for _, d := range p.dirs {
		if bls.HasEntries(d) {
			return true
		}
	}
	return false
}

// summary says which partitions are read: "boot disk: vda (ESP vda1,
// XBOOTLDR vda2)" after a scan, "partitions: ESP /mnt/esp, then /mnt/xbl"
// with -root.
func (p *partitions) summary() string {
	switch {
	case len(p.dirs) == 0:
		return "partitions: none"
	case !p.mounted:
		return "partitions: ESP " + strings.Join(p.names, ", then ")
	}
	var parts []string
	for i, n := range p.names {
		kind := "ESP"
		if i > 0 {
			kind = "XBOOTLDR"
		}
		dev, _, _ := strings.Cut(n, " (")
		parts = append(parts, kind+" "+dev)
	}
	if p.disk == "" {
		return "boot partitions: " + strings.Join(parts, ", ")
	}
	return fmt.Sprintf("boot disk: %s (%s)", p.disk, strings.Join(parts, ", "))
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
