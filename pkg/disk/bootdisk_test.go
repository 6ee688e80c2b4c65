package disk_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/disk"
)

// linkedDisk adds a whole disk the way /sys/class/block lists it: a
// symbolic link to its directory under a fake /sys/devices.
func (f *fakeSys) linkedDisk(name, hw string) {
	f.t.Helper()
	target := filepath.Join(filepath.Dir(f.sys), "devices", hw, "block", name)
	f.write(filepath.Join(target, "size"), "32768\n")
	f.write(filepath.Join(target, "removable"), "0\n")
	f.write(filepath.Join(target, "uevent"), "DEVNAME="+name+"\nDEVTYPE=disk\n")
	if err := os.Symlink(target, filepath.Join(f.sys, name)); err != nil {
		f.t.Fatal(err)
	}
}

// TestScanHardwareOrder: fixed disks before removable ones, each by their
// place in the hardware, not by the names the kernel gave them in probe
// order.
func TestScanHardwareOrder(t *testing.T) {
	f := newFakeSys(t)
	for _, d := range []struct{ name, hw string }{
		{"sda", "pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0"},
		{"sdb", "pci0000:00/0000:00:02.0/virtio1/host2/target2:0:0/2:0:0:0"},
		{"nvme0n1", "pci0000:00/0000:00:05.0/nvme/nvme0"},
		{"loop0", "virtual"},
		{"mmcblk0", "platform/fe320000.mmc/mmc_host/mmc0/mmc0:0001"},
		{"sdc", "pci0000:00/0000:00:01.0/usb1/1-1/1-1:1.0/host6/target6:0:0/6:0:0:0"},
	} {
		f.gptImage(d.name, esp)
		f.linkedDisk(d.name, d.hw)
	}
	// A USB stick: first in PCI order, but removable.
	f.write(filepath.Join(f.sys, "sdc", "removable"), "1\n")
	res, err := (&disk.Scanner{SysDir: f.sys, DevDir: f.dev}).Scan()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range res.Devices {
		got = append(got, d.Name)
		if !strings.HasSuffix(d.Path, "/block/"+d.Name) {
			t.Errorf("%s: Path %q", d.Name, d.Path)
		}
	}
	want := []string{"sdb", "nvme0n1", "sda", "mmcblk0", "loop0", "sdc"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("device order %v, want %v", got, want)
	}
	var parts []string
	for _, p := range res.Partitions {
		parts = append(parts, rel(t, f.dev, p.Device))
	}
	if want := []string{"sdb1", "nvme0n1p1", "sda1", "mmcblk0p1", "loop0p1", "sdc1"}; !reflect.DeepEqual(parts, want) {
		t.Errorf("partition order %v, want %v", parts, want)
	}
}

// TestBootDisks follows systemd-boot's partition_open: the XBOOTLDR used
// with an ESP is the first one on the ESP's own disk.
func TestBootDisks(t *testing.T) {
	type want struct {
		disks   []string // "disk: ESP number + XBOOTLDR number"
		ignored []string // "device: why"
	}
	for _, c := range []struct {
		name  string
		setup func(f *fakeSys)
		want  want
	}{
		{"ESP and XBOOTLDR on one disk", func(f *fakeSys) {
			f.gptImage("vda", esp, xbl)
			f.disk("vda", 32768, "vda")
		}, want{disks: []string{"vda: 1+2"}}},
		{"XBOOTLDR on another disk is not used", func(f *fakeSys) {
			f.gptImage("vda", esp)
			f.disk("vda", 32768, "vda")
			f.gptImage("vdb", xbl)
			f.disk("vdb", 32768, "vdb")
		}, want{disks: []string{"vda: 1"}, ignored: []string{"vdb1: no ESP on this disk"}}},
		{"the first XBOOTLDR of the disk", func(f *fakeSys) {
			f.gptImage("vda", xbl, esp, xbl)
			f.disk("vda", 32768, "vda")
		}, want{disks: []string{"vda: 2+1"}, ignored: []string{"vda3: XBOOTLDR partition 1 of the disk is used"}}},
		{"one per ESP, in disk order", func(f *fakeSys) {
			f.gptImage("vdb", esp, xbl)
			f.disk("vdb", 32768, "vdb")
			f.gptImage("vda", esp, esp)
			f.disk("vda", 32768, "vda")
		}, want{disks: []string{"vda: 1", "vda: 2", "vdb: 1+2"}}},
		{"no ESP", func(f *fakeSys) {
			f.gptImage("vda", lin, xbl)
			f.disk("vda", 32768, "vda")
		}, want{ignored: []string{"vda2: no ESP on this disk"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeSys(t)
			c.setup(f)
			res, err := (&disk.Scanner{SysDir: f.sys, DevDir: f.dev}).Scan()
			if err != nil {
				t.Fatal(err)
			}
			disks, ignored := res.BootDisks()
			var got want
			for _, d := range disks {
				s := d.Disk + ": " + itoa(d.ESP.Number)
				if d.XBOOTLDR != nil {
					s += "+" + itoa(d.XBOOTLDR.Number)
				}
				if len(d.Partitions()) != 1+boolInt(d.XBOOTLDR != nil) || d.Partitions()[0] != d.ESP {
					t.Errorf("%s: Partitions() = %+v", s, d.Partitions())
				}
				got.disks = append(got.disks, s)
			}
			for _, ig := range ignored {
				got.ignored = append(got.ignored, rel(t, f.dev, ig.Partition.Device)+": "+ig.Why)
			}
			if !reflect.DeepEqual(got.disks, c.want.disks) {
				t.Errorf("boot disks %q, want %q", got.disks, c.want.disks)
			}
			if len(got.ignored) != len(c.want.ignored) {
				t.Fatalf("ignored %q, want %q", got.ignored, c.want.ignored)
			}
			for i := range got.ignored {
				if !strings.HasPrefix(got.ignored[i], c.want.ignored[i]) {
					t.Errorf("ignored %q, want %q...", got.ignored[i], c.want.ignored[i])
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
