package disk

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// flags every mount of this package has.
const baseFlags = syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC

func mountRO(dev, dir, fstype string, ro roMount) error {
	if ro.holdRO {
		release, err := holdReadOnly(dev)
		if err != nil {
			return err
		}
		defer release()
	}
	err := syscall.Mount(dev, dir, fstype, baseFlags|syscall.MS_RDONLY, ro.data)
	if err == syscall.ENODEV {
		return fmt.Errorf("%w (the kernel does not support %s)", err, fstype)
	}
	return err
}

// holdReadOnly makes the block device dev read-only (BLKROSET) until
// release is called; a device that already is stays so.
func holdReadOnly(dev string) (release func(), err error) {
	f, err := os.Open(dev)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	ro, err := unix.IoctlGetInt(fd, unix.BLKROGET)
	if err == nil && ro == 0 {
		err = unix.IoctlSetPointerInt(fd, unix.BLKROSET, 1)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("making the block device read-only while it is mounted: %w", err)
	}
	if ro != 0 {
		f.Close()
		return func() {}, nil
	}
	return func() {
		// Writable again for the boot-counting rename (RemountRW); the
		// mount itself stays read-only.
		unix.IoctlSetPointerInt(fd, unix.BLKROSET, 0)
		f.Close()
	}, nil
}

func remount(dir string, readOnly bool) error {
	flags := uintptr(baseFlags | syscall.MS_REMOUNT)
	if readOnly {
		flags |= syscall.MS_RDONLY
	}
	return syscall.Mount("", dir, "", flags, "")
}

func unmount(dir string) error {
	return syscall.Unmount(dir, 0)
}
