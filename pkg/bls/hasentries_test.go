package bls_test

import (
	"path/filepath"
	"testing"

	"github.com/ukiboot/ukiboot/pkg/bls"
)

// TestHasEntries: the boot disk is the first whose ESP or XBOOTLDR has a
// file Load reads as an entry; loader.conf alone does not count.
func TestHasEntries(t *testing.T) {
	for _, c := range []struct {
		name  string
		files []string
		want  bool
	}{
		{"empty partition", nil, false},
		{"loader.conf only", []string{"loader/loader.conf"}, false},
		{"type #1 entry", []string{"loader/entries/a.conf"}, true},
		{"type #2 entry, upper-case suffix", []string{"EFI/Linux/a.EFI"}, true},
		{"hidden and auto- names are not entries", []string{"loader/entries/.a.conf", "EFI/Linux/auto-x.efi"}, false},
		{"wrong suffix", []string{"loader/entries/a.txt", "EFI/Linux/a.conf"}, false},
		{"directory named like an entry", []string{"loader/entries/d.conf/x"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range c.files {
				write(t, dir, f, []byte("x"))
			}
			if got := bls.HasEntries(dir); got != c.want {
				t.Errorf("HasEntries = %v, want %v", got, c.want)
			}
		})
	}
	if bls.HasEntries(filepath.Join(t.TempDir(), "missing")) {
		t.Error("a missing directory has entries")
	}
}
