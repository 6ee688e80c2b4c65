package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/vmtest/qemu"
)

// The ROM tests boot the LinuxBoot payload `make rom` builds
// (build/linuxboot.bzImage: rom/linuxboot.config's kernel with the
// ukiboot initramfs built in) as coreboot would: qemu -kernel, no UEFI
// firmware, no modules. `make rom-test` builds it with the test-only keys
// of rom/testkeys (the kernel trusts kernel-signing.crt, ukiboot's
// /etc/ukiboot/db holds uki-signing.crt) and names its directory in
// UKIBOOT_ROM. The kernel's forced lockdown makes ukiboot enforce
// verification, and kexec_file_load accepts only kernels signed by a key
// in SYSTEM_TRUSTED_KEYS.

// romEnv names the directory of the test ROM (make rom-test).
const romEnv = "UKIBOOT_ROM"

// romTimeout bounds one ROM boot: ROM kernel, ukiboot, kexec, Debian's
// kernel and its report take 15-25 s under TCG on a shared 2-core machine.
const romTimeout = 5 * time.Minute

// romKeys are the test-only keys the test ROM was built with.
type romKeys struct {
	kernelKey, kernelCert string // SYSTEM_TRUSTED_KEYS
	ukiKey, ukiCert       string // DB
}

// romFixture is what every ROM test needs: the payload, the keys and the
// second stage's kernel (Debian's, signed by Debian only).
type romFixture struct {
	payload string
	keys    romKeys
	debian  []byte
}

func needROM(t *testing.T) *romFixture {
	t.Helper()
	NeedIntegration(t)
	dir := os.Getenv(romEnv)
	if dir == "" {
		t.Skipf("ROM VM test: run make rom-test (it builds the test ROM and sets %s)", romEnv)
	}
	root := RepoRoot(t)
	keys := filepath.Join(root, "rom", "testkeys")
	f := &romFixture{
		payload: filepath.Join(dir, "linuxboot.bzImage"),
		keys: romKeys{
			kernelKey: filepath.Join(keys, "kernel-signing.key"), kernelCert: filepath.Join(keys, "kernel-signing.crt"),
			ukiKey: filepath.Join(keys, "uki-signing.key"), ukiCert: filepath.Join(keys, "uki-signing.crt"),
		},
	}
	if _, err := os.Stat(f.payload); err != nil {
		t.Fatalf("the test ROM: %v (make rom-test builds it)", err)
	}
	a, err := findAssets()
	if err != nil {
		t.Fatal(err)
	}
	if f.debian, err = os.ReadFile(a.Kernel); err != nil {
		t.Fatalf("Debian's kernel for the second stage: %v (make vm-assets)", err)
	}
	return f
}

// uki returns a UKI signed with the test UKI key (which the ROM's
// /etc/ukiboot/db trusts) around kernel and a report initrd with a marker.
func (f *romFixture) uki(t *testing.T, id, version, marker string, kernel []byte) []byte {
	t.Helper()
	u := (&secondStage{kernel: kernel}).uki(t, id, version, stage2Cmdline+" scenario="+marker, marker)
	return sbsign(t, u, f.keys.ukiKey, f.keys.ukiCert, false)
}

// boot boots the ROM payload with qemu -kernel (no firmware but qemu's
// SeaBIOS, which -kernel bypasses), ukiboot's flags in uroot.uinitargs=
// and the disks of o, and returns the console once the second kernel has
// reported and the VM has powered off (the report init powers off after
// reporting).
func (f *romFixture) boot(t *testing.T, o VMOptions, ukibootArgs string) (string, *Report) {
	t.Helper()
	o.Kernel = f.payload
	o.Append = "console=ttyS0 panic=-1 no_timer_check uroot.uinitargs=\"" + ukibootArgs + "\""
	o.Timeout = romTimeout
	vm := Boot(t, o)
	r := vm.Report(romTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	t.Logf("ROM boot: %.1fs", vm.Elapsed().Seconds())
	return vm.Output(), r
}

// TestROMAutoBootsUKI: the ROM's ukiboot -auto finds a UKI on a GPT disk
// behind AHCI (the driver is built in: nothing is loaded), verifies it
// against the ROM's trust store because the forced lockdown is on, and
// kexecs it: its inner kernel is signed by the key the ROM's kernel trusts.
func TestROMAutoBootsUKI(t *testing.T) {
	t.Parallel()
	f := needROM(t)
	signed := sbsign(t, f.debian, f.keys.kernelKey, f.keys.kernelCert, true)
	disk := espDisk(t, map[string][]byte{"EFI/Linux/rom-1.efi": f.uki(t, "rom", "1", "auto", signed)})
	// The ROM kernel's built-in TPM TIS driver finds swtpm: ukiboot
	// extends the boot's events, which the second kernel sees, and tells
	// the next OS's systemd that the boot was measured.
	out, r := f.boot(t, VMOptions{AHCIDisks: []string{disk}, QEMU: []qemu.Fn{NewTPM(t, "sha256").QEMU(t)}}, "-auto -v")
	if want := stage2Cmdline + " scenario=auto SYSTEMD_FORCE_MEASURE=1 systemd.setenv=SYSTEMD_FORCE_MEASURE=1"; r.Cmdline != want {
		t.Errorf("second kernel's /proc/cmdline %q, want the UKI's .cmdline and the measured-boot variables %q", r.Cmdline, want)
	}
	if r.Markers["marker-auto"] != "auto" {
		t.Errorf("markers %v, want the UKI's initrd", r.Markers)
	}
	for _, want := range []string{
		"Kernel is locked down from Kernel configuration", // LOCK_DOWN_KERNEL_FORCE_INTEGRITY
		"verification: enforce (the kernel is locked down (integrity))",
		"rom-1.efi: trusted (signed by CN=ukiboot TEST ONLY UKI signing key",
		"TPM: extended ",
		"loaded rom-1.efi",
		// u-root's busybox re-executed as ukiboot: the boot runs under
		// the supervisor that closes the shell door however it ends.
		"ukiboot: supervised by process ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	for _, bad := range []string{"no supervisor", "FATAL"} {
		if strings.Contains(out, bad) {
			t.Errorf("console has %q", bad)
		}
	}
	if v := r.PCRs["sha256"][11]; len(v) != 32 || isReset(v) || r.TPMLog == nil {
		t.Errorf("second kernel: PCR 11 sha256 %x, log %d bytes: want PCR 11 extended and /.extra/tpm2-measure.log", v, len(r.TPMLog))
	}
}

// TestROMLockdownExplainsENOKEY: of two UKIs trusted by the ROM's trust
// store, the newer carries Debian's kernel signed by Debian only: the ROM
// kernel has no key for it (ENOKEY, not lockdown's EPERM, because of
// KEXEC_SIG_FORCE) and ukiboot says so; the older, whose kernel is signed
// by the key in SYSTEM_TRUSTED_KEYS, boots.
func TestROMLockdownExplainsENOKEY(t *testing.T) {
	t.Parallel()
	f := needROM(t)
	signed := sbsign(t, f.debian, f.keys.kernelKey, f.keys.kernelCert, true)
	disk := espDisk(t, map[string][]byte{
		"EFI/Linux/fleet-2.efi": f.uki(t, "fleet", "2", "debian-only", f.debian),
		"EFI/Linux/fleet-1.efi": f.uki(t, "fleet", "1", "test-key", signed),
	})
	out, r := f.boot(t, VMOptions{Disks: []string{disk}}, "-auto -v")
	if want := stage2Cmdline + " scenario=test-key"; r.Cmdline != want {
		t.Errorf("second kernel's /proc/cmdline %q, want fleet-1.efi's %q", r.Cmdline, want)
	}
	for _, want := range []string{
		"cannot load fleet-2.efi: kexec_file_load: ENOKEY",
		"the running kernel has no key for the kernel image's signature",
		"the running kernel's keyrings do not trust the kernel inside it (.linux)",
		"TPM: no TPM 2.0 (neither /dev/tpmrm0 nor /dev/tpm0): nothing is measured", // this VM has none
		"loaded fleet-1.efi",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
}
