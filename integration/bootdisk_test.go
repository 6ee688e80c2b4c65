package integration

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/disktest"
)

// Scenario: three virtio disks. vda's ESP has only a loader.conf, vdb's
// ESP a UKI, vdc only an XBOOTLDR with a newer UKI. systemd-boot started
// from an ESP reads loader.conf from it and the XBOOTLDR of its own disk
// only (partition_open); ukiboot takes the disks in hardware order and the
// first ESP with entries: vdb. vda's loader.conf and vdc's newer UKI are
// not used.
func TestBootDiskChoice(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	dir := t.TempDir()
	vda := disktest.BuildDisk(t, filepath.Join(dir, "vda.img"), []disktest.PartSpec{{Kind: disktest.KindESP,
		Dir: tree(t, map[string][]byte{"loader/loader.conf": []byte("default wrong*\ntimeout 0\n")})}})
	vdb := disktest.BuildDisk(t, filepath.Join(dir, "vdb.img"), []disktest.PartSpec{{Kind: disktest.KindESP,
		Dir: tree(t, map[string][]byte{"EFI/Linux/right-1.efi": s.uki(t, "right", "1", stage2Cmdline+" scenario=bootdisk", "right")})}})
	vdc := disktest.BuildDisk(t, filepath.Join(dir, "vdc.img"), []disktest.PartSpec{{Kind: disktest.KindXBOOTLDR,
		Dir: tree(t, map[string][]byte{"EFI/Linux/wrong-9.efi": s.uki(t, "wrong", "9", stage2Cmdline+" scenario=wrong", "wrong")})}})
	vm := Boot(t, VMOptions{
		Kernel:    a.Vmlinux,
		Initramfs: a.Stage1,
		Append:    Stage1Cmdline("testinit.waitdisk=1", "-auto", "-v"),
		Disks:     []string{vda.Path, vdb.Path, vdc.Path},
	})
	r := vm.Report(BootTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	if r.Cmdline != stage2Cmdline+" scenario=bootdisk" || r.Markers["marker-right"] != "right" {
		t.Errorf("second kernel: cmdline %q, markers %v; want right-1.efi from vdb", r.Cmdline, r.Markers)
	}
	out := vm.Output()
	// Partitions are named by device and GPT name (disktest names them by
	// kind).
	for _, want := range []string{
		"boot disk: vdb (ESP vdb1)",
		"ignored: vda1 (esp): on another disk: vda holds no boot entries",
		"ignored: vdc1 (xbootldr): no ESP on this disk",
		"booting right-1.efi",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
}
