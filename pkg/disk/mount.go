package disk

import (
	"errors"
	"fmt"
	"os"
)

// Mounted is a partition mounted by [Mount].
type Mounted struct {
	// Partition is the partition that is mounted.
	Partition Partition
	// Dir is the mount point, a directory created for it.
	Dir string
	// FSType is the file system type it was mounted as.
	FSType string

	unmounted bool
	// noWrite is why RemountRW is refused (roMount.noWrite).
	noWrite string
}

// roMount is how a partition is mounted read-only so that mounting writes
// nothing to the disk. A read-only mount of ext4 still writes: the kernel
// replays the journal (INCOMPAT_RECOVER) and frees or truncates orphan
// inodes, unless the journal is not loaded ("noload") and the block
// device itself is read-only.
type roMount struct {
	// data is mount(2)'s data: "noload" for an ext4 whose journal needs
	// recovery.
	data string
	// holdRO makes the block device read-only while it is mounted
	// (BLKROSET), for ext4: the kernel then skips the orphan clean-up.
	holdRO bool
	// noWrite is why the mount may not be made writable later, "" when it
	// may: writing next to a journal that was not replayed, or past
	// orphans that were not cleaned up, could corrupt the file system.
	noWrite string
}

// roOptions returns how to mount a file system of type fstype whose ext4
// superblock (for ext4) says st.
func roOptions(fstype string, st ext4State) roMount {
	if fstype != FSExt4 {
		return roMount{}
	}
	m := roMount{holdRO: true}
	switch {
	case st.NeedsRecovery:
		m.data = "noload"
		m.noWrite = "its ext4 journal needs recovery, which ukiboot does not do (it would write to the disk); " +
			"the system replays it when it mounts the partition"
	case st.Orphans:
		m.noWrite = "its ext4 file system has orphan inodes to clean up, which ukiboot does not do (it would write to the disk); " +
			"the system cleans them up when it mounts the partition"
	}
	return m
}

// Mount mounts partition p (its Device) read-only, nosuid, nodev and
// noexec on a new directory under base, which is created if needed. The
// file system type is detected from the superblock; when it is not
// recognised, vfat and then ext4 are tried. Errors name the device and the
// file system type, not the private mount directory.
//
// Mounting writes nothing to the disk: ext4 is mounted with its block
// device held read-only and, when its journal needs recovery, with
// "noload" (see roMount); such a mount then refuses RemountRW.
func Mount(p Partition, base string) (*Mounted, error) {
	if p.Device == "" {
		return nil, fmt.Errorf("partition %d (%s): no device node", p.Number, p.Kind)
	}
	types, st, err := fsTypes(p.Device)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, fmt.Errorf("mount %s: %w", p.Device, err)
	}
	prefix := string(p.Kind)
	if prefix == "" {
		prefix = "part"
	}
	dir, err := os.MkdirTemp(base, prefix+"-")
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", p.Device, err)
	}
	var errs []error
	for _, fs := range types {
		ro := roOptions(fs, st)
		if err := mountRO(p.Device, dir, fs, ro); err != nil {
			errs = append(errs, fmt.Errorf("mount %s (%s): %w", p.Device, fs, err))
			continue
		}
		return &Mounted{Partition: p, Dir: dir, FSType: fs, noWrite: ro.noWrite}, nil
	}
	os.Remove(dir)
	return nil, errors.Join(errs...)
}

// fsTypes returns the file system types to try on dev and, for ext4, what
// its superblock says.
func fsTypes(dev string) ([]string, ext4State, error) {
	f, err := os.Open(dev)
	if err != nil {
		return nil, ext4State{}, fmt.Errorf("mount %s: %w", dev, err)
	}
	defer f.Close()
	fs, err := DetectFS(f)
	if err != nil {
		return nil, ext4State{}, fmt.Errorf("mount %s: reading superblock: %w", dev, err)
	}
	switch fs {
	case "":
		return []string{FSVFAT, FSExt4}, ext4State{}, nil
	case FSExt4:
		st, err := readExt4State(f)
		if err != nil {
			return nil, ext4State{}, fmt.Errorf("mount %s: reading superblock: %w", dev, err)
		}
		return []string{fs}, st, nil
	}
	return []string{fs}, ext4State{}, nil
}

// Unmount unmounts m and removes its directory. Calling it again does
// nothing.
func (m *Mounted) Unmount() error {
	if m.unmounted {
		return nil
	}
	if err := unmount(m.Dir); err != nil {
		return fmt.Errorf("unmount %s: %w", m.Partition.Device, err)
	}
	m.unmounted = true
	if err := os.Remove(m.Dir); err != nil {
		return fmt.Errorf("unmount %s: %w", m.Partition.Device, err)
	}
	return nil
}

// RemountRW makes m writable (still nosuid, nodev, noexec). Pair it with
// RemountRO as soon as the write is done. It is refused for an ext4 whose
// journal needed recovery or that had orphan inodes when it was mounted.
func (m *Mounted) RemountRW() error {
	if m.noWrite != "" {
		return fmt.Errorf("remount %s read-write: %s", m.Partition.Device, m.noWrite)
	}
	if err := remount(m.Dir, false); err != nil {
		return fmt.Errorf("remount %s read-write: %w", m.Partition.Device, err)
	}
	return nil
}

// RemountRO makes m read-only again.
func (m *Mounted) RemountRO() error {
	if err := remount(m.Dir, true); err != nil {
		return fmt.Errorf("remount %s read-only: %w", m.Partition.Device, err)
	}
	return nil
}
