package bls_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/bls"
)

// benchEntries are n entries in a fixed pseudo-random order, mixing what
// Compare looks at: with and without sort keys, machine ids, versions,
// UKI profiles and boot counters.
func benchEntries(n int) []*bls.Entry {
	r := rand.New(rand.NewPCG(14, 14))
	entries := make([]*bls.Entry, n)
	for i := range entries {
		e := &bls.Entry{
			ID:        fmt.Sprintf("linux-6.%d.%d-%d.efi", r.IntN(20), r.IntN(200), r.IntN(5)),
			Version:   fmt.Sprintf("6.%d.%d-%d~rc%d", r.IntN(20), r.IntN(200), r.IntN(5), r.IntN(9)),
			TriesLeft: -1,
		}
		switch r.IntN(4) {
		case 0:
			e.SortKey = []string{"debian", "fedora", "arch"}[r.IntN(3)]
			e.MachineID = fmt.Sprintf("%032x", r.IntN(4))
		case 1:
			e.IDWithoutProfile, e.Profile = e.ID, r.IntN(3)
			e.ID = fmt.Sprintf("%s@%d", e.ID, e.Profile)
		case 2:
			e.TriesLeft, e.TriesDone = r.IntN(4), r.IntN(3)
		}
		entries[i] = e
	}
	return entries
}

// BenchmarkSort orders 10,000 entries as systemd-boot's menu does.
func BenchmarkSort(b *testing.B) {
	in := benchEntries(10000)
	work := make([]*bls.Entry, len(in))
	for b.Loop() {
		copy(work, in)
		bls.Sort(work)
	}
}

// BenchmarkCompareVersions compares version strings of the kinds
// entries carry, each pair once per round.
func BenchmarkCompareVersions(b *testing.B) {
	pairs := [][2]string{
		{"6.12.0-1-amd64", "6.12.0-2-amd64"},
		{"6.1.0-28-amd64", "6.1.0-9-amd64"},
		{"255.4-1~bpo12+1", "255.4-1"},
		{"1.0~rc1", "1.0"},
		{"2.0^post1", "2.0"},
		{"fedora-6.11.5-300.fc41.x86_64", "fedora-6.11.10-300.fc41.x86_64"},
		{"00000000000000000000000001", "1"},
		{"a.b.c.d.e.f.g.h", "a.b.c.d.e.f.g.i"},
	}
	for b.Loop() {
		for _, p := range pairs {
			bls.CompareVersions(p[0], p[1])
		}
	}
}
