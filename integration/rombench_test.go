package integration

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/hugelgupf/vmtest/qemu"
	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// benchROMEnv names the file TestROMBenchBoot writes its figure to; make
// bench sets it (issue 14, budget 7: reported, no budget yet).
const benchROMEnv = "UKIBOOT_BENCH_ROM"

// benchPad is the incompressible initrd payload that makes the UKI about
// 200 MiB.
const benchPad = 190 << 20

// TestROMBenchBoot boots a 200 MiB UKI (Debian's kernel signed with the
// ROM's kernel key, a report initrd padded with 190 MiB of random bytes)
// from the test ROM with swtpm, and writes the seconds from ukiboot's
// start to the kexec reboot, as ukiboot logs them, to $UKIBOOT_BENCH_ROM.
func TestROMBenchBoot(t *testing.T) {
	out := os.Getenv(benchROMEnv)
	if out == "" {
		t.Skipf("the ROM boot time of make bench: set %s to the file to write it to", benchROMEnv)
	}
	f := needROM(t)
	signed := sbsign(t, f.debian, f.keys.kernelKey, f.keys.kernelCert, true)
	pad := make([]byte, benchPad)
	rand.NewChaCha8([32]byte{'b', 'e', 'n', 'c', 'h'}).Read(pad)
	uki := ukitest.UKI(
		ukitest.S(".osrel", "ID=bench\nVERSION_ID=1\n"),
		ukitest.S(".cmdline", stage2Cmdline+" scenario=bench"),
		ukitest.S(".uname", "test"),
		ukitest.B(".linux", signed),
		ukitest.B(".initrd", ReportInitrd(t, File{Name: "marker-bench", Data: []byte("bench\n")}, File{Name: "pad", Data: pad, Mode: 0o644})))
	uki = sbsign(t, uki, f.keys.ukiKey, f.keys.ukiCert, false)
	t.Logf("UKI: %d MiB", len(uki)>>20)
	disk := disktest.BuildDisk(t, filepath.Join(t.TempDir(), "disk.img"), []disktest.PartSpec{{
		Kind: disktest.KindESP, SizeMiB: 512, Dir: tree(t, map[string][]byte{"EFI/Linux/bench-1.efi": uki}),
	}}).Path
	console, r := f.boot(t, VMOptions{AHCIDisks: []string{disk}, Memory: 3072, QEMU: []qemu.Fn{NewTPM(t, "sha256").QEMU(t)}}, "-auto")
	if r.Markers["marker-bench"] != "bench" {
		t.Errorf("markers %v: the UKI did not boot", r.Markers)
	}
	m := regexp.MustCompile(`ukiboot: kexec after ([0-9.]+) s`).FindStringSubmatch(console)
	if m == nil {
		t.Fatalf("the console has no \"ukiboot: kexec after N s\":\n%s", console)
	}
	t.Logf("ukiboot ran %s s before the kexec reboot", m[1])
	if err := os.WriteFile(out, []byte(m[1]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
