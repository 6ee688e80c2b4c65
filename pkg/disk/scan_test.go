package disk_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/pkg/disk"
)

// fakeSys builds a sysfs-like block class directory and a dev directory
// of image files.
type fakeSys struct {
	t        *testing.T
	sys, dev string
}

func newFakeSys(t *testing.T) *fakeSys {
	root := t.TempDir()
	f := &fakeSys{t: t, sys: filepath.Join(root, "sys"), dev: filepath.Join(root, "dev")}
	for _, d := range []string{f.sys, f.dev} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *fakeSys) write(path, data string) {
	f.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// disk adds a whole disk with the given size (512-byte sectors) and
// optional uevent DEVNAME.
func (f *fakeSys) disk(name string, sectors int, devname string) string {
	dir := filepath.Join(f.sys, name)
	f.write(filepath.Join(dir, "size"), strconv.Itoa(sectors)+"\n")
	ue := "MAJOR=8\nMINOR=0\n"
	if devname != "" {
		ue += "DEVNAME=" + devname + "\n"
	}
	f.write(filepath.Join(dir, "uevent"), ue+"DEVTYPE=disk\n")
	return dir
}

// part adds partition n of a disk: a child directory and, as in
// /sys/class/block, a top-level entry of its own.
func (f *fakeSys) part(disk, child string, n int, devname string) {
	ue := "DEVTYPE=partition\n"
	if devname != "" {
		ue += "DEVNAME=" + devname + "\n"
	}
	for _, dir := range []string{filepath.Join(f.sys, disk, child), filepath.Join(f.sys, child)} {
		f.write(filepath.Join(dir, "partition"), strconv.Itoa(n)+"\n")
		f.write(filepath.Join(dir, "size"), "2048\n")
		f.write(filepath.Join(dir, "uevent"), ue)
	}
}

// gptImage writes a GPT image into the dev directory at rel.
func (f *fakeSys) gptImage(rel string, parts ...disktest.Part) *disktest.Layout {
	f.t.Helper()
	p := filepath.Join(f.dev, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	l, err := disktest.CreateGPT(p, 16<<20, disktest.GPT{Parts: parts})
	if err != nil {
		f.t.Fatal(err)
	}
	return l
}

var (
	esp = disktest.Part{Type: disktest.ESPType, Size: 2 << 20}
	xbl = disktest.Part{Type: disktest.XBOOTLDRType, Size: 2 << 20}
	lin = disktest.Part{Type: disktest.LinuxDataType, Size: 2 << 20}
)

func TestScan(t *testing.T) {
	f := newFakeSys(t)

	// sda: Linux, ESP, XBOOTLDR; kernel names sda1..sda3.
	sda := f.gptImage("sda", lin, esp, xbl)
	f.disk("sda", 32768, "sda")
	for i, c := range []string{"sda1", "sda2", "sda3"} {
		f.part("sda", c, i+1, c)
	}
	// nvme0n1: ESP as partition 1, named by sysfs nvme0n1p1.
	nvme := f.gptImage("nvme0n1", esp)
	f.disk("nvme0n1", 32768, "nvme0n1")
	f.part("nvme0n1", "nvme0n1p1", 1, "nvme0n1p1")
	// mmcblk0: no partition directories (yet): the usual name is used.
	f.gptImage("mmcblk0", xbl)
	f.disk("mmcblk0", 32768, "")
	// sdb: partition 2 has an unusual node name, from sysfs.
	f.gptImage("sdb", lin, esp)
	f.disk("sdb", 32768, "sdb")
	f.part("sdb", "sdb2", 2, "odd/node-2")
	// cciss!c0d0: the device lives in a subdirectory of /dev.
	f.gptImage("cciss/c0d0", esp)
	f.disk("cciss!c0d0", 32768, "")
	// vda: no partition table: not an error.
	f.write(filepath.Join(f.dev, "vda"), string(make([]byte, 4096)))
	f.disk("vda", 8, "vda")
	// vdb: a GPT whose both headers are broken: reported.
	f.gptImage("vdb", esp)
	raw, _ := os.ReadFile(filepath.Join(f.dev, "vdb"))
	raw[512+30] ^= 1
	raw[len(raw)-512+30] ^= 1
	f.write(filepath.Join(f.dev, "vdb"), string(raw))
	f.disk("vdb", 32768, "vdb")
	// sdd: listed in sysfs but its node is missing: reported.
	f.disk("sdd", 32768, "sdd")
	// loop0 and ram0 of size 0: skipped without being opened.
	f.disk("loop0", 0, "loop0")
	f.disk("ram0", 0, "ram0")

	s := disk.Scanner{SysDir: f.sys, DevDir: f.dev}
	res, err := s.Scan()
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		disk, dev string
		n         int
		kind      disk.Kind
	}
	want := []got{
		{"cciss/c0d0", "cciss/c0d0p1", 1, disk.ESP},
		{"mmcblk0", "mmcblk0p1", 1, disk.XBOOTLDR},
		{"nvme0n1", "nvme0n1p1", 1, disk.ESP},
		{"sda", "sda2", 2, disk.ESP},
		{"sda", "sda3", 3, disk.XBOOTLDR},
		{"sdb", "odd/node-2", 2, disk.ESP},
	}
	if len(res.Partitions) != len(want) {
		t.Fatalf("found %d partitions, want %d: %+v", len(res.Partitions), len(want), res.Partitions)
	}
	for i, w := range want {
		p := res.Partitions[i]
		g := got{rel(t, f.dev, p.Disk), rel(t, f.dev, p.Device), p.Number, p.Kind}
		if g != w {
			t.Errorf("partition %d: %+v, want %+v", i, g, w)
		}
	}
	if res.Partitions[3].PartUUID != sda.Parts[1].UUID || res.Partitions[3].Start != sda.Parts[1].Start {
		t.Errorf("sda2: %+v, wrote %+v", res.Partitions[3], sda.Parts[1])
	}
	if res.Partitions[2].PartUUID != nvme.Parts[0].UUID {
		t.Errorf("nvme0n1p1 PARTUUID %s, wrote %s", res.Partitions[2].PartUUID, nvme.Parts[0].UUID)
	}
	if len(res.Errors) != 2 {
		t.Fatalf("errors %v, want 2 (vdb, sdd)", res.Errors)
	}
	for i, w := range []string{filepath.Join(f.dev, "sdd") + ": no such file", filepath.Join(f.dev, "vdb") + ": no valid GPT"} {
		if msg := res.Errors[i].Error(); !strings.Contains(msg, w) {
			t.Errorf("error %d %q does not contain %q", i, msg, w)
		}
	}
	if !res.Has(disk.ESP, disk.XBOOTLDR) || (&disk.ScanResult{}).Has(disk.ESP) {
		t.Error("Has is wrong")
	}

	if _, err := (&disk.Scanner{SysDir: filepath.Join(f.sys, "nope")}).Scan(); err == nil {
		t.Error("Scan of a missing sysfs directory succeeded")
	}
}

func rel(t *testing.T, base, p string) string {
	r, err := filepath.Rel(base, p)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(r)
}

func TestPartitionName(t *testing.T) {
	for disk_, want := range map[string]string{
		"sda": "sda3", "vda": "vda3", "xvda": "xvda3", "hda": "hda3",
		"nvme0n1": "nvme0n1p3", "mmcblk0": "mmcblk0p3", "loop7": "loop7p3", "md127": "md127p3",
	} {
		if got := disk.PartitionName(disk_, 3); got != want {
			t.Errorf("PartitionName(%q, 3) = %q, want %q", disk_, got, want)
		}
	}
}

func TestWaitScanLateDisk(t *testing.T) {
	f := newFakeSys(t)
	// An XBOOTLDR-only disk is there from the start; the ESP comes late.
	f.gptImage("sda", xbl)
	f.disk("sda", 32768, "")
	// The disk's sysfs entry is built aside and moved in later, as the
	// kernel makes it appear at once.
	f.gptImage("vda", esp)
	tmp := filepath.Join(filepath.Dir(f.sys), "vda.tmp")
	f.write(filepath.Join(tmp, "size"), "32768\n")

	ticks := make(chan time.Time)
	s := disk.Scanner{SysDir: f.sys, DevDir: f.dev, Ticks: ticks}
	// A guard against a hang, not a timing: nothing here waits for it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type result struct {
		res *disk.ScanResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := s.WaitScan(ctx)
		done <- result{res, err}
	}()
	// WaitScan takes a tick only after a scan that found no ESP.
	for i := range 3 {
		select {
		case ticks <- time.Time{}:
		case r := <-done:
			t.Fatalf("WaitScan returned after %d scans, before the ESP appeared: %+v, %v", i+1, r.res, r.err)
		}
	}
	if err := os.Rename(tmp, filepath.Join(f.sys, "vda")); err != nil {
		t.Fatal(err)
	}
	// The scan that follows the last tick may already see the ESP (it
	// runs while the disk moves in); else this tick makes the next one.
	var r result
	select {
	case ticks <- time.Time{}:
		r = <-done
	case r = <-done:
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(r.res.Partitions) != 2 || !r.res.Has(disk.ESP, disk.XBOOTLDR) {
		t.Errorf("found %+v", r.res.Partitions)
	}
}

func TestWaitScanTimeout(t *testing.T) {
	f := newFakeSys(t)
	f.gptImage("sda", esp)
	f.disk("sda", 32768, "")
	f.disk("sdb", 32768, "") // node missing: an error to report
	// No tick ever comes: WaitScan scans once, then waits for ctx.
	s := disk.Scanner{SysDir: f.sys, DevDir: f.dev, Ticks: make(chan time.Time)}

	t.Run("the ESP is there: no waiting", func(t *testing.T) {
		if res, err := s.WaitScan(context.Background(), disk.ESP); err != nil || len(res.Partitions) != 1 {
			t.Fatalf("WaitScan(ESP): %+v, %v", res, err)
		}
	})

	t.Run("no XBOOTLDR will come", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := s.WaitScan(ctx, disk.ESP, disk.XBOOTLDR)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want the context's error", err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "no xbootldr partition found") || strings.Contains(msg, "no esp") || !strings.Contains(msg, "sdb") {
			t.Errorf("error %q should name the missing kind and the disk error", msg)
		}
		if res == nil || len(res.Partitions) != 1 || res.Partitions[0].Kind != disk.ESP {
			t.Errorf("last result %+v", res)
		}
	})

	t.Run("an unreadable sysfs fails at once", func(t *testing.T) {
		bad := disk.Scanner{SysDir: filepath.Join(f.sys, "missing"), Ticks: make(chan time.Time)}
		// A guard against a hang: the error must not be the context's.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := bad.WaitScan(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("missing sysfs: %v", err)
		}
	})
}

// TestWaitScanNotFoundMessage holds the message that says, when no ESP
// appears, which devices were seen and why each was not used.
func TestWaitScanNotFoundMessage(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(f *fakeSys)
		want  string // DEV stands for the dev directory
	}{
		{"no devices at all", func(*fakeSys) {}, "no esp partition found; no block devices seen"},
		{"only empty devices", func(f *fakeSys) {
			f.disk("loop0", 0, "loop0")
			f.disk("ram0", 0, "ram0")
		}, "no esp partition found; block devices seen:\n  empty, not read: loop0, ram0"},
		{"a GPT disk with no ESP", func(f *fakeSys) {
			f.gptImage("vda", lin, lin)
			f.disk("vda", 32768, "vda")
		}, "no esp partition found; block devices seen:\n  vda (16 MiB): gpt, 2 partitions, none with the ESP or XBOOTLDR type GUID"},
		{"an MBR disk with no ESP", func(f *fakeSys) {
			if _, err := disktest.CreateMBR(filepath.Join(f.dev, "sda"), 8<<20, 0x1234abcd, []disktest.Part{{MBRType: 0x83, Size: 1 << 20}}); err != nil {
				t.Fatal(err)
			}
			f.disk("sda", 16384, "sda")
		}, "no esp partition found; block devices seen:\n  sda (8 MiB): mbr, 1 partition, none of type 0xef (ESP) or 0xea (XBOOTLDR)"},
		{"a disk without a partition table", func(f *fakeSys) {
			f.write(filepath.Join(f.dev, "vdb"), string(make([]byte, 4096)))
			f.disk("vdb", 8, "vdb")
		}, "no esp partition found; block devices seen:\n  vdb (4 KiB): no partition table (no MBR boot signature and no GPT header)"},
		{"an unreadable disk", func(f *fakeSys) {
			f.disk("sdd", 2097152, "sdd")
		}, "no esp partition found; block devices seen:\n  sdd (1 GiB): unreadable: DEV/sdd: no such file or directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeSys(t)
			c.setup(f)
			s := disk.Scanner{SysDir: f.sys, DevDir: f.dev}
			// A context that has ended: WaitScan scans once and gives up.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := s.WaitScan(ctx)
			var nf *disk.NotFoundError
			if !errors.As(err, &nf) || !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want a *NotFoundError wrapping context.Canceled", err)
			}
			if got, want := err.Error(), strings.ReplaceAll(c.want, "DEV", f.dev); got != want {
				t.Errorf("message:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func TestScanDevices(t *testing.T) {
	f := newFakeSys(t)
	f.gptImage("vda", lin, esp)
	f.disk("vda", 32768, "vda")
	f.disk("loop0", 0, "loop0")
	res, err := (&disk.Scanner{SysDir: f.sys, DevDir: f.dev}).Scan()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Devices) != 2 {
		t.Fatalf("devices %+v, want loop0 and vda", res.Devices)
	}
	loop, vda := res.Devices[0], res.Devices[1]
	if loop.Name != "loop0" || loop.Size != 0 || loop.Table != nil || loop.Err != nil {
		t.Errorf("loop0: %+v", loop)
	}
	if vda.Name != "vda" || vda.Size != 16<<20 || vda.Table == nil || vda.Table.Scheme != disk.SchemeGPT || len(vda.Table.Partitions) != 2 {
		t.Errorf("vda: %+v", vda)
	}
}
