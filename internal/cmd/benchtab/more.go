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

// sizeCases are budget 6: the stripped binary without network boot
// (-tags nonetboot) and with it, and ukiboot's share of the ROM
// initramfs (xz) over u-root's core set against the 122 KiB the issue
// started from.
func sizeCases(c config) ([]row, []string) {
	rows := []row{
		binarySize("6  stripped ukiboot -tags nonetboot (-trimpath -s -w)", c.noNet, 5<<20),
		binarySize("6  stripped ukiboot with network boot", c.stripped, netbootMax),
	}
	if !c.rom {
		return append(rows, row{name: "6  ROM: ukiboot's xz share - 122 KiB", skip: "BENCH_ROM=0"}), nil
	}
	var notes []string
	for _, d := range []struct{ dir, tags string }{
		{"rom-core-nonetboot", "nonetboot"}, {"rom-core", ""}, {"rom-set-nonetboot", "nonetboot"}, {"rom-set", ""},
	} {
		r, n := c.romShare(d.dir, d.tags)
		rows, notes = append(rows, r...), append(notes, n...)
	}
	return rows, notes
}

// romShare is the rows of one make rom-share (bench-rom writes it in
// dir, built with the Go build tags tags): over u-root's core set,
// ukiboot's xz share less the 122 KiB the issue started from (budget
// 1.5 MiB: what issue 14's wave may add); over the ROM set, the share
// (reported) and the whole initramfs against the ROM's initramfs budget
// for that build (mk/rom.mk: 4 MiB with network boot, 3 MiB with
// NETBOOT=0), which the share build does not enforce so that the table
// shows a miss.
func (c config) romShare(dir, tags string) ([]row, []string) {
	file := filepath.Join(c.fixtures, dir, "ukiboot-share")
	share, err := readShare(file)
	if err != nil {
		return []row{{name: "6  ROM share: " + file, err: firstLine(err.Error())}}, nil
	}
	set := share.set
	if tags != "" {
		set += ", " + tags
	}
	notes := []string{fmt.Sprintf("6: ROM initramfs with %s: ukiboot adds %d KiB xz, %d KiB uncompressed (make rom-share)",
		set, (share.xz+512)>>10, (share.raw+512)>>10)}
	if share.set == "core" {
		return []row{{name: "6  ROM (" + set + "): ukiboot's xz share - 122 KiB", unit: byteSize,
			value: float64(share.xz - 122<<10), budget: 1.5 * (1 << 20)}}, notes
	}
	limit := c.romInitramfsMax
	if tags == "nonetboot" {
		limit = c.romInitramfsMaxNoNet
	}
	total := row{name: "6  ROM (" + set + "): initramfs xz, ROM set + ukiboot", unit: byteSize, budget: float64(limit)}
	if st, err := os.Stat(filepath.Join(c.fixtures, dir, "ukiboot.cpio.xz")); err != nil {
		total.err = firstLine(err.Error())
	} else {
		total.value = float64(st.Size())
	}
	return []row{{name: "6  ROM (" + set + "): ukiboot's xz share", unit: byteSize, value: float64(share.xz)}, total}, notes
}

// netbootMax is the stripped binary's budget with network boot: the
// 5 MiB without it plus 3.5 MiB for net/http's client, crypto/tls and
// u-root's dhclient (docs/performance.md, case 6, says why).
const netbootMax = 8.5 * (1 << 20)

// binarySize is a row of a stripped binary's size against limit bytes.
func binarySize(name, file string, limit float64) row {
	r := row{name: name, unit: byteSize, budget: limit}
	if file == "" {
		r.skip = "not built"
	} else if st, err := os.Stat(file); err != nil {
		r.err = firstLine(err.Error())
	} else {
		r.value = float64(st.Size())
	}
	return r
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
