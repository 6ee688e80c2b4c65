package integration

import (
	"strings"
	"testing"

	"github.com/hugelgupf/vmtest/qemu"
)

// The first stage boots: u-root's init loads the modules of
// /lib/modules-load.d, testinit runs ukiboot with the
// arguments of uroot.uinitargs=, and powers off when it exits.
func TestSmokeStage1(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	// A file that is not a UKI: -inspect fails with a one-line error.
	// The space checks the quoting of uroot.uinitargs=.
	vm := Boot(t, VMOptions{
		Kernel:    a.Kernel,
		Initramfs: a.Stage1,
		Append:    Stage1Cmdline("", "-inspect", "/bbin/ukiboot", "-append", "a b"),
	})
	m := vm.Expect(`testinit: (\d+) modules loaded`, BootTimeout)
	if m[1] != "28" {
		// Not fatal: the set follows stage1Modules.
		t.Logf("%s modules loaded", m[1])
	}
	vm.Expect(`testinit: block devices: `, StepTimeout)
	vm.Expect(`testinit: running ukiboot -inspect /bbin/ukiboot -append a b\n`, StepTimeout)
	vm.Expect(`(?m)^ukiboot: .*\n`, StepTimeout)
	vm.Expect(`testinit: ukiboot exited: exit status [12]\n`, StepTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	if out := vm.Output(); strings.Contains(out, "can't install") || strings.Contains(out, "testinit: modules:") {
		t.Errorf("a module failed to load:\n%s", out)
	}
	t.Logf("first stage: %.1fs from qemu start to power off", vm.Elapsed().Seconds())
}

// The first stage sees disks, virtio-blk and AHCI, when asked to wait. It
// boots the uncompressed kernel (PVH), as first stages should.
func TestSmokeStage1Disks(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	vda := WriteFile(t, "vda.img", make([]byte, 1<<20))
	sda := WriteFile(t, "sda.img", make([]byte, 1<<20))
	vm := Boot(t, VMOptions{
		Kernel:    a.Vmlinux,
		Initramfs: a.Stage1,
		Append:    Stage1Cmdline("testinit.waitdisk=2", "-inspect", "/dev/vda"),
		Disks:     []string{vda},
		AHCIDisks: []string{sda},
	})
	vm.Expect(`testinit: block devices: sda vda\n`, BootTimeout)
	vm.Expect(`testinit: ukiboot exited: `, StepTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	t.Logf("first stage with disks: %.1fs", vm.Elapsed().Seconds())
}

// The harness gives the VM a TPM 2.0 (swtpm) that the kernel finds, with
// the PCR banks the test asked swtpm_setup for, whose PCRs testinit
// prints. It boots the bzImage: booted through the PVH entry (vmlinux),
// the kernel finds a broken ACPI table ("Invalid table length 0x2 in
// RSDT") and no TPM.
func TestSmokeStage1TPM(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	banks := tpmBanks()
	vm := Boot(t, VMOptions{
		Kernel:    a.Kernel,
		Initramfs: a.Stage1,
		Append:    Stage1Cmdline("testinit.pcrs=1", "-inspect", "/bbin/ukiboot"),
		QEMU:      []qemu.Fn{NewTPM(t, banks...).QEMU(t)},
	})
	vm.Expect(`testinit: TPM: tpm0 \(TPM 2\)\n`, BootTimeout)
	vm.Expect(`testinit: ukiboot exited: `, StepTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	pcrs, err := PCRLines(vm.Output(), "testinit: pcr ")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range banks {
		if len(pcrs[b]) != 16 {
			t.Errorf("bank %s: testinit printed %d PCRs, want 16 (is /sys/class/tpm/tpm0/pcr-%s missing?)", b, len(pcrs[b]), b)
		}
	}
	checkBanks(t, "testinit", pcrs.Banks(), banks)
	for _, b := range banks {
		for pcr := 0; pcr < 16; pcr++ {
			t.Logf("before ukiboot: PCR %2d %-6s %x", pcr, b, pcrs[b][pcr])
		}
	}
}
