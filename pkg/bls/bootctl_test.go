package bls_test

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/blstest"
	"github.com/ukiboot/ukiboot/pkg/bls"
)

// TestOrderMatchesBootctl generates many trees (type #1 and #2 mixed over
// an ESP and an XBOOTLDR, random versions, sort keys, machine ids and
// counters) and checks that Load lists them in bootctl's order with the
// same ids, titles, versions, sort keys, tries and options.
//
// The trees avoid the places where bootctl 252 is known to differ from
// systemd-boot, whose behaviour ukiboot follows: entries without tries
// left (systemd-boot sorts them last), upper-case file names (systemd-boot
// lowercases ids), ids that compare equal as versions (bootctl's sort is
// not stable), multi-profile UKIs (bootctl 252 predates them).
func TestOrderMatchesBootctl(t *testing.T) {
	trees := 25
	if testing.Short() {
		trees = 3
	}
	for k := 0; k < trees; k++ {
		t.Run(fmt.Sprint(k), func(t *testing.T) {
			g := &blstest.Generator{R: rand.New(rand.NewSource(int64(k))), NoBad: true}
			esp, xb := t.TempDir(), ""
			if k%3 != 0 {
				xb = t.TempDir()
			}
			n := 5 + g.R.Intn(46)
			g.Tree(esp, xb, n)
			want := blstest.Bootctl(t, esp, xb)
			roots := []string{esp}
			if xb != "" {
				roots = append(roots, xb)
			}
			c, err := bls.Load(roots, bls.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			CompareWithBootctl(t, c.Entries, want)
		})
	}
}

// CompareWithBootctl checks entries against bootctl's list.
func CompareWithBootctl(t *testing.T, got []*bls.Entry, want []blstest.BootctlEntry) {
	t.Helper()
	for _, e := range got {
		if !e.Bootable() {
			t.Errorf("%s is %s: %v", e.ID, e.Status, e.Err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, bootctl lists %d", len(got), len(want))
	}
	var gotIDs, wantIDs []string
	for i := range got {
		gotIDs = append(gotIDs, got[i].ID)
		wantIDs = append(wantIDs, want[i].ID)
	}
	if strings.Join(gotIDs, " ") != strings.Join(wantIDs, " ") {
		t.Fatalf("order differs:\n ukiboot: %s\n bootctl: %s", strings.Join(gotIDs, " "), strings.Join(wantIDs, " "))
	}
	ptr := func(p *int) int {
		if p == nil {
			return -1
		}
		return *p
	}
	for i, w := range want {
		e := got[i]
		if e.Title != w.Title || e.Version != w.Version || e.SortKey != w.SortKey ||
			e.TriesLeft != ptr(w.TriesLeft) || e.TriesDone != ptr(w.TriesDone) ||
			e.Cmdline != w.Options || e.FullPath() != w.Path {
			t.Errorf("entry %d (%s):\n ukiboot: title %q version %q sort-key %q tries %d/%d options %q path %s\n bootctl: title %q version %q sort-key %q tries %d/%d options %q path %s",
				i, e.ID, e.Title, e.Version, e.SortKey, e.TriesLeft, e.TriesDone, e.Cmdline, e.FullPath(),
				w.Title, w.Version, w.SortKey, ptr(w.TriesLeft), ptr(w.TriesDone), w.Options, w.Path)
		}
	}
}
