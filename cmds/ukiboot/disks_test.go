package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/disk"
)

// fakeBlock makes a sysfs-like directory listing whole disks and a dev
// directory for their images.
func fakeBlock(t *testing.T) (sys, dev string) {
	t.Helper()
	root := t.TempDir()
	sys, dev = filepath.Join(root, "sys"), filepath.Join(root, "dev")
	for _, d := range []string{sys, dev} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return sys, dev
}

// addDisk lists a whole disk of the given size in sys.
func addDisk(t *testing.T, sys, name string, size int64) {
	t.Helper()
	dir := filepath.Join(sys, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "size"), []byte(strconv.FormatInt(size/512, 10)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestScanDisksNotFound holds the message a user sees when the scan finds
// no ESP: the devices seen, why each was not used, and what to do.
func TestScanDisksNotFound(t *testing.T) {
	const hint = "\nload the storage driver (the README's Disks section lists the modules: virtio_blk, ahci and sd_mod, nvme, " +
		"usb-storage, mmc_block) or give the partition with -root DIR"
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, sys, dev string)
		want  string // DEV stands for the dev directory
	}{
		{"no devices at all", func(*testing.T, string, string) {},
			"scanning disks for 1ms: no esp partition found; no block devices seen" + hint},
		{"a disk with no ESP", func(t *testing.T, sys, dev string) {
			if _, err := disktest.CreateGPT(filepath.Join(dev, "vda"), 16<<20, disktest.GPT{Parts: []disktest.Part{
				{Type: disktest.LinuxDataType, Size: 2 << 20}}}); err != nil {
				t.Fatal(err)
			}
			addDisk(t, sys, "vda", 16<<20)
		}, "scanning disks for 1ms: no esp partition found; block devices seen:\n" +
			"  vda (16 MiB): gpt, 1 partition, none with the ESP or XBOOTLDR type GUID" + hint},
		{"an XBOOTLDR but no ESP", func(t *testing.T, sys, dev string) {
			if _, err := disktest.CreateGPT(filepath.Join(dev, "vda"), 16<<20, disktest.GPT{Parts: []disktest.Part{
				{Type: disktest.XBOOTLDRType, Size: 2 << 20}}}); err != nil {
				t.Fatal(err)
			}
			addDisk(t, sys, "vda", 16<<20)
		}, "scanning disks for 1ms: no esp partition found; block devices seen:\n" +
			"  vda (16 MiB): gpt, 1 partition, xbootldr: partition 1" + hint},
		{"an unreadable disk", func(t *testing.T, sys, dev string) {
			addDisk(t, sys, "sda", 1<<30) // no device node
		}, "scanning disks for 1ms: no esp partition found; block devices seen:\n" +
			"  sda (1 GiB): unreadable: DEV/sda: no such file or directory" + hint},
	} {
		t.Run(c.name, func(t *testing.T) {
			sys, dev := fakeBlock(t)
			c.setup(t, sys, dev)
			var logged []string
			logf := func(f string, a ...any) { logged = append(logged, f) }
			_, err := mountDisks(&options{wait: time.Millisecond}, logf, disk.Scanner{SysDir: sys, DevDir: dev})
			if err == nil {
				t.Fatal("mountDisks succeeded")
			}
			if want := strings.ReplaceAll(c.want, "DEV", dev); err.Error() != want {
				t.Errorf("message:\n%s\nwant:\n%s", err, want)
			}
			if len(logged) != 0 {
				t.Errorf("also logged %q: the message says it all", logged)
			}
		})
	}
}

func TestPartitionName(t *testing.T) {
	for _, c := range []struct {
		name string
		p    disk.Partition
		dev  string
		want string
	}{
		{"ESP without a label", disk.Partition{Kind: disk.ESP, Device: "/dev/vda1"}, "", "vda1 (ESP)"},
		{"XBOOTLDR without a label", disk.Partition{Kind: disk.XBOOTLDR, Device: "/dev/vda2"}, "", "vda2 (XBOOTLDR)"},
		{"GPT label", disk.Partition{Kind: disk.ESP, Device: "/dev/nvme0n1p1", Name: "EFI System Partition"}, "", "nvme0n1p1 (EFI System Partition)"},
		{"node in a subdirectory", disk.Partition{Kind: disk.ESP, Device: "/dev/cciss/c0d0p1"}, "", "cciss/c0d0p1 (ESP)"},
		{"other dev directory", disk.Partition{Kind: disk.ESP, Device: "/tmp/dev/sda1"}, "/tmp/dev", "sda1 (ESP)"},
		{"device outside the dev directory", disk.Partition{Kind: disk.ESP, Device: "/elsewhere/sda1"}, "", "/elsewhere/sda1 (ESP)"},
		{"label with control characters", disk.Partition{Kind: disk.ESP, Device: "/dev/sda1", Name: "a\x1b[2Jb"}, "", "sda1 (a?[2Jb)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := partitionName(c.p, c.dev); got != c.want {
				t.Errorf("partitionName = %q, want %q", got, c.want)
			}
		})
	}
}

func TestPartitionsDisplay(t *testing.T) {
	roots, err := scanDisks(&options{roots: stringList{"/mnt/esp", "/mnt/xbl"}}, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	mounted := &partitions{dirs: []string{"/tmp/ukiboot-1/esp-2", "/tmp/ukiboot-1/xbootldr-3"}, names: []string{"vda1 (ESP)", "vda2 (XBOOTLDR)"}, mounted: true}
	for _, c := range []struct {
		name      string
		p         *partitions
		dir, path string
		want      string
	}{
		{"mounted ESP", mounted, "/tmp/ukiboot-1/esp-2", "/EFI/Linux/x.efi", "vda1 (ESP):/EFI/Linux/x.efi"},
		{"mounted XBOOTLDR, relative path", mounted, "/tmp/ukiboot-1/xbootldr-3", "loader/entries/a.conf", "vda2 (XBOOTLDR):/loader/entries/a.conf"},
		{"-root", roots, "/mnt/xbl", "/EFI/Linux/x.efi", "/mnt/xbl/EFI/Linux/x.efi"},
		{"not a partition", mounted, "/somewhere", "/x.efi", "/somewhere/x.efi"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.display(c.dir, c.path); got != c.want {
				t.Errorf("display(%q, %q) = %q, want %q", c.dir, c.path, got, c.want)
			}
		})
	}
}

// fakeBootScan is a scan result of whole disks, each given as its
// partitions ("esp", "xbootldr", "" for other), numbered from 1, with
// device nodes under /dev.
func fakeBootScan(disks ...[]string) *disk.ScanResult {
	res := &disk.ScanResult{}
	for i, kinds := range disks {
		name := "vd" + string(rune('a'+i))
		node := "/dev/" + name
		res.Devices = append(res.Devices, disk.Device{Name: name, Node: node})
		for n, k := range kinds {
			if k != "" {
				res.Partitions = append(res.Partitions, disk.Partition{Number: n + 1, Kind: disk.Kind(k), Disk: node, Device: node + strconv.Itoa(n+1)})
			}
		}
	}
	return res
}

// TestPickBootDisk holds the rule that chooses the boot disk: the first
// ESP, in hardware order, whose ESP or XBOOTLDR (on its own disk, as
// systemd-boot's partition_open finds it) has entries.
func TestPickBootDisk(t *testing.T) {
	const entry, conf = "loader/entries/a.conf", "loader/loader.conf"
	for _, c := range []struct {
		name    string
		disks   [][]string
		files   map[string]string // device name -> a file on it
		broken  []string          // devices that do not mount
		want    string            // summary
		ignored []string
	}{
		{"first disk with entries on its ESP", [][]string{{"esp", "xbootldr"}, {"esp"}},
			map[string]string{"vda1": entry, "vdb1": entry}, nil,
			"boot disk: vda (ESP vda1, XBOOTLDR vda2)",
			[]string{"vdb1 (ESP): on another disk: vdb comes after the boot disk vda in hardware order"}},
		{"first ESP has loader.conf only: the next disk wins", [][]string{{"esp"}, {"esp", "xbootldr"}},
			map[string]string{"vda1": conf, "vdb1": entry}, nil,
			"boot disk: vdb (ESP vdb1, XBOOTLDR vdb2)",
			[]string{"vda1 (ESP): on another disk: vda holds no boot entries"}},
		{"entries only on the XBOOTLDR of the ESP's disk", [][]string{{"esp"}, {"esp", "xbootldr"}},
			map[string]string{"vdb2": entry}, nil,
			"boot disk: vdb (ESP vdb1, XBOOTLDR vdb2)",
			[]string{"vda1 (ESP): on another disk: vda holds no boot entries"}},
		{"XBOOTLDR on a disk without ESP is never read", [][]string{{"xbootldr"}, {"esp"}},
			map[string]string{"vda1": entry}, nil,
			"boot disk: vdb (ESP vdb1)",
			[]string{"vda1 (XBOOTLDR): no ESP on this disk: an XBOOTLDR is only used with the ESP of its own disk"}},
		{"no entries anywhere: the first ESP that mounts", [][]string{{"esp"}, {"esp", "xbootldr"}},
			map[string]string{"vda1": conf}, []string{"vda1"},
			"boot disk: vdb (ESP vdb1, XBOOTLDR vdb2)",
			[]string{"vda1 (ESP): on another disk: vda could not be mounted"}},
		{"second ESP of the same disk", [][]string{{"esp", "xbootldr", "esp"}},
			map[string]string{"vda3": entry}, nil,
			"boot disk: vda (ESP vda3, XBOOTLDR vda2)",
			[]string{"vda1 (ESP): another ESP of the boot disk vda; this one holds no boot entries"}},
		{"XBOOTLDR that does not mount is left out", [][]string{{"esp", "xbootldr"}},
			map[string]string{"vda1": entry}, []string{"vda2"},
			"boot disk: vda (ESP vda1)", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			mounted := map[string]string{} // dir -> device name
			mounts := 0
			mount := func(p disk.Partition) (string, error) {
				dev := filepath.Base(p.Device)
				for _, b := range c.broken {
					if b == dev {
						return "", errors.New(p.Device + ": does not mount")
					}
				}
				mounts++
				dir := filepath.Join(root, dev+"-"+strconv.Itoa(mounts))
				if f, ok := c.files[dev]; ok {
					ukitest.WriteTree(t, dir, f, []byte("x"))
				} else if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				mounted[dir] = dev
				return dir, nil
			}
			open := func(bd disk.BootDisk) (*partitions, error) {
				unmount := func(dir string) error { delete(mounted, dir); return nil }
				return openBootDisk(bd, "/dev", mounter{mount: mount, unmount: unmount}, t.Logf)
			}
			p, err := pickBootDisk(fakeBootScan(c.disks...), open, "/dev", t.Logf)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.summary(); got != c.want {
				t.Errorf("summary %q, want %q", got, c.want)
			}
			if !reflect.DeepEqual(p.ignored, c.ignored) {
				t.Errorf("ignored %q, want %q", p.ignored, c.ignored)
			}
			// Only the boot disk's partitions stay mounted.
			var still []string
			for _, dev := range mounted {
				still = append(still, dev)
			}
			sort.Strings(still)
			var want []string
			for _, n := range p.names {
				dev, _, _ := strings.Cut(n, " ")
				want = append(want, dev)
			}
			sort.Strings(want)
			if !reflect.DeepEqual(still, want) {
				t.Errorf("mounted %q, want the boot disk's %q", still, want)
			}
			p.close()
			if len(mounted) != 0 {
				t.Errorf("still mounted after close: %v", mounted)
			}
		})
	}
	if _, err := pickBootDisk(fakeBootScan([]string{"esp"}), func(disk.BootDisk) (*partitions, error) {
		return nil, errors.New("/dev/vda1: does not mount")
	}, "/dev", t.Logf); err == nil || !strings.Contains(err.Error(), noMountHint) {
		t.Errorf("no ESP mounts: %v", err)
	}
}

// TestLogChoice: the boot disk and the partitions left alone are logged
// with -v, and without it when the boot disk has no entries.
func TestLogChoice(t *testing.T) {
	withEntries := t.TempDir()
	ukitest.WriteTree(t, withEntries, "loader/entries/a.conf", []byte("x"))
	for _, c := range []struct {
		name    string
		dir     string
		verbose bool
		want    []string
	}{
		{"entries, quiet", withEntries, false, nil},
		{"entries, -v", withEntries, true, []string{"boot disk: vdb (ESP vdb1)", "ignored: vda1 (ESP): on another disk: vda holds no boot entries"}},
		{"no entries, quiet", t.TempDir(), false, []string{"boot disk: vdb (ESP vdb1)", "ignored: vda1 (ESP): on another disk: vda holds no boot entries"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := &partitions{dirs: []string{c.dir}, names: []string{"vdb1 (ESP)"}, mounted: true, disk: "vdb",
				ignored: []string{"vda1 (ESP): on another disk: vda holds no boot entries"}}
			var got []string
			p.logChoice(c.verbose, func(f string, a ...any) { got = append(got, fmt.Sprintf(f, a...)) })
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("logged %q, want %q", got, c.want)
			}
		})
	}
}
