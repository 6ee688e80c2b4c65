package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
)

// unit says how a row's figures are printed.
type unit int

const (
	seconds unit = iota
	byteSize
)

// row is one line of the table: a figure of ukiboot's, the baseline it is
// compared with (0: none, the budget bounds the figure itself), and the
// budget (0: reported only).
type row struct {
	name     string
	value    float64
	baseline float64
	unit     unit
	budget   float64 // the largest allowed ratio, or value when baseline is 0
	skip     string  // why the case was not measured
	err      string  // why the measurement failed (a miss)
}

// ratio is value/baseline; NaN without a baseline or with a failed one.
func (r row) ratio() float64 {
	if r.baseline <= 0 || math.IsNaN(r.value) || math.IsNaN(r.baseline) {
		return math.NaN()
	}
	return r.value / r.baseline
}

// judged is the figure the budget bounds: the ratio, or the value itself
// when there is no baseline.
func (r row) judged() float64 {
	if r.baseline == 0 {
		return r.value
	}
	return r.ratio()
}

// verdict is pass, FAIL, report (no budget) or skipped. A failed
// measurement and a figure that is not a number fail: a budget is met
// only by a measured figure within it.
func (r row) verdict() string {
	switch {
	case r.skip != "":
		return "skipped"
	case r.err != "":
		return "FAIL"
	case r.budget == 0:
		return "report"
	}
	j := r.judged()
	if math.IsNaN(j) || math.IsInf(j, 0) || j > r.budget {
		return "FAIL"
	}
	return "pass"
}

// failed: some row missed its budget.
func failed(rows []row) bool {
	for _, r := range rows {
		if r.verdict() == "FAIL" {
			return true
		}
	}
	return false
}

func (u unit) format(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case u == byteSize:
		return fmt.Sprintf("%.1f MiB", v/(1<<20))
	}
	return fmt.Sprintf("%.3f s", v)
}

func (r row) cells() []string {
	value, base, ratio, budget := r.unit.format(r.value), "-", "-", "-"
	if r.baseline != 0 {
		base = r.unit.format(r.baseline)
		if q := r.ratio(); !math.IsNaN(q) {
			ratio = fmt.Sprintf("%.2fx", q)
		}
		if r.budget != 0 {
			budget = fmt.Sprintf("<= %.2fx", r.budget)
		}
	} else if r.budget != 0 {
		budget = "<= " + r.unit.format(r.budget)
	}
	switch {
	case r.skip != "":
		value = r.skip
	case r.err != "":
		value = r.err
	}
	return []string{r.name, value, base, ratio, budget, r.verdict()}
}

// printTable writes the rows as a Markdown table (docs/performance.md
// takes it as printed).
func printTable(w io.Writer, rows []row) {
	head := []string{"case", "ukiboot", "baseline", "ratio", "budget", "pass/fail"}
	cells := [][]string{head}
	for _, r := range rows {
		cells = append(cells, r.cells())
	}
	width := make([]int, len(head))
	for _, c := range cells {
		for i, s := range c {
			width[i] = max(width[i], len(s))
		}
	}
	line := func(c []string) {
		for i, s := range c {
			fmt.Fprintf(w, "| %-*s ", width[i], s)
		}
		fmt.Fprintln(w, "|")
	}
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, c := range cells[1:] {
		line(c)
	}
}

// hyperfineResult is what benchtab reads of one command in hyperfine's
// --export-json file.
type hyperfineResult struct {
	Command string    `json:"command"`
	Median  float64   `json:"median"`
	Mean    float64   `json:"mean"`
	Times   []float64 `json:"times"`
	// ExitCodes is set by hyperfine 1.11 and newer.
	ExitCodes []*int `json:"exit_codes"`
}

// parseHyperfine reads an --export-json file: the median wall time of
// each command, by the name given with --command-name.
func parseHyperfine(r io.Reader) (map[string]float64, error) {
	var doc struct {
		Results []hyperfineResult `json:"results"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, fmt.Errorf("hyperfine's JSON: %v", err)
	}
	if len(doc.Results) == 0 {
		return nil, fmt.Errorf("hyperfine's JSON has no results")
	}
	out := map[string]float64{}
	for _, res := range doc.Results {
		for _, c := range res.ExitCodes {
			if c != nil && *c != 0 {
				return nil, fmt.Errorf("%s exited %d", res.Command, *c)
			}
		}
		m := res.Median
		if m <= 0 && len(res.Times) > 0 {
			m = median(res.Times)
		}
		if m <= 0 {
			return nil, fmt.Errorf("%s: no time in hyperfine's JSON", res.Command)
		}
		out[res.Command] = m
	}
	return out, nil
}

func parseHyperfineFile(name string) (map[string]float64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := parseHyperfine(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return m, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[n/2]
}

// hashFloor is budget 1b's floor: max(total hash CPU / cores, longest
// single hash), in seconds.
func hashFloor(times []float64, cores int) float64 {
	var total, longest float64
	for _, t := range times {
		total += t
		longest = max(longest, t)
	}
	if cores < 1 {
		cores = 1
	}
	return max(total/float64(cores), longest)
}
