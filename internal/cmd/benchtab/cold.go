package main

import (
	"fmt"
	"math"
	"os"
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

// coldCase is budget 2: the cold verified dry-run against the slower of
// its two limits, one read of the disk (cold cat) and the hashes (the
// warm dry-run, measured in the same run): on a disk faster than the
// hashes, the cold run costs at most 10% over the hashes; on a slower
// one this is the literal budget, 1.1x a cold cat.
func coldCase(c config) ([]row, []string) {
	f := c.uki(c.sizes[1])
	name := fmt.Sprintf("2  cold verified dry-run %d MiB / max(cold cat, warm dry-run)", f.mib)
	if os.Geteuid() != 0 {
		return []row{{name: name, skip: "not root"}}, []string{"2: skipped: dropping the page cache needs root"}
	}
	dry, cat := shellJoin(c.verified(f, "sha256")...), shellJoin("cat", f.uki)+" > /dev/null"
	r, n := c.unthrottledCold(name, f, max(3, c.runs-2), dry, cat)
	return []row{r}, []string{"2: before each cold run the page cache is dropped and the ukiboot binary read back (at boot it is in the initramfs, in RAM; this also caches cat and sh)", n}
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
