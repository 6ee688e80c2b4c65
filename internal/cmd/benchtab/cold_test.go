package main

import (
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeSys builds a sysfs tree under a temporary root: disk vda (254:0)
// with partition vda1 (254:1), and dm-0 (253:0), a disk without one.
func fakeSys(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"devices/pci0000:00/virtio1/block/vda/dev":            "254:0\n",
		"devices/pci0000:00/virtio1/block/vda/vda1/dev":       "254:1\n",
		"devices/pci0000:00/virtio1/block/vda/vda1/partition": "1\n",
		"devices/virtual/block/dm-0/dev":                      "253:0\n",
	}
	for name, text := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{ // relative, as the kernel makes them
		"254:0": "../../devices/pci0000:00/virtio1/block/vda",
		"254:1": "../../devices/pci0000:00/virtio1/block/vda/vda1",
		"253:0": "../../devices/virtual/block/dm-0",
	}
	if err := os.MkdirAll(filepath.Join(root, "dev/block"), 0o755); err != nil {
		t.Fatal(err)
	}
	for dev, target := range links {
		if err := os.Symlink(target, filepath.Join(root, "dev/block", dev)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestWholeDisk(t *testing.T) {
	sys := fakeSys(t)
	for _, tc := range []struct{ dev, disk, name string }{
		{"254:1", "254:0", "vda"}, // a partition: its parent directory
		{"254:0", "254:0", "vda"}, // a disk: itself
		{"253:0", "253:0", "dm-0"},
	} {
		disk, name, err := wholeDisk(sys, tc.dev)
		if err != nil || disk != tc.disk || name != tc.name {
			t.Errorf("wholeDisk(%s) = %q, %q, %v; want %q, %q", tc.dev, disk, name, err, tc.disk, tc.name)
		}
	}
	// overlayfs and tmpfs have anonymous devices, in no /sys/dev/block.
	if disk, _, err := wholeDisk(sys, "0:45"); err == nil {
		t.Errorf("wholeDisk(0:45) = %q, want an error (no such block device)", disk)
	}
}

func TestSlower(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    map[string]float64
		want float64
	}{
		{"disk faster than the hashes: the warm run", map[string]float64{"cat": 0.15, "warm": 0.23}, 0.23},
		{"disk slower than the hashes: the cold cat", map[string]float64{"cat": 1.0, "warm": 0.23}, 1.0},
		{"a missing figure", map[string]float64{"cat": 1.0}, math.NaN()},
		{"a zero figure", map[string]float64{"cat": 0, "warm": 0.23}, math.NaN()},
		{"a NaN figure", map[string]float64{"cat": math.NaN(), "warm": 0.23}, math.NaN()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := slower(tc.m, "cat", "warm")
			if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
				t.Errorf("slower(%v) = %v, want %v", tc.m, got, tc.want)
			}
		})
	}
	// Judged: 1.1x the slower limit, and a missing limit fails the row.
	m := map[string]float64{"cat": 0.15, "warm": 0.23}
	for value, want := range map[float64]string{0.25: "pass", 0.26: "FAIL"} {
		if r := (row{value: value, baseline: slower(m, "cat", "warm"), budget: 1.1}); r.verdict() != want {
			t.Errorf("cold dry-run %.2f s against max(0.15, 0.23): %s, want %s", value, r.verdict(), want)
		}
	}
	if r := (row{value: 0.1, baseline: slower(map[string]float64{"cat": 0.15}, "cat", "warm"), budget: 1.1}); r.verdict() != "FAIL" {
		t.Errorf("without the warm figure: %s, want FAIL", r.verdict())
	}
}

// TestInCgroup runs the wrapper as hyperfine does (sh -c): the shell
// writes its PID to cgroup.procs, and the command is that same process
// (exec), its output redirected as the line says.
func TestInCgroup(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a cgroup")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	procs, out := filepath.Join(dir, "cgroup.procs"), filepath.Join(dir, "out")
	line := inCgroup(procs, shellJoin("sh", "-c", "echo $$")+" > "+shellJoin(out))
	if b, err := exec.Command("sh", "-c", line).CombinedOutput(); err != nil {
		t.Fatalf("sh -c %q: %v: %s", line, err, b)
	}
	pid, err := os.ReadFile(procs)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(pid)) == "" || string(pid) != string(got) {
		t.Errorf("%q: wrote PID %q to cgroup.procs, but the command ran as %q", line, pid, got)
	}
}

func TestFindIOController(t *testing.T) {
	const hybrid = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`
	const v2 = `27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate
`
	controllers := func(text string) func(string) ([]byte, error) {
		return func(name string) ([]byte, error) {
			if name != "/sys/fs/cgroup/cgroup.controllers" {
				return nil, os.ErrNotExist
			}
			return []byte(text), nil
		}
	}
	for _, tc := range []struct {
		name, mountinfo, controllers string
		want                         ioController
		fails                        bool
	}{
		{"hybrid: v1 blkio", hybrid, "", ioController{root: "/sys/fs/cgroup/blkio"}, false},
		{"v2 with io", v2, "cpuset cpu io memory pids\n", ioController{root: "/sys/fs/cgroup", v2: true}, false},
		{"v2 without io", v2, "cpuset cpu memory pids\n", ioController{}, true},
		{"v2 with iomem only", v2, "iomem\n", ioController{}, true},
		{"no cgroup", "27 1 254:0 / / rw - ext4 /dev/vda rw\n", "", ioController{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := findIOController(tc.mountinfo, controllers(tc.controllers))
			if (err != nil) != tc.fails || got != tc.want {
				t.Errorf("findIOController = %+v, %v; want %+v, error %v", got, err, tc.want, tc.fails)
			}
		})
	}
}

func TestLimit(t *testing.T) {
	for _, tc := range []struct {
		c          ioController
		file, line string
	}{
		{ioController{root: "/sys/fs/cgroup/blkio"}, "blkio.throttle.read_bps_device", "254:0 200000000"},
		{ioController{root: "/sys/fs/cgroup", v2: true}, "io.max", "254:0 rbps=200000000"},
	} {
		if file, line := tc.c.limit("254:0", 200000000); file != tc.file || line != tc.line {
			t.Errorf("%v.limit = %s %q, want %s %q", tc.c, file, line, tc.file, tc.line)
		}
	}
}

func TestColdPrepare(t *testing.T) {
	got := coldPrepare("bin/ukiboot")
	drop, read := strings.Index(got, "echo 3 > /proc/sys/vm/drop_caches"), strings.Index(got, "cat bin/ukiboot > /dev/null")
	if drop < 0 || read < drop {
		t.Errorf("coldPrepare = %q: want the page cache dropped, then the binary read back", got)
	}
}
