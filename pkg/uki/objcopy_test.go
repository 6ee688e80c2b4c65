package uki_test

import (
	"bytes"
	"crypto/rand"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/uki"
)

// TestObjcopyUKI reads a UKI built with Debian's systemd-stub and objcopy and
// checks every section against objcopy's own extraction.
func TestObjcopyUKI(t *testing.T) {
	dir := t.TempDir()
	linux := make([]byte, 300001) // odd sizes: raw data gets padded
	rand.Read(linux)
	initrd := make([]byte, 70003)
	rand.Read(initrd)
	secs := []ukitest.Section{
		ukitest.S(".osrel", "ID=debian\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\n"),
		ukitest.S(".cmdline", "console=ttyS0 root=/dev/vda1 quiet\n"),
		ukitest.S(".uname", "6.1.0-28-amd64"),
		ukitest.B(".linux", linux),
		ukitest.B(".initrd", initrd),
	}
	path := ukitest.ObjcopyUKI(t, dir, secs)
	f, err := uki.Open(path, uki.KindUKI)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objcopy := ukitest.Need(t, "objcopy")
	names := map[string]bool{}
	for _, s := range f.Sections {
		names[s.Name] = true
		out := filepath.Join(dir, "only"+s.Name)
		if b, err := exec.Command(objcopy, "-O", "binary", "--only-section="+s.Name, path, out).CombinedOutput(); err != nil {
			t.Fatalf("objcopy --only-section=%s: %v\n%s", s.Name, err, b)
		}
		want, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(want)) > s.Size() {
			want = want[:s.Size()]
		}
		got, err := io.ReadAll(s.Open())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: pkg/uki read %d bytes, objcopy %d; contents differ", s.Name, len(got), len(want))
		}
	}
	for _, s := range secs {
		got, _ := io.ReadAll(f.Section(s.Name).Open())
		if !bytes.Equal(got, s.Data) {
			t.Errorf("%s: read %d bytes, added %d", s.Name, len(got), len(s.Data))
		}
	}
	for _, want := range []string{".text", ".sbat", ".linux", ".initrd"} {
		if !names[want] {
			t.Errorf("section %s missing; stub layout changed?", want)
		}
	}
	p, _ := f.Profile(0)
	if un, _ := f.Uname(p); un != "6.1.0-28-amd64" {
		t.Errorf("uname %q", un)
	}
}
