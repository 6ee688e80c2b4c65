package disk_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/disk"
)

// needLoop skips the test unless it can attach loop devices: it needs
// root, /dev/loop-control and losetup. These are not required tools: a
// container may simply not have loop devices. It returns losetup's path.
func needLoop(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting loop devices needs root")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("no loop device support: %v", err)
	}
	losetup, err := exec.LookPath("losetup")
	if err != nil {
		t.Skipf("losetup not available: %v", err)
	}
	return losetup
}

// loopDisk attaches img to a loop device with its partitions, or skips the
// test with the reason it cannot. It returns the loop device's path.
func loopDisk(t *testing.T, img string) string {
	t.Helper()
	losetup := needLoop(t)
	out, err := exec.Command(losetup, "--find", "--show", "--partscan", img).CombinedOutput()
	if err != nil {
		t.Skipf("losetup cannot attach a loop device here: %v: %s", err, out)
	}
	dev := strings.TrimSpace(string(out))
	name := filepath.Base(dev)
	t.Cleanup(func() {
		if out, err := exec.Command(losetup, "--detach", dev).CombinedOutput(); err != nil {
			t.Errorf("losetup --detach %s: %v: %s", dev, err, out)
		}
	})
	// Kernels without partition table support (CONFIG_EFI_PARTITION) do
	// not scan; partx adds the partitions from user space then.
	first := filepath.Join("/sys/class/block", name, name+"p1", "partition")
	if !waitFor(first, time.Second) {
		if partx, err := exec.LookPath("partx"); err == nil {
			if out, err := exec.Command(partx, "--add", dev).CombinedOutput(); err != nil {
				t.Logf("partx --add %s: %v: %s", dev, err, out)
			}
		}
	}
	if !waitFor(first, 2*time.Second) || !waitFor("/dev/"+name+"p1", 2*time.Second) {
		t.Skipf("no partition devices appeared for %s (no partition scanning, partx or devtmpfs)", dev)
	}
	return dev
}

func waitFor(path string, d time.Duration) bool {
	for end := time.Now().Add(d); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

// kernelHas reports whether the running kernel has a file system type.
func kernelHas(fs string) bool {
	f, err := os.Open("/proc/filesystems")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 0 && fields[len(fields)-1] == fs {
			return true
		}
	}
	return false
}

// mountOptions returns the per-mount options of the mount point dir from
// /proc/self/mountinfo.
func mountOptions(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 5 && f[4] == dir {
			return strings.Split(f[5], ",")
		}
	}
	t.Fatalf("%s is not in /proc/self/mountinfo", dir)
	return nil
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestMountLoop scans, mounts and unmounts real partitions of a loop
// device. It runs only as root where loop devices work; the kernel may
// lack vfat, in which case the ESP's failure is checked instead.
func TestMountLoop(t *testing.T) {
	needLoop(t)
	esp := t.TempDir()
	os.MkdirAll(filepath.Join(esp, "loader"), 0o755)
	os.WriteFile(filepath.Join(esp, "loader", "loader.conf"), []byte("timeout 0\n"), 0o644)
	xbl := t.TempDir()
	os.MkdirAll(filepath.Join(xbl, "loader", "entries"), 0o755)
	os.WriteFile(filepath.Join(xbl, "loader", "entries", "a.conf"), []byte("title A\n"), 0o644)
	esp2 := t.TempDir()
	os.WriteFile(filepath.Join(esp2, "second"), []byte("ext4 ESP\n"), 0o644)

	img := filepath.Join(t.TempDir(), "disk.img")
	// Partition 3 is an ESP formatted ext4, so that two partitions mount
	// even on a kernel without vfat.
	d := disktest.BuildDisk(t, img, []disktest.PartSpec{
		{Kind: disktest.KindXBOOTLDR, FS: disktest.FSExt4, Dir: xbl, SizeMiB: 16},
		{Kind: disktest.KindESP, Dir: esp, SizeMiB: 40},
		{Kind: disktest.KindESP, FS: disktest.FSExt4, Dir: esp2, SizeMiB: 8},
	})
	dev := loopDisk(t, img)

	res, err := (&disk.Scanner{}).Scan()
	if err != nil {
		t.Fatal(err)
	}
	var parts []disk.Partition
	for _, p := range res.Partitions {
		if p.Disk == dev {
			parts = append(parts, p)
		}
	}
	if len(parts) != 3 {
		t.Fatalf("scan found %+v on %s (errors %v)", parts, dev, res.Errors)
	}
	for i, p := range parts {
		if want := disk.PartitionName(dev, i+1); p.Device != want || p.PartUUID != d.Parts[i].UUID {
			t.Errorf("partition %d: %s %s, want %s %s", i+1, p.Device, p.PartUUID, want, d.Parts[i].UUID)
		}
	}

	base := filepath.Join(t.TempDir(), "mnt")
	var ms []*disk.Mounted
	var errs []error
	for _, p := range parts {
		m, err := disk.Mount(p, base)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ms = append(ms, m)
	}
	t.Cleanup(func() {
		if err := unmountAll(ms); err != nil {
			t.Error(err)
		}
	})
	vfat := kernelHas("vfat")
	if !vfat {
		// Mounting the FAT ESP must fail with a clear error, and nothing
		// else may fail.
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), parts[1].Device+" (vfat)") {
			t.Fatalf("without vfat: errors %v", errs)
		}
		t.Logf("kernel has no vfat: %v", errs[0])
	} else if len(errs) != 0 {
		t.Fatalf("Mount: %v", errs)
	}
	byNum := map[int]*disk.Mounted{}
	for _, m := range ms {
		byNum[m.Partition.Number] = m
	}

	for _, m := range ms {
		if !strings.HasPrefix(m.Dir, base+"/") {
			t.Errorf("mounted on %s, not under %s", m.Dir, base)
		}
		opts := mountOptions(t, m.Dir)
		for _, o := range []string{"ro", "nosuid", "nodev", "noexec"} {
			if !has(opts, o) {
				t.Errorf("%s: options %v lack %s", m.Dir, opts, o)
			}
		}
		err := os.WriteFile(filepath.Join(m.Dir, "new"), []byte("x"), 0o644)
		if !errors.Is(err, syscall.EROFS) {
			t.Errorf("write to %s: %v, want EROFS", m.Dir, err)
		}
	}
	want := map[int][2]string{
		1: {"loader/entries/a.conf", "title A\n"},
		2: {"loader/loader.conf", "timeout 0\n"},
		3: {"second", "ext4 ESP\n"},
	}
	for n, m := range byNum {
		b, err := os.ReadFile(filepath.Join(m.Dir, want[n][0]))
		if err != nil || string(b) != want[n][1] {
			t.Errorf("partition %d (%s): %q, %v", n, m.FSType, b, err)
		}
		if wantFS := map[int]string{1: "ext4", 2: "vfat", 3: "ext4"}[n]; m.FSType != wantFS {
			t.Errorf("partition %d mounted as %s", n, m.FSType)
		}
	}

	// Read-write for a moment, then read-only again.
	x := byNum[1]
	if err := x.RemountRW(); err != nil {
		t.Fatal(err)
	}
	if opts := mountOptions(t, x.Dir); !has(opts, "rw") || !has(opts, "noexec") {
		t.Errorf("after RemountRW: %v", opts)
	}
	if err := os.WriteFile(filepath.Join(x.Dir, "counted"), []byte("boot 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := x.RemountRO(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(x.Dir, "again"), nil, 0o644); !errors.Is(err, syscall.EROFS) {
		t.Errorf("after RemountRO: %v", err)
	}

	// Unmount removes the directories, and a second call is harmless.
	if err := unmountAll(ms); err != nil {
		t.Fatal(err)
	}
	if err := x.Unmount(); err != nil {
		t.Errorf("second Unmount: %v", err)
	}
	for _, m := range ms {
		if _, err := os.Stat(m.Dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", m.Dir, err)
		}
	}

	// The write made while read-write reached the disk.
	debugfs := ukitest.Need(t, "debugfs")
	part := filepath.Join(t.TempDir(), "xbootldr.img")
	src, _ := os.Open(dev)
	dst, _ := os.Create(part)
	_, err = io.Copy(dst, io.NewSectionReader(src, d.Parts[0].Start, d.Parts[0].Size))
	src.Close()
	dst.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(debugfs, "-R", "cat /counted", part).Output()
	if err != nil || string(out) != "boot 1\n" {
		t.Errorf("written file on disk: %q, %v", out, err)
	}
}

// unmountAll unmounts all of ms, in reverse order, and returns the errors
// joined.
func unmountAll(ms []*disk.Mounted) error {
	var errs []error
	for i := len(ms) - 1; i >= 0; i-- {
		if err := ms[i].Unmount(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
