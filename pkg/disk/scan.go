package disk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Defaults of [Scanner]'s fields.
const (
	DefaultSysDir   = "/sys/class/block"
	DefaultDevDir   = "/dev"
	DefaultInterval = 100 * time.Millisecond
)

// Scanner finds ESP and XBOOTLDR partitions on the block devices listed in
// sysfs. The zero value scans the running system.
type Scanner struct {
	// SysDir lists the block devices, one entry per disk or partition, as
	// /sys/class/block does (DefaultSysDir when empty).
	SysDir string
	// DevDir holds the device nodes (DefaultDevDir when empty). Tests may
	// point it at a directory of image files.
	DevDir string
	// Interval is how often WaitScan scans again (DefaultInterval when
	// zero).
	Interval time.Duration
	// Ticks, when not nil, paces WaitScan instead of a ticker of
	// Interval: it scans again each time it receives from Ticks. Tests
	// use it to scan step by step.
	Ticks <-chan time.Time
}

// ScanResult is what one scan found.
type ScanResult struct {
	// Partitions are the ESP and XBOOTLDR partitions, in the order of
	// Devices and then by partition number, with Disk and Device set.
	Partitions []Partition
	// Errors has one entry for each disk that could not be read or whose
	// partition table is broken; each names the device. Disks without any
	// partition table are not errors.
	Errors []error
	// Devices are all the whole disks seen, with what was found on each,
	// in hardware order: sorted by Path, then by name (see [Scanner.Scan]).
	Devices []Device
}

// Device is a whole disk a scan looked at.
type Device struct {
	// Name is the device node's name under DevDir ("vda", "cciss/c0d0").
	Name string
	// Node is the device node, DevDir joined with Name ("/dev/vda"): the
	// Disk of its partitions.
	Node string
	// Path is where the device sits in the hardware: the /sys/devices
	// path its SysDir entry links to ("/sys/devices/pci0000:00/
	// 0000:00:04.0/virtio2/block/vda"), as /dev/disk/by-path names it;
	// empty when the entry is not a link.
	Path string
	// Removable is sysfs's "removable": the medium can be taken out (USB
	// sticks, card readers; many USB hard disks say 0).
	Removable bool
	// Size is the size in bytes sysfs reports, or -1 when it does not. A
	// device of size 0 (an unused loop device, an empty card reader) is
	// not opened.
	Size int64
	// Table is the partition table, nil when there is none or Err is set.
	Table *Table
	// NoTable says why there is no partition table (a wrapped
	// [ErrNoTable]), when there is none.
	NoTable error
	// Err is why the device could not be read, or its broken table.
	Err error
}

// Has reports whether r holds a partition of each of the kinds.
func (r *ScanResult) Has(kinds ...Kind) bool {
	for _, k := range kinds {
		found := false
		for _, p := range r.Partitions {
			if p.Kind == k {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (s *Scanner) sysDir() string {
	if s.SysDir == "" {
		return DefaultSysDir
	}
	return s.SysDir
}

func (s *Scanner) devDir() string {
	if s.DevDir == "" {
		return DefaultDevDir
	}
	return s.DevDir
}

// Scan reads the partition table of every whole disk once. A disk that
// cannot be read is reported in the result's Errors and the others are
// still scanned; the error return is only for an unreadable SysDir.
//
// Entries of SysDir that have a "partition" file are partitions, not
// disks, and devices whose size is 0 (unused loop devices, empty drives)
// are skipped.
//
// The disks are ordered fixed ones first, then removable ones (sysfs
// "removable": USB sticks, card readers), so that a stick left in a port
// does not come first; within each, by where they sit in the hardware
// (Device.Path: PCI address, then controller port or USB port), which is
// the same on every boot, and then by their entry name in SysDir. The kernel's names
// (sda, nvme0n1) follow the order in which drivers probed the devices,
// which can change from one boot to the next; the hardware path does not.
// Virtual devices (/sys/devices/virtual: loop, ram) come after real ones.
func (s *Scanner) Scan() (*ScanResult, error) {
	sys := s.sysDir()
	ents, err := os.ReadDir(sys)
	if err != nil {
		return nil, fmt.Errorf("listing block devices: %w", err)
	}
	type found struct {
		dev   Device
		parts []Partition
	}
	var disks []found
	for _, e := range ents {
		dir := filepath.Join(sys, e.Name())
		if exists(filepath.Join(dir, "partition")) {
			continue
		}
		d, parts := s.scanDisk(dir, e.Name())
		disks = append(disks, found{d, parts})
	}
	// os.ReadDir sorted by entry name: a stable sort keeps that order
	// among equal paths.
	sort.SliceStable(disks, func(i, j int) bool {
		a, b := disks[i].dev, disks[j].dev
		if a.Removable != b.Removable {
			return b.Removable
		}
		return a.Path < b.Path
	})
	res := &ScanResult{}
	for _, f := range disks {
		res.Devices = append(res.Devices, f.dev)
		res.Partitions = append(res.Partitions, f.parts...)
		if f.dev.Err != nil {
			res.Errors = append(res.Errors, fmt.Errorf("disk %w", f.dev.Err))
		}
	}
	return res, nil
}

// hardwarePath returns the /sys/devices path the sysfs entry dir links
// to, or "" when dir is not a symbolic link.
func hardwarePath(dir string) string {
	if fi, err := os.Lstat(dir); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		return ""
	}
	p, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return ""
	}
	return p
}

// scanDisk reads the partition table of the disk whose sysfs directory is
// dir and returns what it found and its ESP and XBOOTLDR partitions.
func (s *Scanner) scanDisk(dir, entry string) (Device, []Partition) {
	name := devName(dir, entry)
	disk := filepath.Join(s.devDir(), name)
	d := Device{Name: name, Node: disk, Path: hardwarePath(dir), Size: -1}
	if n, err := readInt(filepath.Join(dir, "removable")); err == nil && n == 1 {
		d.Removable = true
	}
	if sectors, err := readInt(filepath.Join(dir, "size")); err == nil {
		d.Size = sectors * 512 // sysfs counts 512-byte sectors whatever the device's
	}
	if d.Size == 0 {
		return d, nil
	}
	t, err := ReadTable(disk)
	switch {
	case errors.Is(err, ErrNoTable):
		d.NoTable = err
		return d, nil
	case err != nil:
		d.Err = err
		return d, nil
	}
	d.Table = t
	nodes := partitionNodes(dir)
	var parts []Partition
	for _, p := range t.Boot() {
		p.Disk = disk
		node, ok := nodes[p.Number]
		if !ok {
			node = PartitionName(name, p.Number)
		}
		p.Device = filepath.Join(s.devDir(), node)
		parts = append(parts, p)
	}
	return d, parts
}

// WaitScan scans every Interval until partitions of all the wanted kinds
// (ESP when none is given) have been found, or ctx is done. Devices appear
// late on real hardware, and virtio disks only after their module loads.
//
// When ctx ends first, WaitScan returns the last result together with an
// error that says what is missing and wraps ctx.Err(). The error return is
// also used, at once, when SysDir cannot be read.
func (s *Scanner) WaitScan(ctx context.Context, want ...Kind) (*ScanResult, error) {
	if len(want) == 0 {
		want = []Kind{ESP}
	}
	ticks := s.Ticks
	if ticks == nil {
		interval := s.Interval
		if interval <= 0 {
			interval = DefaultInterval
		}
		tick := time.NewTicker(interval)
		defer tick.Stop()
		ticks = tick.C
	}
	for {
		res, err := s.Scan()
		if err != nil {
			return nil, err
		}
		if res.Has(want...) {
			return res, nil
		}
		select {
		case <-ctx.Done():
			nf := &NotFoundError{Devices: res.Devices, Err: ctx.Err()}
			for _, k := range want {
				if !res.Has(k) {
					nf.Missing = append(nf.Missing, k)
				}
			}
			return res, nf
		case <-ticks:
		}
	}
}

// PartitionName returns the usual Linux device name of partition n of disk:
// "sda1" for "sda", and "nvme0n1p1", "mmcblk0p1", "loop0p1" for disks
// whose names end in a digit.
func PartitionName(disk string, n int) string {
	if disk != "" && disk[len(disk)-1] >= '0' && disk[len(disk)-1] <= '9' {
		return disk + "p" + strconv.Itoa(n)
	}
	return disk + strconv.Itoa(n)
}

// partitionNodes maps partition numbers to device names using the child
// directories of a disk's sysfs directory that have a "partition" file.
func partitionNodes(dir string) map[int]string {
	m := map[int]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return m
	}
	for _, e := range ents {
		child := filepath.Join(dir, e.Name())
		n, err := readInt(filepath.Join(child, "partition"))
		if err != nil || n <= 0 {
			continue
		}
		m[int(n)] = devName(child, e.Name())
	}
	return m
}

// devName returns the device node name (relative to /dev) of a sysfs block
// device directory: DEVNAME from its uevent file, or its directory name
// with '!' standing for '/' as the kernel writes it.
func devName(dir, name string) string {
	if f, err := os.Open(filepath.Join(dir, "uevent")); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "DEVNAME="); ok && v != "" && !strings.Contains(v, "..") {
				return v
			}
		}
	}
	return strings.ReplaceAll(name, "!", "/")
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readInt reads a sysfs file holding one decimal number.
func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
