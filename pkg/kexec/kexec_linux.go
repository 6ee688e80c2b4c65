package kexec

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Error is a refused kexec_file_load.
type Error struct {
	Errno unix.Errno
	// InnerSignature is set when the kernel rejected the signature of the
	// kernel image itself (ENOKEY, EKEYREJECTED, EBADMSG).
	InnerSignature bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("kexec_file_load: %s (%v): %s", unix.ErrnoName(e.Errno), e.Errno, Explain(e.Errno))
}

func (e *Error) Unwrap() error { return e.Errno }

// Explain says what an errno from kexec_file_load means.
func Explain(errno unix.Errno) string {
	switch errno {
	case unix.EPERM:
		return "the running kernel refuses to kexec: it is locked down and the kernel image is not signed by a key it trusts, " +
			"or kexec was disabled (sysctl kernel.kexec_load_disabled), or ukiboot lacks CAP_SYS_BOOT"
	case unix.ENOKEY:
		return "the running kernel has no key for the kernel image's signature: sign the UKI's inner .linux with a key in the kernel's " +
			"builtin, secondary or platform (UEFI db) keyring"
	case unix.EKEYREJECTED:
		return "the running kernel rejected the kernel image's signature (key or signature not accepted)"
	case unix.EBADMSG:
		return "the kernel image's signature is malformed or the image is unsigned while signatures are required"
	case unix.ENOEXEC:
		return "the running kernel cannot load this kernel image (not a kernel for this architecture, or a format it does not know)"
	case unix.ENOMEM:
		return "not enough memory to load the kernel and initrd"
	case unix.EBUSY:
		return "another kexec image is being loaded"
	case unix.ENOSYS:
		return "the running kernel was built without kexec_file_load (CONFIG_KEXEC_FILE)"
	case unix.EINVAL:
		return "the kernel rejected the arguments (command line too long, or an image it cannot parse)"
	}
	return "unexpected error"
}

// Load loads kernel, initrd (nil for none) and cmdline for the next kexec.
func Load(kernel, initrd *os.File, cmdline string) error {
	initrdFd := -1
	flags := 0
	if initrd != nil {
		initrdFd = int(initrd.Fd())
	} else {
		flags |= unix.KEXEC_FILE_NO_INITRAMFS
	}
	err := unix.KexecFileLoad(int(kernel.Fd()), initrdFd, cmdline, flags)
	if err == nil {
		return nil
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return &Error{Errno: errno, InnerSignature: errno == unix.ENOKEY || errno == unix.EKEYREJECTED || errno == unix.EBADMSG}
	}
	return fmt.Errorf("kexec_file_load: %w", err)
}

// Unload drops a loaded image.
func Unload() error {
	if err := unix.KexecFileLoad(-1, -1, "", unix.KEXEC_FILE_UNLOAD); err != nil {
		return fmt.Errorf("kexec_file_load(KEXEC_FILE_UNLOAD): %w", err)
	}
	return nil
}

// Reboot starts the loaded kernel. It returns only on failure.
func Reboot() error {
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_KEXEC); err != nil {
		return fmt.Errorf("reboot(LINUX_REBOOT_CMD_KEXEC): %w", err)
	}
	return nil
}
