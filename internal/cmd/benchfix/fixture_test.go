package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestRandom(t *testing.T) {
	for _, tc := range []struct {
		name   string
		a, b   []byte
		equals bool
	}{
		{"same seed and name: same bytes", random(1, "linux", 4096), random(1, "linux", 4096), true},
		{"another seed", random(1, "linux", 4096), random(2, "linux", 4096), false},
		{"another section", random(1, "linux", 4096), random(1, "initrd", 4096), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if bytes.Equal(tc.a, tc.b) != tc.equals {
				t.Errorf("equal: %v, want %v", !tc.equals, tc.equals)
			}
		})
	}
}

// TestSignedFixtureCached: a second run finds the fixture by its stamp
// and rebuilds nothing; a stamp of another version rebuilds it.
func TestSignedFixtureCached(t *testing.T) {
	out := t.TempDir()
	dir, err := signedFixture(out, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	first, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		stamp   string // written before the run; "" leaves it
		rebuilt bool
	}{
		{"a second run keeps it", "", false},
		{"an older generator's fixture is rebuilt", "benchfix 0 signed 1 MiB seed 7\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.stamp != "" {
				if err := os.WriteFile(filepath.Join(dir, "stamp"), []byte(tc.stamp), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := signedFixture(out, 1, 7); err != nil {
				t.Fatal(err)
			}
			now, err := os.ReadFile(ca)
			if err != nil {
				t.Fatal(err)
			}
			// Each build makes a new CA.
			if rebuilt := !bytes.Equal(now, first); rebuilt != tc.rebuilt {
				t.Errorf("rebuilt: %v, want %v", rebuilt, tc.rebuilt)
			}
			first = now
		})
	}
}
