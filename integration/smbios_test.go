package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/hugelgupf/vmtest/qemu"
)

// Scenario: qemu's SMBIOS Type 11 OEM string
// io.systemd.stub.kernel-cmdline-extra reaches ukiboot through dmi-sysfs
// (built into Debian's kernel); -smbios auto applies it (verification is
// not enforced here), after the UKI's .cmdline, as systemd-stub's
// cmdline_append_and_measure_smbios does, and plans it as its own PCR 12
// event.
func TestBootSMBIOSStubCmdlineExtra(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	s := newSecondStage(t, a)
	const extra = "smbios.stub=1 from-the-host"
	d := espDisk(t, map[string][]byte{
		"EFI/Linux/smbios-1.efi": s.uki(t, "smbios", "1", stage2Cmdline+" scenario=smbios", "smbios"),
	})
	vm := Boot(t, VMOptions{
		Kernel:    a.Vmlinux,
		Initramfs: a.Stage1,
		Append:    Stage1Cmdline("testinit.waitdisk=1", "-auto", "-v"),
		Disks:     []string{d},
		QEMU: []qemu.Fn{SMBIOSStrings(
			"io.systemd.credential:unrelated=1",
			"io.systemd.stub.kernel-cmdline-extra="+extra,
			"io.systemd.stub.kernel-cmdline-extra=second.string.ignored=1",
		)},
	})
	r := vm.Report(BootTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	if want := stage2Cmdline + " scenario=smbios " + extra; r.Cmdline != want {
		t.Errorf("second kernel's cmdline %q, want %q (the UKI's, then the first SMBIOS string)", r.Cmdline, want)
	}
	// systemd-stub measures the string as load options: UTF-16LE with
	// its NUL (tpm_log_load_options).
	var m []byte
	for _, u := range utf16.Encode([]rune(extra)) {
		m = append(m, byte(u), byte(u>>8))
	}
	sum := sha256.Sum256(append(m, 0, 0))
	out := vm.Output()
	for _, want := range []string{
		`smbios: io.systemd.stub.kernel-cmdline-extra="` + extra + `" applied`,
		"-smbios auto: verification is not enforced",
		"smbios: PCR 12 event " + hex.EncodeToString(sum[:]) + `: io.systemd.stub.kernel-cmdline-extra="` + extra + `"`,
		"loaded smbios-1.efi",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
}
