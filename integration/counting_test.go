package integration

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ukiboot/ukiboot/internal/disktest"
)

// Boot counting on a real FAT ESP: an entry with +1-0 boots once (it is
// the default), the disk image read back after the VM exits holds +0-1,
// the next OS is told the new name in /.extra/loader-boot-count-path, and
// on the next boot the entry, out of tries, is listed last.
func TestBootCountingOnDisk(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	esp := tree(t, map[string][]byte{
		"EFI/Linux/os-2+1-0.efi": s.uki(t, "os", "2", stage2Cmdline+" scenario=counted", "counted"),
		"EFI/Linux/os-1.efi":     s.uki(t, "os", "1", stage2Cmdline+" scenario=stable", "stable"),
	})
	d := disktest.BuildDisk(t, filepath.Join(t.TempDir(), "disk.img"), []disktest.PartSpec{{Kind: disktest.KindESP, Dir: esp}})
	_, r := bootDisk(t, a, d.Path)
	if !strings.Contains(r.Cmdline, "scenario=counted") {
		t.Fatalf("first boot: %q, want the counted entry", r.Cmdline)
	}
	if got := r.Extras()["/.extra/loader-boot-count-path"]; got.Size == 0 {
		t.Errorf("/.extra/loader-boot-count-path missing: %v", r.Extra)
	}
	names, err := d.ListDir(t, 1, "EFI/Linux")
	if err != nil {
		t.Fatal(err)
	}
	list := strings.Join(names, " ")
	if !strings.Contains(list, "os-2+0-1.efi") || strings.Contains(list, "os-2+1-0.efi") {
		t.Fatalf("after the boot the ESP holds %v, want os-2+0-1.efi", names)
	}

	// The next boot lists it last.
	vm := Boot(t, VMOptions{
		Kernel:    a.Vmlinux,
		Initramfs: a.Stage1,
		Append:    Stage1Cmdline("testinit.waitdisk=1", "-list"),
		Disks:     []string{d.Path},
	})
	vm.Expect(`testinit: ukiboot exited: `, BootTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	rows := regexp.MustCompile(`(?m)^[* ] (\d+)\s+(\S+)`).FindAllStringSubmatch(vm.Output(), -1)
	var ids []string
	for _, m := range rows {
		ids = append(ids, m[2])
	}
	if strings.Join(ids, " ") != "os-1.efi os-2.efi" {
		t.Errorf("second boot lists %v, want the entry out of tries last", ids)
	}
	if !strings.Contains(vm.Output(), "0 left, 1 done") {
		t.Errorf("tries not shown:\n%s", vm.Output())
	}
}
