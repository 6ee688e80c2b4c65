// Command benchtab is `make bench`'s runner (not a product command): it
// times ukiboot against its baselines side by side with hyperfine, on the
// fixtures benchfix built, measures memory and sizes, and prints one table
// (case | ukiboot | baseline | ratio | budget | pass/fail) with the Go
// benchmarks of the hot paths under it. It exits 1 when a budget of
// issue 14 or 15 is missed. docs/performance.md says what each case measures.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ukiboot/ukiboot/internal/benchlayout"
)

// config is what the Makefile hands benchtab.
type config struct {
	fixtures             string          // benchfix's -out
	ukiboot              string          // the binary timed
	stripped             string          // the stripped build (budget 6)
	noNet                string          // the stripped build with -tags nonetboot (budget 6)
	serve                string          // benchserve, for case 8
	netBPS               int64           // case 8's paced link, bytes/s
	romInitramfsMax      int64           // mk/rom.mk's ROM_INITRAMFS_MAX with network boot (budget 6)
	romInitramfsMaxNoNet int64           // the same with NETBOOT=0
	cases                map[string]bool // the cases to run ("1".."8"); nil: all
	sizes                []int           // MiB: small, main, large
	seed                 uint64
	runs                 int
	coldBPS              int64  // budget 2: the throttled disk's read rate, bytes/s
	rom                  bool   // read make bench-rom's figures (budgets 6 and 7)
	goBench              string // packages whose Go benchmarks run once, or ""
	logs                 string // where hyperfine's output and JSON go
}

func main() {
	var c config
	var sizes, cases string
	flag.StringVar(&c.fixtures, "fixtures", "out/bench", "benchfix's output directory")
	flag.StringVar(&c.ukiboot, "ukiboot", "bin/ukiboot", "the ukiboot binary to time")
	flag.StringVar(&c.stripped, "stripped", "", "a stripped ukiboot (go build -trimpath -ldflags='-s -w') for the size budget")
	flag.StringVar(&c.noNet, "stripped-nonetboot", "", "a stripped ukiboot built with -tags nonetboot, for the size budget without network boot")
	flag.StringVar(&c.serve, "serve", "", "benchserve (go build ./internal/cmd/benchserve), for the download case; empty: skipped")
	flag.Int64Var(&c.netBPS, "net-bps", 125000000, "case 8's paced row: the link's rate in bytes per second (125000000: 1 Gbit/s)")
	flag.Int64Var(&c.romInitramfsMax, "rom-initramfs-max", 4194304, "the ROM's initramfs budget in bytes with network boot (mk/rom.mk's ROM_INITRAMFS_MAX)")
	flag.Int64Var(&c.romInitramfsMaxNoNet, "rom-initramfs-max-nonetboot", 3145728, "the ROM's initramfs budget in bytes without network boot (NETBOOT=0)")
	flag.StringVar(&cases, "cases", "", "only these cases, comma-separated (e.g. 6,8: a quick look); empty: all")
	flag.StringVar(&sizes, "sizes", "50,200,400", "the UKI sizes in MiB: small (memory), main, large (memory, linearity)")
	flag.Uint64Var(&c.seed, "seed", 1, "benchfix's seed")
	flag.IntVar(&c.runs, "runs", 10, "hyperfine runs per command (warm cases)")
	flag.Int64Var(&c.coldBPS, "cold-bps", 200000000, "budget 2's throttled row: the read rate of the fixtures' disk in bytes per second (a SATA SSD or eMMC)")
	flag.BoolVar(&c.rom, "rom", false, "read what make bench-rom wrote under -fixtures: rom-core/ukiboot-share, rom-set/ukiboot-share, rom-boot.txt")
	flag.StringVar(&c.goBench, "go-bench", "./pkg/authenticode ./pkg/measure ./pkg/stub ./internal/fanout ./pkg/cpio ./pkg/bls ./cmds/ukiboot", "the packages whose Go benchmarks run, or empty")
	flag.Parse()
	var err error
	if c.sizes, err = benchlayout.ParseSizes(sizes); err == nil && len(c.sizes) != 3 {
		err = fmt.Errorf("three sizes are needed (small,main,large), got %d", len(c.sizes))
	}
	if err != nil {
		fatalf("-sizes %q (BENCH_SIZES): %v", sizes, err)
	}
	if c.cases, err = parseCases(cases); err != nil {
		fatalf("-cases %q (BENCH_CASES): %v", cases, err)
	}
	c.logs = filepath.Join(c.fixtures, "logs")
	if err := os.MkdirAll(c.logs, 0o755); err != nil {
		fatalf("%v", err)
	}
	if failed(run(c, os.Stdout)) {
		os.Exit(1)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "benchtab: "+format+"\n", a...)
	os.Exit(2)
}

// progress says on stderr what runs (the table goes to stdout).
func progress(format string, a ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...) }

// run measures every case and prints the machine, the table, its notes
// and the Go benchmarks.
func run(c config, w io.Writer) []row {
	before := machine()
	var rows []row
	var notes []string
	for _, st := range steps() {
		if c.cases != nil && !c.cases[st.id] {
			continue
		}
		r, n := st.run(c)
		rows = append(rows, r...)
		notes = append(notes, n...)
	}
	var goBench string
	if c.goBench != "" {
		goBench = goBenchmarks(c)
	}
	fmt.Fprintln(w, before)
	fmt.Fprintln(w, "after:", loadLine())
	if c.cases != nil {
		fmt.Fprintln(w, "only the cases of -cases (BENCH_CASES): the table is not make bench's whole verdict")
	}
	fmt.Fprintln(w)
	printTable(w, rows)
	fmt.Fprintln(w)
	for _, n := range notes {
		fmt.Fprintln(w, "- "+n)
	}
	if goBench != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "Go benchmarks (one run each, no budget):")
		fmt.Fprint(w, goBench)
	}
	return rows
}

// step is one case, by number.
type step struct {
	id  string
	run func(config) ([]row, []string)
}

// steps are the cases in the table's order.
func steps() []step {
	return []step{
		{"1", hashCases}, {"2", coldCase}, {"3", linearCase}, {"4", listCases}, {"5", memoryCases},
		{"6", sizeCases}, {"7", romBootCase}, {"8", downloadCases},
	}
}

// parseCases reads -cases: "" is every case (nil), else a
// comma-separated list of case numbers.
func parseCases(s string) (map[string]bool, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	known := map[string]bool{}
	for _, st := range steps() {
		known[st.id] = true
	}
	m := map[string]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if !known[f] {
			return nil, fmt.Errorf("%q is not a case (1 to %d)", f, len(steps()))
		}
		m[f] = true
	}
	return m, nil
}

// machine describes the CPU and the load, and warns when the load makes
// the wall times unreliable.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	s := fmt.Sprintf("machine: %s, %d cores (runtime.NumCPU), %s\nbefore: %s", model, runtime.NumCPU(), runtime.Version(), loadLine())
	return s
}

// loadLine is the load average, with a warning over 0.5 per core.
func loadLine() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown: " + err.Error()
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load average unreadable: " + string(b)
	}
	s := "load average " + strings.Join(f[:3], " ")
	var l1 float64
	if _, err := fmt.Sscan(f[0], &l1); err == nil && l1 > 0.5*float64(runtime.NumCPU()) {
		s += fmt.Sprintf("  WARNING: over 0.5 per core (%d cores): other work shares the CPU, wall times are high and ratios noisy", runtime.NumCPU())
	}
	return s
}
