package main

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/ukiboot/ukiboot/internal/benchlayout"
)

// ukiFixture is one of benchfix's signed UKIs.
type ukiFixture struct {
	mib          int
	esp, uki, ca string
	size         int64 // bytes of the UKI
}

func (c config) uki(mib int) ukiFixture {
	dir := benchlayout.SignedDir(c.fixtures, mib, c.seed)
	f := ukiFixture{mib: mib, esp: filepath.Join(dir, "esp"), uki: filepath.Join(dir, "esp/EFI/Linux/big.efi"), ca: filepath.Join(dir, "ca.pem")}
	if st, err := os.Stat(f.uki); err == nil {
		f.size = st.Size()
	}
	return f
}

// verified is the command of budgets 1-3 and 5 (plan §2's): a verified,
// measured dry-run that prints the plan with every event.
func (c config) verified(f ukiFixture, banks string) []string {
	return []string{c.ukiboot, "-dry-run", "-auto", "-root", f.esp, "-verify", "enforce", "-db", f.ca, "-measure", "off", "-pcr-banks", banks}
}

// checkPlan runs the verified dry-run once and checks that it prints what
// it prints today (so that no figure is taken of a run that does less);
// the output is kept in the logs.
func (c config) checkPlan(args []string, banks string) error {
	name := "plan-" + strings.ReplaceAll(banks, ",", "-") + ".txt"
	plan, err := c.planOf(args, name)
	if err != nil {
		return err
	}
	return planComplete(plan, banks, filepath.Join(c.logs, name))
}

// planComplete: the plan names the kernel and initrd with their SHA-256
// and the verdict, measures each section of the fixture (its name and its
// data: two events), and gives every event a digest of every bank.
func planComplete(plan, banks, log string) error {
	lacks := func(what string) error {
		return fmt.Errorf("%s: the plan lacks %s: it changed, so the figures would not compare", log, what)
	}
	for _, w := range []string{`(?m)^kernel: .* sha256 [0-9a-f]{64}$`, `(?m)^initrd: .* sha256 [0-9a-f]{64}$`,
		`(?m)^verified: trusted$`, `(?m)^measurements \(banks ` + regexp.QuoteMeta(banks) + `\):$`} {
		if !regexp.MustCompile(w).MatchString(plan) {
			return lacks(w)
		}
	}
	for _, sec := range []string{".linux", ".osrel", ".cmdline", ".initrd", ".uname"} {
		if n := len(regexp.MustCompile(`(?m)EV_IPL .*\s`+regexp.QuoteMeta(sec)+`$`).FindAllString(plan, -1)); n < 2 {
			return lacks("the two PCR 11 events of " + sec)
		}
	}
	list := eventList(plan)
	events := strings.Count(list, "EV_IPL")
	for _, b := range strings.Split(banks, ",") {
		hex := map[string]int{"sha1": 40, "sha256": 64, "sha384": 96, "sha512": 128}[b]
		re := regexp.MustCompile(fmt.Sprintf(`\b%s [0-9a-f]{%d}\b`, regexp.QuoteMeta(b), hex))
		if hex == 0 || len(re.FindAllString(list, -1)) != events {
			return lacks(fmt.Sprintf("a %s digest for each of its %d events", b, events))
		}
	}
	return nil
}

// eventList is the indented lines under "measurements (banks ...):".
func eventList(plan string) string {
	_, after, _ := strings.Cut(plan, "\nmeasurements (")
	_, after, _ = strings.Cut(after, "\n")
	var b strings.Builder
	for _, l := range strings.SplitAfter(after, "\n") {
		if !strings.HasPrefix(l, "  ") {
			break
		}
		b.WriteString(l)
	}
	return b.String()
}

// shellJoin quotes args for a shell, or hyperfine's splitting.
func shellJoin(args ...string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,=:") == "" {
			q[i] = a
		} else {
			q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
	}
	return strings.Join(q, " ")
}

// command is one command hyperfine times, by name.
type command struct{ name, line string }

// hyperfine times the commands side by side (warmup 1 and no shell,
// unless cold: then prepare runs in a shell before each run) and returns
// the median wall time of each by name. hyperfine splits a command
// without a shell as a shell would (shellJoin quotes).
func (c config) hyperfine(id string, runs int, prepare string, cmds ...command) (map[string]float64, error) {
	var p []string
	if prepare != "" {
		p = []string{prepare}
	}
	return c.hyperfineEach(id, runs, p, cmds...)
}

// hyperfineEach is hyperfine with no prepare, one for every command, or
// one for each command in order (run in a shell before each of its runs).
func (c config) hyperfineEach(id string, runs int, prepare []string, cmds ...command) (map[string]float64, error) {
	js := filepath.Join(c.logs, id+".json")
	args := []string{"--runs", strconv.Itoa(runs), "--export-json", js, "--style", "basic"}
	for _, p := range prepare {
		args = append(args, "--prepare", p)
	}
	if len(prepare) == 0 {
		// No shell between hyperfine and a warm command: its start-up
		// would be noise on the short ones (-list).
		args = append(args, "--warmup", "1", "--shell=none")
	}
	for _, cmd := range cmds {
		args = append(args, "--command-name", cmd.name, cmd.line)
	}
	log, err := os.Create(filepath.Join(c.logs, id+".txt"))
	if err != nil {
		return nil, err
	}
	defer log.Close()
	progress("%s: hyperfine %s", id, strings.Join(names(cmds), " vs "))
	h := exec.Command("hyperfine", args...)
	h.Stdout, h.Stderr = log, log
	if err := h.Run(); err != nil {
		return nil, fmt.Errorf("hyperfine: %v (see %s)", err, log.Name())
	}
	return parseHyperfineFile(js)
}

func names(cmds []command) []string {
	var n []string
	for _, c := range cmds {
		n = append(n, c.name)
	}
	return n
}

// timed is a row of two hyperfine figures, or of the error that kept it
// from being measured.
func timed(name string, m map[string]float64, err error, value, base string, budget float64) row {
	r := row{name: name, unit: seconds, budget: budget, value: math.NaN(), baseline: math.NaN()}
	if err != nil {
		r.err = firstLine(err.Error())
		return r
	}
	r.value, r.baseline = m[value], m[base]
	return r
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// hashCases are budget 1: the verified dry-run with the sha256 bank
// against openssl's SHA-256 of the file, and with three banks against the
// hash floor measured right after it.
func hashCases(c config) ([]row, []string) {
	f := c.uki(c.sizes[1])
	n1 := fmt.Sprintf("1a verified dry-run %d MiB, sha256 bank / openssl dgst -sha256", f.mib)
	n3 := fmt.Sprintf("1b verified dry-run %d MiB, sha1+sha256+sha384 / hash floor", f.mib)
	v1, v3 := c.verified(f, "sha256"), c.verified(f, "sha1,sha256,sha384")
	for _, p := range []struct {
		args  []string
		banks string
	}{{v1, "sha256"}, {v3, "sha1,sha256,sha384"}} {
		if err := c.checkPlan(p.args, p.banks); err != nil {
			return []row{{name: n1, err: "see notes"}, {name: n3, err: "see notes"}}, []string{err.Error()}
		}
	}
	m, err := c.hyperfine("1a", c.runs, "", command{"ukiboot", shellJoin(v1...)}, command{"openssl", shellJoin("openssl", "dgst", "-sha256", f.uki)})
	rows := []row{timed(n1, m, err, "ukiboot", "openssl", 1.5)}
	m, err = c.hyperfine("1b", c.runs, "", command{"ukiboot", shellJoin(v3...)})
	r := timed(n3, m, err, "ukiboot", "", 1.15)
	floor, note, ferr := measureFloor(f.uki)
	switch {
	case ferr != nil:
		r.err = firstLine(ferr.Error())
	case err == nil:
		r.baseline = floor
	}
	var notes []string
	if note != "" {
		notes = append(notes, note)
	}
	return append(rows, r), notes
}

// linearCase is budget 3: the large UKI's verified dry-run against the
// main one's, the budget scaled from 2.2x for twice the size.
func linearCase(c config) ([]row, []string) {
	mid, large := c.uki(c.sizes[1]), c.uki(c.sizes[2])
	name := fmt.Sprintf("3  verified dry-run %d MiB / %d MiB", large.mib, mid.mib)
	m, err := c.hyperfine("3", c.runs, "", command{"large", shellJoin(c.verified(large, "sha256")...)}, command{"main", shellJoin(c.verified(mid, "sha256")...)})
	return []row{timed(name, m, err, "large", "main", 1.1*float64(large.mib)/float64(mid.mib))}, nil
}

// listCases are budget 4: -list of 100 UKIs of 200 MiB against 100 of
// 1 MiB (warm), and the first menu frame with 100 entries (cold).
func listCases(c config) ([]row, []string) {
	big, small := filepath.Join(benchlayout.ListDir(c.fixtures, 100, 200), "esp"), filepath.Join(benchlayout.ListDir(c.fixtures, 100, 1), "esp")
	// A -list takes milliseconds: more runs.
	m, err := c.hyperfine("4a", max(c.runs, 30), "", command{"big", shellJoin(c.ukiboot, "-list", "-root", big)}, command{"small", shellJoin(c.ukiboot, "-list", "-root", small)})
	rows := []row{timed("4a -list 100 x 200 MiB / 100 x 1 MiB", m, err, "big", "small", 1.2)}
	name := "4b first menu frame, 100 entries, cold"
	if os.Geteuid() != 0 {
		return append(rows, row{name: name, skip: "not root"}), []string{"4b: skipped: dropping the page cache needs root"}
	}
	t, err := firstFrame(c.ukiboot, big, max(3, c.runs-2))
	r := row{name: name, value: t, budget: 1}
	if err != nil {
		r.err = firstLine(err.Error())
	}
	return append(rows, r), []string{"4b: median time from ukiboot's start (page cache dropped) to the end of the menu's first frame on a pty (title, entries, keys); the 100 x 200 MiB tree, -dry-run"}
}
