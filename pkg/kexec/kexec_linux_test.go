package kexec

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestExplain(t *testing.T) {
	for errno, want := range map[unix.Errno]string{
		unix.EPERM: "locked down", unix.ENOKEY: "no key", unix.EKEYREJECTED: "rejected",
		unix.EBADMSG: "signature", unix.ENOEXEC: "cannot load", unix.ENOMEM: "memory",
	} {
		e := &Error{Errno: errno}
		if !strings.Contains(e.Error(), want) || !strings.Contains(e.Error(), unix.ErrnoName(errno)) {
			t.Errorf("%v: %q", errno, e.Error())
		}
		if !errors.Is(e, errno) {
			t.Errorf("%v: errors.Is fails", errno)
		}
	}
}

// TestLoadRefusal calls the real system call with a file that is not a
// kernel; whatever the kernel says (EPERM without CAP_SYS_BOOT or in a
// container, ENOEXEC otherwise), it comes back as an *Error, and nothing
// is loaded.
func TestLoadRefusal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "notakernel")
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("this is not a kernel image")
	f.Seek(0, 0)
	err = Load(f, nil, "console=ttyS0")
	var ke *Error
	if !errors.As(err, &ke) {
		t.Fatalf("Load: %v, want *Error", err)
	}
	if ke.InnerSignature {
		t.Errorf("%v reported as a signature problem", ke.Errno)
	}
}
