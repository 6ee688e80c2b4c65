package integration

import (
	"bytes"
	"os"
	"path"
	"path/filepath"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

// TestROMShellsAreGates reads the test ROM's initramfs (no VM): the
// shells u-root's init starts after ukiboot, /bin/defaultsh and /bin/sh,
// are ukiboot (the busybox runs the command the last link of the chain
// names), which started by those names closes PCRs 7, 11, 12 and 13
// before it execs /bbin/gosh; so no shell init starts has the boot's PCR
// values, even when ukiboot was killed before its Go runtime ran.
func TestROMShellsAreGates(t *testing.T) {
	dir := os.Getenv(romEnv)
	if dir == "" {
		t.Skipf("reads the test ROM's initramfs: run make rom-test (it builds it and sets %s)", romEnv)
	}
	name := filepath.Join(dir, "ukiboot.cpio")
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("the test ROM's initramfs: %v (make rom-test builds it)", err)
	}
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(b)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	files := map[string]cpio.Record{}
	for _, r := range recs {
		files[path.Clean(r.Name)] = r
	}
	for _, c := range []struct{ link, want string }{
		{"bin/uinit", "bbin/ukiboot"},
		{"bin/defaultsh", "bbin/ukiboot"},
		{"bin/sh", "bbin/ukiboot"},
		{"bbin/gosh", "bbin/gosh"}, // what the gate execs
	} {
		t.Run(c.link, func(t *testing.T) {
			if got := lastLink(t, files, c.link); got != c.want {
				t.Errorf("%s: %s runs the busybox command of %s, want %s", name, c.link, got, c.want)
			}
		})
	}
}

// lastLink follows the symlinks from p in the archive as u-root's busybox
// does (gobusybox's ResolveUntilLastSymlink) and returns the last link of
// the chain, whose base name is the command it runs; the chain must end
// in a regular file.
func lastLink(t *testing.T, files map[string]cpio.Record, p string) string {
	t.Helper()
	last := p
	for range 10 {
		r, ok := files[p]
		if !ok {
			t.Fatalf("%s: not in the archive", p)
		}
		switch r.Mode & cpio.S_IFMT {
		case cpio.S_IFREG:
			return last
		case cpio.S_IFLNK:
			target, err := readAllRecord(r)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			last = p
			if path.IsAbs(target) {
				p = path.Clean(target[1:])
			} else {
				p = path.Join(path.Dir(p), target)
			}
		default:
			t.Fatalf("%s: mode %#o, neither a file nor a symlink", p, r.Mode)
		}
	}
	t.Fatalf("%s: more than 10 symlinks", p)
	return ""
}

// readAllRecord is the contents of r (a symlink's target).
func readAllRecord(r cpio.Record) (string, error) {
	b := make([]byte, r.FileSize)
	if _, err := r.ReadAt(b, 0); err != nil && r.FileSize > 0 {
		return "", err
	}
	return string(b), nil
}
