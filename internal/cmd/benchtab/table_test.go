package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestVerdict(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name string
		r    row
		want string
	}{
		{"ratio within the budget passes", row{value: 0.29, baseline: 0.2, budget: 1.5}, "pass"},
		{"ratio exactly at the budget passes", row{value: 3, baseline: 2, budget: 1.5}, "pass"},
		{"size exactly at its limit passes", row{value: 5 << 20, unit: byteSize, budget: 5 << 20}, "pass"},
		{"ratio over the budget fails", row{value: 1.42, baseline: 0.2, budget: 1.5}, "FAIL"},
		{"a faster ukiboot than its baseline passes", row{value: 0.1, baseline: 0.2, budget: 1.1}, "pass"},
		{"without a baseline the value is judged", row{value: 0.4, budget: 1}, "pass"},
		{"without a baseline a value over the budget fails", row{value: 1.3, budget: 1}, "FAIL"},
		{"size over its limit fails", row{value: 6 << 20, unit: byteSize, budget: 5 << 20}, "FAIL"},
		{"a failed baseline fails", row{value: 0.3, baseline: nan, budget: 1.5}, "FAIL"},
		{"a failed value fails", row{value: nan, baseline: 0.2, budget: 1.5}, "FAIL"},
		{"a measurement error fails", row{value: 0.1, baseline: 0.2, budget: 1.5, err: "exited 1"}, "FAIL"},
		{"no budget is a report", row{value: 12, budget: 0}, "report"},
		{"a skipped case is neither", row{skip: "not root"}, "skipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.verdict(); got != tc.want {
				t.Errorf("verdict of %+v = %s, want %s", tc.r, got, tc.want)
			}
		})
	}
}

func TestFailed(t *testing.T) {
	pass := row{value: 1, baseline: 1, budget: 1.5}
	for _, tc := range []struct {
		name string
		rows []row
		want bool
	}{
		{"all pass", []row{pass, pass}, false},
		{"one miss among passes", []row{pass, {value: 2, baseline: 1, budget: 1.5}, pass}, true},
		{"skips and reports do not fail", []row{pass, {skip: "not root"}, {value: 3}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := failed(tc.rows); got != tc.want {
				t.Errorf("failed = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTableCells(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    row
		want string
	}{
		{"ratio row", row{name: "1a", value: 0.3, baseline: 0.2, budget: 1.5}, "| 1a | 0.300 s | 0.200 s | 1.50x | <= 1.50x | pass |"},
		{"absolute row", row{name: "6", value: 6 << 20, unit: byteSize, budget: 5 << 20}, "| 6 | 6.0 MiB | - | - | <= 5.0 MiB | FAIL |"},
		{"skipped row", row{name: "2", skip: "not root"}, "| 2 | not root | - | - | - | skipped |"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printTable(&b, []row{tc.r})
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			if got := strings.Join(strings.Fields(lines[len(lines)-1]), " "); got != tc.want {
				t.Errorf("row printed as %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseHyperfine(t *testing.T) {
	for _, tc := range []struct {
		name, json string
		want       map[string]float64
		wantErr    string
	}{
		{"medians by command name", `{"results":[
			{"command":"ukiboot","mean":0.5,"median":0.4,"times":[0.4,0.9,0.3],"exit_codes":[0,0,0]},
			{"command":"openssl","mean":0.2,"median":0.21,"times":[0.2,0.21,0.22],"exit_codes":[0,0,0]}]}`,
			map[string]float64{"ukiboot": 0.4, "openssl": 0.21}, ""},
		{"median from the times when missing", `{"results":[{"command":"a","times":[3,1,2,10]}]}`,
			map[string]float64{"a": 2.5}, ""},
		{"a failed run is an error", `{"results":[{"command":"ukiboot","median":0.4,"exit_codes":[0,1]}]}`, nil, "ukiboot exited 1"},
		{"no results", `{"results":[]}`, nil, "no results"},
		{"no time", `{"results":[{"command":"a"}]}`, nil, "a: no time"},
		{"not JSON", `hyperfine: error`, nil, "hyperfine's JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseHyperfine(strings.NewReader(tc.json))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: %v, want %v", k, got[k], v)
				}
			}
		})
	}
}

func TestHashFloor(t *testing.T) {
	for _, tc := range []struct {
		name  string
		times []float64
		cores int
		want  float64
	}{
		{"total over cores dominates", []float64{0.2, 0.2, 0.3, 0.2}, 2, 0.45},
		{"longest hash dominates", []float64{0.1, 0.5}, 4, 0.5},
		{"one core sums", []float64{0.1, 0.2}, 1, 0.30000000000000004},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hashFloor(tc.times, tc.cores); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("floor %v, want %v", got, tc.want)
			}
		})
	}
}

// TestPlanComplete: the dry-run's plan is checked before it is timed, so
// that a ukiboot printing less (no digests, no events) is not measured.
func TestPlanComplete(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	one, three := read("plan-sha256.txt"), read("plan-3banks.txt")
	for _, tc := range []struct {
		name, plan, banks, wantErr string
	}{
		{"today's plan with the sha256 bank", one, "sha256", ""},
		{"today's plan with three banks", three, "sha1,sha256,sha384", ""},
		{"the wrong banks", one, "sha1,sha256,sha384", "measurements"},
		{"kernel line without its sha256", regexp.MustCompile(`(?m)^(kernel: .*) sha256 [0-9a-f]+$`).ReplaceAllString(one, "$1"), "sha256", "kernel"},
		{"not trusted", strings.Replace(one, "verified: trusted", "verified: untrusted", 1), "sha256", "verified"},
		{"an event left out", strings.Replace(three, ".uname\n", "\n", 1), "sha1,sha256,sha384", ".uname"},
		{"a bank's digest left out", strings.Replace(three, "sha384 8c2593", "sha384 ", 1), "sha1,sha256,sha384", "sha384 digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := planComplete(tc.plan, tc.banks, "plan.txt")
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("err %v, want none", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err %v, want one about %q", err, tc.wantErr)
			}
		})
	}
}
