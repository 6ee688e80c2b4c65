package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hugelgupf/vmtest/qemu"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// Conformance with the stub inside the UKI (issue 13, "VM conformance"):
// one UKI built the way Debian bookworm built them (systemd-stub 252 with
// objcopy-added sections, its .sbat and .sdmagic kept), a credential, a
// global credential and a system extension beside it, booted twice, each
// time with a fresh TPM:
//
//   - stub: by OVMF, as EFI/BOOT/BOOTX64.EFI, so that the UKI's own
//     systemd-stub 252 measures it. Secure Boot is on (Debian's snakeoil
//     OVMF, the UKI signed with the snakeoil key): then the stub ignores
//     the firmware's load options, which OVMF fills with its boot option's
//     GUID and which the stub would otherwise take for a command line
//     (and measure into PCR 12). PCR 7 differs between the two boots
//     anyway and is not compared.
//   - ukiboot: by the first stage, ukiboot -auto, as EFI/Linux/<name>.efi.
//
// The second kernel's PCR 11, 12 and 13 must be equal in every bank of
// the first (a fresh swtpm_setup TPM: sha1, sha256, sha384). The initrd's
// /init, the report init, prints them and shows that both boots handed
// the kernel the same /.extra.
// What ukiboot -dry-run -json predicts for them, on the host, must be
// equal too.
func TestConformanceStub252(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	esp := conformanceESP(t, a)

	var stub, uki *Report
	var predicted PCRValues
	t.Run("stub", func(t *testing.T) {
		t.Parallel()
		stub = bootStubOVMF(t, a, esp)
	})
	t.Run("ukiboot", func(t *testing.T) {
		t.Parallel()
		uki = bootUkibootMeasured(t, a, esp)
	})
	t.Run("dry-run", func(t *testing.T) {
		t.Parallel()
		predicted = predictPCRs(t, esp)
	})
	t.Cleanup(func() {
		// After the subtests (parallel ones run when this function has
		// returned).
		if stub == nil {
			return
		}
		checkBanks(t, "booted by the stub", stub.PCRs.Banks(), tpmBanks())
		logPCRs(t, "systemd-stub 252 (reference)", stub.PCRs, 11, 12, 13)
		for _, i := range []int{11, 12, 13} {
			if v := stub.PCRs["sha256"][i]; isReset(v) {
				t.Errorf("PCR %d sha256 is %x after systemd-stub 252 booted: it measured nothing there (no TPM in OVMF?)", i, v)
			}
		}
		if predicted != nil {
			checkBanks(t, "ukiboot -dry-run -json's prediction", predicted.Banks(), tpmBanks())
			for _, d := range ComparePCRs(predicted, stub.PCRs, 11, 12, 13) {
				t.Errorf("ukiboot -dry-run -json predicted %s (the value systemd-stub 252 measured)", d)
			}
		}
		if uki != nil {
			checkBanks(t, "booted by ukiboot", uki.PCRs.Banks(), tpmBanks())
			for _, d := range ComparePCRs(uki.PCRs, stub.PCRs, 11, 12, 13) {
				t.Errorf("booted by ukiboot, %s (the value systemd-stub 252 measured)", d)
			}
			compareExtras(t, stub, uki)
		}
	})
}

// predictPCRs runs ukiboot -auto -dry-run -json on the host, on the ESP
// tree, and returns its predicted PCRs.
func predictPCRs(t *testing.T, esp string) PCRValues {
	p := dryRunJSON(t, esp, tpmBanks()).Predicted
	if len(p) == 0 {
		t.Fatalf("ukiboot -dry-run -json: no predicted_pcrs")
	}
	return p
}

// conformanceFiles are the companion files of the conformance UKI, by
// name in <uki>.efi.extra.d/ (credentials: PCR 12, system extensions:
// PCR 13), and the global credential of /loader/credentials/.
func conformanceFiles() (extra map[string]string, global map[string]string) {
	return map[string]string{
			"db.cred":   "conformance-credential",
			"tools.raw": "not a squashfs: systemd-stub measures the bytes",
		}, map[string]string{
			"site.cred": "conformance-global-credential",
		}
}

// conformanceESP returns an ESP tree with the UKI twice: as the
// removable-media loader OVMF starts and where ukiboot finds type #2
// entries, each with the same companion files.
func conformanceESP(t *testing.T, a *Assets) string {
	kernel, err := os.ReadFile(a.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	path := ukitest.ObjcopyUKI(t, t.TempDir(), []ukitest.Section{
		ukitest.S(".osrel", "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
		ukitest.S(".cmdline", stage2Cmdline+" scenario=conformance"),
		// 252 does not measure .uname (254 does): a UKI may carry it.
		ukitest.S(".uname", a.KernelVersion),
		ukitest.B(".linux", kernel),
		ukitest.B(".initrd", ReportInitrd(t, File{Name: "marker-conformance", Data: []byte("conformance\n")})),
	})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "snakeoil.key")
	runTool(t, "openssl", "rsa", "-in", ukitest.Need(t, snakeoilKey), "-passin", "pass:snakeoil", "-out", key)
	signed := sbsign(t, data, key, ukitest.Need(t, snakeoilCert), false)

	files := map[string][]byte{
		"EFI/BOOT/BOOTX64.EFI":         signed,
		"EFI/Linux/debian-conform.efi": signed,
	}
	extra, global := conformanceFiles()
	for name, data := range extra {
		files["EFI/BOOT/BOOTX64.EFI.extra.d/"+name] = []byte(data)
		files["EFI/Linux/debian-conform.efi.extra.d/"+name] = []byte(data)
	}
	for name, data := range global {
		files["loader/credentials/"+name] = []byte(data)
	}
	return tree(t, files)
}

// bootStubOVMF boots OVMF (Secure Boot on, snakeoil keys) with a fresh
// TPM from a disk with the ESP tree, and returns the report (with the
// PCRs) of the kernel the UKI's stub started.
func bootStubOVMF(t *testing.T, a *Assets, esp string) *Report {
	code := ukitest.Need(t, ovmfCode)
	varsTemplate, err := os.ReadFile(ukitest.Need(t, ovmfVars))
	if err != nil {
		t.Fatal(err)
	}
	vars := WriteFile(t, "OVMF_VARS.fd", varsTemplate)
	vm := Boot(t, VMOptions{
		Disks: []string{espDiskOf(t, esp)},
		QEMU:  []qemu.Fn{SecureBootOVMF(code, vars), NewTPM(t, tpmBanks()...).QEMU(t)},
	})
	r := bootReport(t, vm)
	if !strings.Contains(r.Cmdline, "scenario=conformance") {
		t.Errorf("the stub handed the kernel %q, want the UKI's .cmdline", r.Cmdline)
	}
	t.Logf("OVMF and systemd-stub 252: %.1fs", vm.Elapsed().Seconds())
	return r
}

// bootUkibootMeasured boots the first stage (the bzImage, which finds the
// TPM) with a fresh TPM and ukiboot -auto from a disk with the ESP tree,
// and returns the report (with the PCRs) of the kernel ukiboot kexec'd.
func bootUkibootMeasured(t *testing.T, a *Assets, esp string) *Report {
	vm := Boot(t, VMOptions{
		Kernel:    a.Kernel,
		Initramfs: a.Stage1,
		Append:    Stage1Cmdline("testinit.waitdisk=1", "-auto", "-v"),
		Disks:     []string{espDiskOf(t, esp)},
		QEMU:      []qemu.Fn{NewTPM(t, tpmBanks()...).QEMU(t)},
	})
	r := bootReport(t, vm)
	if !strings.Contains(vm.Output(), "loaded debian-conform.efi") {
		t.Errorf("ukiboot did not load debian-conform.efi")
	}
	t.Logf("first stage, ukiboot and kexec: %.1fs", vm.Elapsed().Seconds())
	return r
}

// bootReport waits for the report of the kernel booted and for qemu to
// exit.
func bootReport(t *testing.T, vm *VM) *Report {
	r := vm.Report(BootTimeout)
	for _, e := range r.Errors {
		t.Errorf("the report init: %s", e)
	}
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	return r
}

// espDiskOf returns a new GPT disk image with one ESP holding the tree.
func espDiskOf(t *testing.T, esp string) string {
	t.Helper()
	return disktest.BuildDisk(t, filepath.Join(t.TempDir(), "disk.img"), []disktest.PartSpec{{Kind: disktest.KindESP, Dir: esp}}).Path
}

// compareExtras checks that both kernels were handed the companion files,
// under the same names, with the same contents.
func compareExtras(t *testing.T, stub, uki *Report) {
	want := []string{"/.extra/credentials/db.cred", "/.extra/global_credentials/site.cred", "/.extra/sysext/tools.raw"}
	s, u := stub.Extras(), uki.Extras()
	for _, p := range want {
		if s[p].SHA256 == "" {
			t.Errorf("systemd-stub 252 did not hand over %s: /.extra has %v", p, stub.Extra)
		}
		if u[p].SHA256 != s[p].SHA256 {
			t.Errorf("ukiboot handed over %s with SHA-256 %q, systemd-stub 252 with %q", p, u[p].SHA256, s[p].SHA256)
		}
	}
}

// logPCRs logs the PCRs given of every bank, for the reader of the test.
func logPCRs(t *testing.T, what string, p PCRValues, pcrs ...int) {
	var b strings.Builder
	for _, bank := range p.Banks() {
		for _, i := range pcrs {
			fmt.Fprintf(&b, "\n  %s %d %x", bank, i, p[bank][i])
		}
	}
	t.Logf("%s:%s", what, b.String())
}
