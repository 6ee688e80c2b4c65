package disk_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/pkg/disk"
)

func TestDetectFS(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{}
	for name, size := range map[string]int64{"fat12": 1 << 20, "fat16": 16 << 20, "fat32": 40 << 20} {
		img := filepath.Join(dir, name)
		disktest.MakeFAT(t, img, size, "", "")
		cases[img] = disk.FSVFAT
	}
	ext := filepath.Join(dir, "ext4")
	disktest.MakeExt4(t, ext, 8<<20, "", "")
	cases[ext] = disk.FSExt4
	zeros := filepath.Join(dir, "zeros")
	os.WriteFile(zeros, make([]byte, 1<<20), 0o644)
	cases[zeros] = ""
	short := filepath.Join(dir, "short")
	os.WriteFile(short, []byte{0xeb, 0x3c}, 0o644)
	cases[short] = ""
	for img, want := range cases {
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		got, err := disk.DetectFS(f)
		f.Close()
		if err != nil || got != want {
			t.Errorf("DetectFS(%s) = %q, %v; want %q", filepath.Base(img), got, err, want)
		}
	}
	// A FAT boot sector with a broken BPB is not FAT.
	b, _ := os.ReadFile(filepath.Join(dir, "fat16"))
	b[13] = 3 // sectors per cluster not a power of two
	if got, _ := disk.DetectFS(bytes.NewReader(b)); got != "" {
		t.Errorf("bad BPB detected as %q", got)
	}
	if _, err := disk.DetectFS(errReader{}); err == nil {
		t.Error("read error not reported")
	}
}

type errReader struct{}

func (errReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("I/O error") }

// TestMountErrors needs no privileges: every mount here fails.
func TestMountErrors(t *testing.T) {
	base := filepath.Join(t.TempDir(), "mnt")
	if _, err := disk.Mount(disk.Partition{Number: 1, Kind: disk.ESP}, base); err == nil {
		t.Error("Mount without a device succeeded")
	}
	missing := filepath.Join(t.TempDir(), "sdz1")
	_, err := disk.Mount(disk.Partition{Kind: disk.ESP, Device: missing}, base)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing device: %v", err)
	}
	// A regular file of zeros: the type is unknown, so both are tried, and
	// both fail (ENOTBLK as root, EPERM otherwise).
	zeros := filepath.Join(t.TempDir(), "zeros")
	os.WriteFile(zeros, make([]byte, 1<<20), 0o644)
	m, err := disk.Mount(disk.Partition{Kind: disk.XBOOTLDR, Device: zeros}, base)
	if err == nil {
		t.Fatalf("Mount of a file of zeros succeeded: %+v", m)
	}
	msg := err.Error()
	for _, w := range []string{zeros + " (vfat)", zeros + " (ext4)"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not mention %q", msg, w)
		}
	}
	// The mount directory is private: the user knows the device.
	if strings.Contains(msg, base) {
		t.Errorf("error %q names the private mount directory %s", msg, base)
	}
	// The directory made for the mount is gone again.
	if ents, err := os.ReadDir(base); err != nil || len(ents) != 0 {
		t.Errorf("left in %s: %v, %v", base, ents, err)
	}
}
