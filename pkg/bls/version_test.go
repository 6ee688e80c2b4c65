package bls

import (
	"errors"
	"math/rand"
	"os/exec"
	"sort"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// Vectors from systemd's test-string-util.c.
var orderedVersions = []string{
	"~1", "", "ab", "abb", "abc", "0001", "002", "12", "122", "122.9",
	"123~rc1", "123", "123-a", "123-a.1", "123-a1", "123-a1.1", "123-3",
	"123-3.1", "123^patch1", "123^1", "123.a-1", "123.1-1", "123a-1", "124",
}

var newerPairs = [][2]string{
	{"123.45-67.88", "123.45-67.89"},
	{"123.45-67.89", "123.45-67.89a"},
	{"123.45-67.ab", "123.45-67.89"},
	{"123.45-67.9", "123.45-67.89"},
	{"123.45-67", "123.45-67.89"},
	{"123.45-66.89", "123.45-67.89"},
	{"123.45-9.99", "123.45-67.89"},
	{"123.42-99.99", "123.45-67.89"},
	{"123-99.99", "123.45-67.89"},
	{"123~rc1-99.99", "123.45-67.89"},
	{"123~rc1-99.99", "123-45.67.89"},
	{"123~rc1-99.99", "123~rc2-67.89"},
	{"123~rc1-99.99", "123^aa2-67.89"},
	{"123~rc1-99.99", "123aa2-67.89"},
	{"123-99.99", "123^aa2-67.89"},
	{"123-99.99", "123aa2-67.89"},
	{"123^45-67.89", "123.45-67.89"},
	{"123^aa1-99.99", "123^aa2-67.89"},
	{"123^aa2-67.89", "123aa2-67.89"},
	{"123.aa2-67.89", "123aa2-67.89"},
	{"123.aa2-67.89", "123.ab2-67.89"},
}

var fixedResults = []struct {
	a, b string
	want int
}{
	{"123_aa2-67.89", "123aa+2-67.89", 0},
	{"123.", "123", 1},
	{"12_3", "123", -1},
	{"12_3", "12", 1},
	{"12_3", "12.3", 1},
	{"123.0", "123", 1},
	{"123_0", "123", 1},
	{"123..0", "123.0", -1},
	{"", "", 0},
	{"0_", "0", 0},
	{"_0_", "0", 0},
	{"_0", "0", 0},
	{"0", "0___", 0},
	{"", "_", 0},
	{"_", "_", 0},
	{"", "~", 1},
	{"~", "", -1},
	{"~", "~", 0},
	// rpmvercmp vectors as systemd keeps them.
	{"1.0", "2.0", -1},
	{"2.0.1a", "2.0.1", 1},
	{"5.5p1", "5.5p10", -1},
	{"10xyz", "10.1xyz", 1},
	{"xyz10", "xyz10.1", -1},
	{"xyz.4", "8", -1},
	{"8", "xyz.4", 1},
	{"5.6p1", "6.5p1", -1},
	{"6.0.rc1", "6.0", 1},
	{"10b2", "10a1", 1},
	{"1.0a", "1.0aa", -1},
	{"10.0001", "10.1", 0},
	{"10.0001", "10.0039", -1},
	{"4.999.9", "5.0", -1},
	{"20101121", "20101122", -1},
	{"2.0", "2_0", -1},
	{"a+", "a_", 0},
	{"+_", "_+", 0},
	{"1.0~rc1", "1.0", -1},
	{"1.0~rc1~git123", "1.0~rc1", -1},
	{"1.0^", "1.0", 1},
	{"1.0^git1", "1.01", -1},
	{"1.0^20160101", "1.0.1", -1},
	{"1.0^20160102", "1.0^20160101^git1", 1},
	{"1.0~rc1^git1", "1.0~rc1", 1},
	{"1.0^git1", "1.0^git1~pre", 1},
	{"1b.fc17", "1.fc17", 1},
	{"1.1.α", "1.1.β", 0},
	{"1.1.αα", "1.1.α", 0},
}

func TestCompareVersionsVectors(t *testing.T) {
	for i, a := range orderedVersions {
		for _, b := range orderedVersions[i+1:] {
			if r := CompareVersions(a, b); r != -1 {
				t.Errorf("CompareVersions(%q, %q) = %d, want -1", a, b, r)
			}
			if r := CompareVersions(b, a); r != 1 {
				t.Errorf("CompareVersions(%q, %q) = %d, want 1", b, a, r)
			}
		}
		if r := CompareVersions(a, a); r != 0 {
			t.Errorf("CompareVersions(%q, %q) = %d", a, a, r)
		}
	}
	for _, p := range newerPairs {
		if CompareVersions(p[0], p[1]) != -1 || CompareVersions(p[1], p[0]) != 1 {
			t.Errorf("%q should be older than %q", p[0], p[1])
		}
	}
	for _, c := range fixedResults {
		if r := CompareVersions(c.a, c.b); r != c.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", c.a, c.b, r, c.want)
		}
	}
}

// randomVersion makes version-like strings heavy in the characters that
// matter: digits, letters, separators, leading zeros, ignored characters.
func randomVersion(r *rand.Rand) string {
	parts := []string{"0", "00", "1", "2", "9", "10", "010", "123", "a", "b", "rc", "git", "Z", "~", "-", "^", ".", "_", "+", "", "~rc", "fc40"}
	n := r.Intn(6)
	s := ""
	for i := 0; i < n; i++ {
		s += parts[r.Intn(len(parts))]
	}
	return s
}

// TestCompareVersionsTotalOrder checks antisymmetry and transitivity on
// random strings, and that sorting with it is consistent.
func TestCompareVersionsTotalOrder(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	vs := make([]string, 300)
	for i := range vs {
		vs[i] = randomVersion(r)
	}
	for _, a := range vs {
		for _, b := range vs {
			if CompareVersions(a, b) != -CompareVersions(b, a) {
				t.Fatalf("not antisymmetric: %q %q", a, b)
			}
		}
	}
	for k := 0; k < 200000; k++ {
		a, b, c := vs[r.Intn(len(vs))], vs[r.Intn(len(vs))], vs[r.Intn(len(vs))]
		if CompareVersions(a, b) <= 0 && CompareVersions(b, c) <= 0 && CompareVersions(a, c) > 0 {
			t.Fatalf("not transitive: %q <= %q <= %q but %q > %q", a, b, c, a, c)
		}
		if CompareVersions(a, b) == 0 && CompareVersions(b, c) == 0 && CompareVersions(a, c) != 0 {
			t.Fatalf("equality not transitive: %q %q %q", a, b, c)
		}
	}
	sort.SliceStable(vs, func(i, j int) bool { return CompareVersions(vs[i], vs[j]) < 0 })
	for i := 1; i < len(vs); i++ {
		if CompareVersions(vs[i-1], vs[i]) > 0 {
			t.Fatalf("sorted list out of order at %d: %q > %q", i, vs[i-1], vs[i])
		}
	}
}

// TestCompareVersionsSystemdAnalyze compares with `systemd-analyze
// compare-versions` (exit 12: <, 0: ==, 11: >) on generated pairs.
func TestCompareVersionsSystemdAnalyze(t *testing.T) {
	sa := ukitest.Need(t, "systemd-analyze")
	r := rand.New(rand.NewSource(2))
	n := 400
	if testing.Short() {
		n = 50
	}
	for k := 0; k < n; k++ {
		a, b := randomVersion(r), randomVersion(r)
		if k%4 == 0 { // near-equal pairs find the subtle cases
			b = a + randomVersion(r)
		}
		err := exec.Command(sa, "compare-versions", "--", a, b).Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		want := map[int]int{12: -1, 0: 0, 11: 1}[code]
		if code != 0 && code != 11 && code != 12 {
			t.Fatalf("systemd-analyze compare-versions %q %q: exit %d", a, b, code)
		}
		if got := CompareVersions(a, b); got != want {
			t.Errorf("CompareVersions(%q, %q) = %d, systemd-analyze says %d", a, b, got, want)
		}
	}
}
