//go:build !linux

package disk

const errUnsupported = Error("mounting is only supported on Linux")

func mountRO(dev, dir, fstype string, ro roMount) error { return errUnsupported }

func remount(dir string, readOnly bool) error { return errUnsupported }

func unmount(dir string) error { return errUnsupported }
