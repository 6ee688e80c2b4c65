package main

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// memoryCases are budget 5: the peak of RSS plus memfds of the verified
// dry-run over (UKI size + 64 MiB), for the small and the large UKI, and
// the memfds' peak alone over the UKI size plus 1 MiB of small sections.
func memoryCases(c config) ([]row, []string) {
	var rows []row
	for _, mib := range []int{c.sizes[0], c.sizes[2]} {
		f := c.uki(mib)
		total := row{name: fmt.Sprintf("5  peak RSS+memfd %d MiB / (UKI + 64 MiB)", mib), unit: byteSize, budget: 1,
			baseline: float64(f.size + 64<<20)}
		memfd := row{name: fmt.Sprintf("5  peak memfd %d MiB / (UKI + 1 MiB)", mib), unit: byteSize, budget: 1,
			baseline: float64(f.size + 1<<20)}
		progress("5: memory of the %d MiB verified dry-run", mib)
		var worst memPeak
		var err error
		for range 3 {
			var p memPeak
			if p, err = sampleMemory(c.verified(f, "sha256")); err != nil {
				break
			}
			worst.total, worst.memfd = max(worst.total, p.total), max(worst.memfd, p.memfd)
		}
		if err != nil {
			total.err, memfd.err = firstLine(err.Error()), "see above"
		}
		total.value, memfd.value = float64(worst.total), float64(worst.memfd)
		rows = append(rows, total, memfd)
	}
	return rows, []string{"5: the largest of 3 runs; sampled every 1 ms from outside: VmHWM - RssShmem of /proc/PID/status plus the sizes of the memfds open in /proc/PID/fd"}
}

// sizeCases are budget 6: the stripped binary, and ukiboot's share of
// the ROM initramfs (xz) over u-root's core set against the 122 KiB the
// issue started from.
func sizeCases(c config) ([]row, []string) {
	r := row{name: "6  stripped ukiboot (-trimpath -s -w)", unit: byteSize, budget: 5 << 20}
	if c.stripped == "" {
		r.skip = "no -stripped"
	} else if st, err := os.Stat(c.stripped); err != nil {
		r.err = firstLine(err.Error())
	} else {
		r.value = float64(st.Size())
	}
	rows := []row{r}
	if !c.rom {
		return append(rows, row{name: "6  ROM: ukiboot's xz share - 122 KiB", skip: "BENCH_ROM=0"}), nil
	}
	var notes []string
	for i, set := range []string{"rom-core", "rom-set"} {
		file := filepath.Join(c.fixtures, set, "ukiboot-share")
		share, err := readShare(file)
		switch {
		case err != nil:
			rows = append(rows, row{name: "6  ROM share: " + file, err: firstLine(err.Error())})
		case i == 0:
			// Budget: this wave adds at most 1.5 MiB over 122 KiB.
			rows = append(rows, row{name: "6  ROM (" + share.set + "): ukiboot's xz share - 122 KiB", unit: byteSize,
				value: float64(share.xz - 122<<10), budget: 1.5 * (1 << 20)})
		default:
			rows = append(rows, row{name: "6  ROM (" + share.set + "): ukiboot's xz share", unit: byteSize, value: float64(share.xz)})
		}
		if err == nil {
			notes = append(notes, fmt.Sprintf("6: ROM initramfs with %s: ukiboot adds %d KiB xz, %d KiB uncompressed (make rom-share)",
				share.set, (share.xz+512)>>10, (share.raw+512)>>10))
		}
	}
	return rows, notes
}

// memPeak is what sampleMemory saw of one run.
type memPeak struct {
	total int64 // max over samples of VmHWM - RssShmem + memfd bytes
	memfd int64 // max over samples of the memfds' sizes
	hwm   int64 // the last VmHWM read
}

// share is what `make rom-share` wrote.
type share struct {
	set     string
	xz, raw int64
}

// readShare reads "set=NAME xz=BYTES raw=BYTES".
func readShare(name string) (share, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return share{}, fmt.Errorf("%v (make rom-share writes it)", err)
	}
	var s share
	for _, f := range strings.Fields(string(b)) {
		k, v, _ := strings.Cut(f, "=")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "set":
			s.set = v
		case "xz":
			s.xz = n
		case "raw":
			s.raw = n
		}
	}
	if s.set == "" || s.xz <= 0 || s.raw <= 0 {
		return s, fmt.Errorf("%s: %q is not set=NAME xz=BYTES raw=BYTES", name, b)
	}
	return s, nil
}

// romBootCase is budget 7, reported only: the ROM VM test's time from
// ukiboot's start to the kexec reboot of a 200 MiB UKI, with swtpm.
func romBootCase(c config) ([]row, []string) {
	name := "7  ROM VM: ukiboot start to kexec, 200 MiB, swtpm"
	if !c.rom {
		return []row{{name: name, skip: "BENCH_ROM=0"}}, nil
	}
	file := filepath.Join(c.fixtures, "rom-boot.txt")
	b, err := os.ReadFile(file)
	if err != nil {
		return []row{{name: name, err: firstLine(err.Error())}}, nil
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(b)), 64)
	if err != nil || v <= 0 || math.IsNaN(v) {
		return []row{{name: name, err: fmt.Sprintf("%s: %q is no time", file, b)}}, nil
	}
	return []row{{name: name, value: v}}, []string{"7: under TCG (qemu without KVM), so slower than hardware; reported, no budget yet"}
}

// goBenchmarks runs the Go benchmarks of the hot paths once and returns
// their result lines (ns/op, MB/s, B/op).
func goBenchmarks(c config) string {
	progress("Go benchmarks: %s", c.goBench)
	args := append([]string{"test", "-count=1", "-run", "^$", "-bench", ".", "-benchmem"}, strings.Fields(c.goBench)...)
	out, err := exec.Command("go", args...).CombinedOutput()
	var b strings.Builder
	s := bufio.NewScanner(strings.NewReader(string(out)))
	for s.Scan() {
		if l := s.Text(); strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "pkg:") {
			b.WriteString("  " + l + "\n")
		}
	}
	if err != nil {
		fmt.Fprintf(&b, "  go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return b.String()
}
