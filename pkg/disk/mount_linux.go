package disk

import (
	"fmt"
	"syscall"
)

// flags every mount of this package has.
const baseFlags = syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC

func mountRO(dev, dir, fstype string) error {
	err := syscall.Mount(dev, dir, fstype, baseFlags|syscall.MS_RDONLY, "")
	if err == syscall.ENODEV {
		return fmt.Errorf("%w (the kernel does not support %s)", err, fstype)
	}
	return err
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
