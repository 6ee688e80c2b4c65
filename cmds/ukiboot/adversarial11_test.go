package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// The boot-counting rename is the only write ukiboot makes to a disk, and
// it must never replace another file: "a+3.conf" becomes "a+2-1.conf",
// which may already exist (an earlier attempt of a copy, or, since the new
// name's suffix is written in lower case, "a+3.CONF" next to "a+2-1.conf"
// on a case-sensitive XBOOTLDR). rename(2) would silently delete that
// file; UEFI's SetInfo, which systemd-boot renames with, refuses. The
// entry then boots without counting, and both files stay.
func TestAdversarial11CountingRenameNeverReplaces(t *testing.T) {
	for _, c := range []struct{ name, counted, existing string }{
		{"same suffix", "a+3.conf", "a+2-1.conf"},
		{"suffix lower-cased", "a+3.CONF", "a+2-1.conf"},
	} {
		t.Run(c.name, func(t *testing.T) {
			esp := t.TempDir()
			os.WriteFile(filepath.Join(esp, "vmlinuz"), []byte("K0"), 0o644)
			dir := filepath.Join(esp, "loader/entries")
			os.MkdirAll(dir, 0o755)
			os.WriteFile(filepath.Join(dir, c.counted), []byte("title counted\nlinux /vmlinuz\n"), 0o644)
			other := []byte("title other\nlinux /vmlinuz\noptions keep-me\n")
			os.WriteFile(filepath.Join(dir, c.existing), other, 0o644)

			var stdout, stderr bytes.Buffer
			f := &fakeSystem{platform: noPlatform(t)}
			if rc := runWith([]string{"-auto", "-verify", "off", "-entry", "a.conf", "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 {
				t.Fatalf("rc %d\n%s", rc, stderr.String())
			}
			got, err := os.ReadFile(filepath.Join(dir, c.existing))
			if err != nil || !bytes.Equal(got, other) {
				t.Errorf("%s was replaced by the boot-counting rename of %s (now %q, %v)\n%s", c.existing, c.counted, got, err, stderr.String())
			}
			if _, err := os.Stat(filepath.Join(dir, c.counted)); err != nil {
				t.Errorf("%s: %v\n%s", c.counted, err, stderr.String())
			}
			if len(f.loads) != 1 {
				t.Errorf("%d loads, want 1 (the entry boots without counting)", len(f.loads))
			}
		})
	}
}

// An entry whose counters are both saturated keeps its name: nothing is
// renamed and it boots.
func TestAdversarial11CountingSaturatedName(t *testing.T) {
	esp := t.TempDir()
	os.WriteFile(filepath.Join(esp, "vmlinuz"), []byte("K0"), 0o644)
	dir := filepath.Join(esp, "loader/entries")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "a+0-9.conf"), []byte("linux /vmlinuz\n"), 0o644)
	var stdout, stderr bytes.Buffer
	f := &fakeSystem{platform: noPlatform(t)}
	if rc := runWith([]string{"-auto", "-verify", "off", "-root", esp}, &stdout, &stderr, f.sys()); rc != 0 || len(f.loads) != 1 {
		t.Fatalf("rc %d, %d loads\n%s", rc, len(f.loads), stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "a+0-9.conf")); err != nil {
		t.Errorf("%v\n%s", err, stderr.String())
	}
	if bytes.Contains(stderr.Bytes(), []byte("without counting")) {
		t.Errorf("log:\n%s", stderr.String())
	}
}

// Under enforcement the menu asks, for every entry, whether its command
// line may be edited. Each of the (up to 256) profile entries of one
// unverified UKI on the ESP must not read and parse the whole UKI again
// (all its .profile sections): that made building the menu cost 256
// times the UKI, minutes for a few MiB, before anything is shown.
func TestAdversarial11MenuItemsReadEachUKIOnce(t *testing.T) {
	esp, db := verifyTree(t)
	var profile strings.Builder
	for i := 0; profile.Len() < 16<<10; i++ {
		fmt.Fprintf(&profile, "K%07d=v\n", i)
	}
	secs := []ukitest.Section{ukitest.S(".osrel", "ID=many\n"), ukitest.S(".cmdline", "quiet"), ukitest.S(".linux", "K")}
	for i := range uki.MaxProfiles {
		secs = append(secs, ukitest.S(".profile", fmt.Sprintf("ID=p%d\n%s", i, profile.String())))
	}
	os.WriteFile(filepath.Join(esp, "EFI/Linux/many.efi"), ukitest.UKI(secs...), 0o644)
	o := &options{verify: "enforce", roots: stringList{esp}, db: stringList{db}}
	f := &fakeSystem{platform: noPlatform(t)}
	p, err := openPipeline(o, f.sys(), io.Discard, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	start := time.Now()
	items := p.menuItems()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("building the menu of %d items took %v", len(items), d)
	}
	n := 0
	for _, it := range items {
		if strings.HasPrefix(it.ID, "many.efi") {
			n++
			if it.Editable {
				t.Errorf("%s: editable under enforcement with a .cmdline", it.ID)
			}
		}
	}
	if n != uki.MaxProfiles {
		t.Errorf("%d items of many.efi", n)
	}
}

// Under enforcement -auto tries every entry; an unverified UKI with 256
// profiles on the ESP is 256 entries, and each attempt copied and hashed
// the whole file again (24 s for 16 MiB, minutes for a large one) before
// a trusted entry further down was tried. The verdict is the file's: it
// is found once.
func TestAdversarial11AutoVerifiesAnUntrustedFileOnce(t *testing.T) {
	esp, db := verifyTree(t)
	os.Remove(filepath.Join(esp, "loader/entries/plain.conf"))
	secs := []ukitest.Section{ukitest.S(".osrel", "ID=many\nVERSION_ID=9\n"), ukitest.S(".cmdline", "quiet"), ukitest.B(".linux", bytes.Repeat([]byte("K"), 16<<20))}
	for i := range uki.MaxProfiles {
		secs = append(secs, ukitest.S(".profile", fmt.Sprintf("ID=p%d\n", i)))
	}
	os.WriteFile(filepath.Join(esp, "EFI/Linux/many.efi"), ukitest.UKI(secs...), 0o644)
	os.WriteFile(filepath.Join(esp, "loader/entries/also.conf"), []byte("uki /EFI/Linux/many.efi\n"), 0o644)
	var stdout, stderr bytes.Buffer
	f := &fakeSystem{platform: noPlatform(t)}
	start := time.Now()
	rc := runWith([]string{"-auto", "-verify", "enforce", "-db", db, "-root", esp}, &stdout, &stderr, f.sys())
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("-auto took %v", d)
	}
	if rc != 0 || len(f.loads) != 1 || string(f.loads[0].kernel) != "K1" {
		t.Fatalf("rc %d, %d loads: the signed os-1.efi must boot\n%s", rc, len(f.loads), stderr.String())
	}
	if n := strings.Count(stderr.String(), "many.efi is not trusted:"); n != 1 {
		t.Errorf("many.efi verified %d times\n%s", n, stderr.String())
	}
}
