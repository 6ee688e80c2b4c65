package main

import (
	"math"
	"strings"
	"testing"
)

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

func TestColdPrepare(t *testing.T) {
	got := coldPrepare("bin/ukiboot")
	drop, read := strings.Index(got, "echo 3 > /proc/sys/vm/drop_caches"), strings.Index(got, "cat bin/ukiboot > /dev/null")
	if drop < 0 || read < drop {
		t.Errorf("coldPrepare = %q: want the page cache dropped, then the binary read back", got)
	}
}
