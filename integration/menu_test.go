package integration

import (
	"strings"
	"testing"
)

// bootMenu boots the first stage into ukiboot's menu on a disk whose
// loader.conf is as given.
func bootMenu(t *testing.T, a *Assets, loaderConf string) *VM {
	return Boot(t, VMOptions{
		Kernel:    a.Vmlinux,
		Initramfs: a.Stage1,
		Append:    Stage1Cmdline("testinit.waitdisk=1", "-v"),
		Disks:     []string{menuDisk(t, a, loaderConf)},
	})
}

func menuDisk(t *testing.T, a *Assets, loaderConf string) string {
	s := newSecondStage(t, a)
	return espDisk(t, map[string][]byte{
		"loader/loader.conf":   []byte(loaderConf),
		"EFI/Linux/menu-2.efi": s.uki(t, "menu", "2", stage2Cmdline+" scenario=first", "first"),
		"EFI/Linux/menu-1.efi": s.uki(t, "menu", "1", stage2Cmdline+" scenario=second", "second"),
	})
}

// The menu driven through the serial console: Down, Enter boots the
// second entry.
func TestMenuSerialDownEnter(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	vm := bootMenu(t, a, "timeout menu-force\n")
	vm.Expect(`ukiboot: boot menu`, BootTimeout)
	vm.Expect(`b reboot, o power off`, StepTimeout)
	vm.Send("\x1b[B")
	vm.Expect(`> +2 Test menu 1`, StepTimeout)
	vm.Send("\r")
	r := vm.Report(BootTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	if !strings.Contains(r.Cmdline, "scenario=second") {
		t.Errorf("booted %q, want the second entry", r.Cmdline)
	}
}

// With a 1 s timeout and no key, the default boots.
func TestMenuSerialTimeout(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	vm := bootMenu(t, a, "timeout 1\n")
	vm.Expect(`Booting menu-2.efi in 1s`, BootTimeout)
	r := vm.Report(BootTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	if !strings.Contains(r.Cmdline, "scenario=first") {
		t.Errorf("booted %q, want the default", r.Cmdline)
	}
	if !strings.Contains(vm.Output(), "booting menu-2.efi") {
		t.Error("the default was not booted by the timeout")
	}
}
