package benchlayout

import (
	"slices"
	"testing"
)

func TestParseSizes(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []int
		bad      bool
	}{
		{"three sizes", "50,200,400", []int{50, 200, 400}, false},
		{"spaces and empty fields", " 1, ,4096,", []int{1, 4096}, false},
		{"zero", "0", nil, true},
		{"too large", "4097", nil, true},
		{"not a number", "2G", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseSizes(tc.in)
			if (err != nil) != tc.bad || !slices.Equal(got, tc.want) {
				t.Errorf("ParseSizes(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.bad)
			}
		})
	}
}

func TestDirs(t *testing.T) {
	if got := SignedDir("out", 200, 1); got != "out/uki-200m-seed1" {
		t.Errorf("SignedDir = %s", got)
	}
	if got := ListDir("out", 100, 1); got != "out/list-100x1m" {
		t.Errorf("ListDir = %s", got)
	}
}
