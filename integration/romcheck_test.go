package integration

import (
	"os"
	"testing"
)

// ROMPayloadEnv names a LinuxBoot payload (build/linuxboot.bzImage) for
// TestROMPayloadAnswers; make rom-check sets it to what the README's
// recipe built.
const ROMPayloadEnv = "UKIBOOT_ROM_PAYLOAD"

// TestROMPayloadAnswers boots a payload with qemu -kernel alone, as
// coreboot starts it (no firmware, no initrd, no modules), with
// uroot.uinitargs=-version, and waits for ukiboot's version line: the
// payload's init started ukiboot with the flags from the command line.
func TestROMPayloadAnswers(t *testing.T) {
	NeedIntegration(t)
	payload := os.Getenv(ROMPayloadEnv)
	if payload == "" {
		t.Skipf("set %s to the payload to boot (make rom-check does)", ROMPayloadEnv)
	}
	vm := Boot(t, VMOptions{
		Kernel: payload,
		Append: "console=ttyS0,115200 panic=-1 no_timer_check uroot.uinitargs=-version",
		Memory: 512,
	})
	// ukiboot's version line is "ukiboot VERSION ..."; its log lines are
	// "ukiboot: ...".
	m := vm.Expect(`(?m)^ukiboot [^:\r\n]+`, BootTimeout)
	t.Logf("ukiboot answered after %.1fs: %s", vm.Elapsed().Seconds(), m[0])
}
