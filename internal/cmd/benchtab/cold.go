package main

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// coldPrepare empties the page cache before each cold run (root only),
// then reads the ukiboot binary back: at boot ukiboot lives in the
// initramfs, in RAM, so only the UKI comes from the disk. Without it the
// cold dry-run would also pay for loading its own 7 MB from the disk
// (about 40 ms on this project's machine), which cat does not. The cat
// of the binary also caches cat, its libraries and the shell, so that
// neither command loads its program from the disk either.
func coldPrepare(ukiboot string) string {
	return "sync; echo 3 > /proc/sys/vm/drop_caches; " + shellJoin("cat", ukiboot) + " > /dev/null"
}

// slower is the larger of the named figures of m (the slower of two
// limits), or NaN when one is missing or not a positive time, so that a
// row judged against it fails rather than pass against the other alone.
func slower(m map[string]float64, names ...string) float64 {
	s := math.NaN()
	for i, n := range names {
		v, ok := m[n]
		if !ok || !(v > 0) {
			return math.NaN()
		}
		if i == 0 || v > s {
			s = v
		}
	}
	return s
}

// wholeDisk is the MAJ:MIN and name of the disk holding block device dev
// ("MAJ:MIN", as stat(2)'s st_dev gives it), read from the sysfs mounted
// at sys: /sys/dev/block/MAJ:MIN links to the device's directory; a
// partition's has a partition file and lies in its disk's directory.
func wholeDisk(sys, dev string) (disk, name string, err error) {
	dir, err := filepath.EvalSymlinks(filepath.Join(sys, "dev", "block", dev))
	if err != nil {
		return "", "", fmt.Errorf("st_dev %s is no block device (not in %s/dev/block: overlay, tmpfs, btrfs?)", dev, sys)
	}
	if _, err := os.Stat(filepath.Join(dir, "partition")); err == nil {
		dir = filepath.Dir(dir)
	}
	b, err := os.ReadFile(filepath.Join(dir, "dev"))
	if err != nil {
		return "", "", fmt.Errorf("the disk of block device %s: %v", dev, err)
	}
	disk = strings.TrimSpace(string(b))
	if _, _, ok := strings.Cut(disk, ":"); !ok {
		return "", "", fmt.Errorf("%s: %q is not MAJ:MIN", filepath.Join(dir, "dev"), disk)
	}
	return disk, filepath.Base(dir), nil
}

// ioController is a mounted cgroup hierarchy that limits block reads:
// cgroup v1's blkio, or cgroup v2 with the io controller.
type ioController struct {
	root string // the mount point
	v2   bool
}

// findIOController picks the blkio (v1) mount from mountinfo's text
// (/proc/self/mountinfo), else a cgroup2 mount whose cgroup.controllers
// (read with readFile) lists io. On a hybrid system io is bound to v1
// and cgroup2 lists no controller, hence v1 first.
func findIOController(mountinfo string, readFile func(string) ([]byte, error)) (ioController, error) {
	var v2 []string
	for _, l := range strings.Split(mountinfo, "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 5 || len(g) < 3 {
			continue
		}
		switch g[0] {
		case "cgroup":
			for _, o := range strings.Split(g[2], ",") {
				if o == "blkio" {
					return ioController{root: f[4]}, nil
				}
			}
		case "cgroup2":
			v2 = append(v2, f[4])
		}
	}
	for _, root := range v2 {
		b, err := readFile(filepath.Join(root, "cgroup.controllers"))
		if err == nil && strings.Contains(" "+strings.Join(strings.Fields(string(b)), " ")+" ", " io ") {
			return ioController{root: root, v2: true}, nil
		}
	}
	if len(v2) > 0 {
		return ioController{}, errors.New("no cgroup v1 blkio mount, and cgroup v2 does not offer the io controller")
	}
	return ioController{}, errors.New("neither cgroup v1 blkio nor cgroup v2 is mounted")
}

// limit is the file of a cgroup and the line written to it that limit
// reads from disk ("MAJ:MIN") to bps bytes per second.
func (c ioController) limit(disk string, bps int64) (file, line string) {
	if c.v2 {
		return "io.max", fmt.Sprintf("%s rbps=%d", disk, bps)
	}
	return "blkio.throttle.read_bps_device", fmt.Sprintf("%s %d", disk, bps)
}

func (c ioController) String() string {
	if c.v2 {
		return "cgroup v2 io.max"
	}
	return "cgroup v1 blkio.throttle.read_bps_device"
}

// create makes the cgroup name afresh (removing an empty one left by an
// earlier run) with disk's reads limited to bps, and returns its
// directory; on an error nothing is left behind.
func (c ioController) create(name, disk string, bps int64) (string, error) {
	if c.v2 {
		// A child gets the io files only when its parent delegates io.
		if err := os.WriteFile(filepath.Join(c.root, "cgroup.subtree_control"), []byte("+io"), 0); err != nil {
			return "", fmt.Errorf("enabling io in %s: %v", c.root, err)
		}
	}
	dir := filepath.Join(c.root, name)
	err := os.Mkdir(dir, 0o755)
	if errors.Is(err, fs.ErrExist) {
		if err = os.Remove(dir); err == nil {
			err = os.Mkdir(dir, 0o755)
		}
	}
	if err != nil {
		return "", err
	}
	file, line := c.limit(disk, bps)
	if err := os.WriteFile(filepath.Join(dir, file), []byte(line), 0); err != nil {
		removeCgroup(dir)
		return "", fmt.Errorf("writing %q to %s: %v", line, filepath.Join(dir, file), err)
	}
	return dir, nil
}

// removeCgroup removes an empty cgroup, retrying briefly while its last
// process is still being reaped.
func removeCgroup(dir string) error {
	var err error
	for i := 0; i < 20; i++ {
		if err = os.Remove(dir); err == nil || errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

// inCgroup is a shell command line (hyperfine runs it with sh -c) that
// moves its shell into the cgroup whose cgroup.procs is procs, then execs
// line there: the command is the same process, so all its reads count.
func inCgroup(procs, line string) string {
	return "echo $$ > " + shellJoin(procs) + " && exec " + line
}

// coldCase is budget 2 in two rows (docs/performance.md says why): the
// literal budget, cold dry-run <= 1.1x cold cat, with the fixture's disk
// throttled to a rate slower than the hashes, as a SATA SSD or eMMC is at
// boot; and on the disk as it is, against the slower of the run's two
// limits, one read of the disk (cold cat) and the hashes (the warm
// dry-run), which is the literal budget again when the disk is slower.
func coldCase(c config) ([]row, []string) {
	f := c.uki(c.sizes[1])
	base := fmt.Sprintf("2  cold verified dry-run %d MiB / ", f.mib)
	throttled := base + "cold cat, disk at " + mbps(c.coldBPS)
	free := base + "max(cold cat, warm dry-run), unthrottled"
	if os.Geteuid() != 0 {
		return []row{{name: throttled, skip: "not root"}, {name: free, skip: "not root"}},
			[]string{"2: skipped: dropping the page cache needs root"}
	}
	dry, cat := shellJoin(c.verified(f, "sha256")...), shellJoin("cat", f.uki)+" > /dev/null"
	// Unthrottled, a run takes a few tenths of a second and its figures
	// differ by tens of milliseconds, the size of the margin; throttled,
	// the throttle's slices let a run go 5-10 % over the rate now and
	// then (cat measured 203 and 219 MB/s at 200): all runs for both.
	r1, n1 := c.throttledCold(throttled, f, c.runs, dry, cat)
	r2, n2 := c.unthrottledCold(free, f, c.runs, dry, cat)
	return []row{r1, r2}, []string{"2: before each cold run the page cache is dropped and the ukiboot binary read back (at boot it is in the initramfs, in RAM; this also caches cat and sh)", n1, n2}
}

func mbps(bps int64) string { return fmt.Sprintf("%g MB/s", float64(bps)/1e6) }

// throttledCold times the cold dry-run and the cold cat in a fresh cgroup
// that limits reads from the disk of the fixture's filesystem to
// c.coldBPS, and removes the cgroup after. Without a usable io cgroup the
// row is skipped, and the note says why.
func (c config) throttledCold(name string, f ukiFixture, runs int, dry, cat string) (row, string) {
	skip := func(err error) (row, string) {
		return row{name: name, skip: "skipped, see notes"}, "2 (disk at " + mbps(c.coldBPS) + "): skipped: " + err.Error()
	}
	if c.coldBPS <= 0 {
		return skip(errors.New("BENCH_COLD_BPS (-cold-bps) is not a positive rate"))
	}
	dev, err := fileDev(f.uki)
	if err != nil {
		return skip(err)
	}
	disk, diskName, err := wholeDisk("/sys", dev)
	if err != nil {
		return skip(err)
	}
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return skip(err)
	}
	ctl, err := findIOController(string(mountinfo), os.ReadFile)
	if err != nil {
		return skip(err)
	}
	dir, err := ctl.create(fmt.Sprintf("ukiboot-bench-%d", os.Getpid()), disk, c.coldBPS)
	if err != nil {
		return skip(fmt.Errorf("%s: %v", ctl, err))
	}
	procs := filepath.Join(dir, "cgroup.procs")
	m, err := c.hyperfine("2-throttled", runs, coldPrepare(c.ukiboot),
		command{"ukiboot", inCgroup(procs, dry)}, command{"cat", inCgroup(procs, cat)})
	r := timed(name, m, err, "ukiboot", "cat", 1.1)
	_, line := ctl.limit(disk, c.coldBPS)
	note := fmt.Sprintf("2 (disk at %s): both commands run in the cgroup %s, %s %q (%s, the disk of the fixtures' filesystem %s)",
		mbps(c.coldBPS), dir, ctl, line, diskName, dev)
	if err == nil {
		note += fmt.Sprintf(": cold cat %.3f s (%.0f MB/s), cold dry-run %.3f s", m["cat"], float64(f.size)/m["cat"]/1e6, m["ukiboot"])
	}
	if rerr := removeCgroup(dir); rerr != nil {
		note += fmt.Sprintf("; could not remove the cgroup: %v", rerr)
	}
	return r, note
}

// unthrottledCold times the cold dry-run, the cold cat and the warm
// dry-run in one hyperfine run (the warm one's prepare reads the binary
// and the UKI into the page cache) and judges the first against the
// slower of the other two.
func (c config) unthrottledCold(name string, f ukiFixture, runs int, dry, cat string) (row, string) {
	cold := coldPrepare(c.ukiboot)
	warm := shellJoin("cat", c.ukiboot, f.uki) + " > /dev/null"
	m, err := c.hyperfineEach("2", runs, []string{cold, cold, warm},
		command{"ukiboot", dry}, command{"cat", cat}, command{"warm", dry})
	r := timed(name, m, err, "ukiboot", "", 1.1)
	if err != nil {
		return r, "2 (unthrottled): " + err.Error()
	}
	r.baseline = slower(m, "cat", "warm")
	return r, fmt.Sprintf("2 (unthrottled): cold cat %.3f s (%.0f MB/s), warm verified dry-run %.3f s (same hyperfine run): the baseline is the slower; the cold dry-run is %.2fx the cold cat alone",
		m["cat"], float64(f.size)/m["cat"]/1e6, m["warm"], m["ukiboot"]/m["cat"])
}
