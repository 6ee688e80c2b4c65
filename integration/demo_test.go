package integration

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// DemoDirEnv names the directory `make demo` wants its disk in.
const DemoDirEnv = "UKIBOOT_DEMO_DIR"

// TestBuildDemoDisk is not a test: `make demo` runs it to build the sample
// disk and to copy the first stage TestMain built next to it (only when
// UKIBOOT_DEMO_DIR is set), and then boots qemu on the terminal with them. The disk has an ESP with two UKIs of a sample OS
// (Debian's kernel and an initrd that shows what it was handed), one with
// credentials and an addon, and a type #1 entry on an ext4 XBOOTLDR.
func TestBuildDemoDisk(t *testing.T) {
	dir := os.Getenv(DemoDirEnv)
	if dir == "" {
		t.Skipf("%s is not set: this builds the disk of make demo", DemoDirEnv)
	}
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	cmdline := stage2Cmdline
	esp := tree(t, map[string][]byte{
		"loader/loader.conf": []byte("timeout 10\n"),
		"EFI/Linux/sample-os-1.0.efi": s.uki(t, "sample-os", "1.0", cmdline+" sample.version=1.0", "sample-os-1.0",
			ukitest.S(".ucode", "")),
		"EFI/Linux/sample-os-2.0+3.efi":                       s.uki(t, "sample-os", "2.0", cmdline+" sample.version=2.0", "sample-os-2.0"),
		"EFI/Linux/sample-os-2.0.efi.extra.d/hello.cred":      []byte("hello from a credential next to the UKI\n"),
		"EFI/Linux/sample-os-2.0.efi.extra.d/debug.addon.efi": ukitest.UKI(ukitest.S(".cmdline", "sample.addon=debug"), ukitest.S(".uname", "test")),
	})
	xbootldr := tree(t, map[string][]byte{
		"vmlinuz":    s.kernel,
		"initrd.img": ReportInitrd(t, File{Name: "marker-type1", Data: []byte("type #1 entry\n")}),
		"loader/entries/sample-os-classic.conf": []byte("title Sample OS (type #1 entry)\nversion 0.9\nlinux /vmlinuz\ninitrd /initrd.img\noptions " +
			cmdline + " sample.entry=type1\n"),
	})
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d := disktest.BuildDisk(t, filepath.Join(dir, "disk.img"), []disktest.PartSpec{
		{Kind: disktest.KindESP, Dir: esp},
		{Kind: disktest.KindXBOOTLDR, Dir: xbootldr, FS: disktest.FSExt4},
	})
	stage1, err := os.ReadFile(a.Stage1)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stage1.cpio"), stage1, 0o644); err != nil {
		t.Fatal(err)
	}
	args := Stage1Cmdline("testinit.waitdisk=1", "-v")
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte(args+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("demo disk %s, first-stage command line %q", d.Path, args)
}
