package integration

import (
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hugelgupf/vmtest/qemu"

	"github.com/ukiboot/ukiboot/internal/ukitest"
	"github.com/ukiboot/ukiboot/pkg/authenticode"
)

// Debian's OVMF with Secure Boot on and the snakeoil keys enrolled.
const (
	ovmfCode     = "/usr/share/OVMF/OVMF_CODE_4M.snakeoil.fd"
	ovmfVars     = "/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd"
	snakeoilKey  = "/usr/share/ovmf/PkKek-1-snakeoil.key"
	snakeoilCert = "/usr/share/ovmf/PkKek-1-snakeoil.pem"
)

// snakeoilSigned returns Debian's kernel with its own signature replaced by
// one from the snakeoil key (the kernel checks only the first signature).
func snakeoilSigned(t *testing.T, kernel string) []byte {
	key := filepath.Join(t.TempDir(), "snakeoil.key")
	runTool(t, "openssl", "rsa", "-in", ukitest.Need(t, snakeoilKey), "-passin", "pass:snakeoil", "-out", key)
	data, err := os.ReadFile(kernel)
	if err != nil {
		t.Fatal(err)
	}
	return sbsign(t, data, key, ukitest.Need(t, snakeoilCert), true)
}

// runTool runs a tool the tests need, failing the test with its output.
func runTool(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(ukitest.Need(t, name), args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// sbsign signs a PE image with sbsign, key and cert. sbsign appends to
// the signatures there are and the kernel checks only the first, so resign
// removes them first (Debian's, on Debian's kernel).
func sbsign(t *testing.T, image []byte, key, cert string, resign bool) []byte {
	t.Helper()
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.efi"), filepath.Join(dir, "out.efi")
	if err := os.WriteFile(in, image, 0o644); err != nil {
		t.Fatal(err)
	}
	if resign {
		runTool(t, "sbattach", "--remove", in)
	}
	runTool(t, "sbsign", "--key", key, "--cert", cert, "--output", out, in)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSecureBootLockdown: OVMF with Secure Boot boots a snakeoil-signed
// first-stage kernel, which is therefore locked down, so ukiboot enforces
// verification (against a db built into the first stage). Of three UKIs,
// the newest is unsigned (ukiboot refuses it), the next is signed but its
// inner kernel carries only Debian's signature (the running kernel refuses
// it and ukiboot explains), and the oldest, signed, with a snakeoil-signed
// inner kernel, boots.
func TestSecureBootLockdown(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	code := ukitest.Need(t, ovmfCode)
	varsTemplate, err := os.ReadFile(ukitest.Need(t, ovmfVars))
	if err != nil {
		t.Fatal(err)
	}
	vars := WriteFile(t, "OVMF_VARS.fd", varsTemplate)
	snakeoilKernel := snakeoilSigned(t, a.Kernel)
	stage1Kernel := WriteFile(t, "vmlinuz.snakeoil", snakeoilKernel)
	debianKernel, err := os.ReadFile(a.Kernel)
	if err != nil {
		t.Fatal(err)
	}

	ca := ukitest.NewCA(t, "Fleet Secure Boot CA", false)
	signer := ukitest.NewLeaf(t, "Fleet UKI Signer", false, ca)
	uki := func(version, marker string, kernel []byte, key *ukitest.Key) []byte {
		secs := []ukitest.Section{
			ukitest.S(".osrel", "ID=fleet\nVERSION_ID="+version+"\n"),
			ukitest.S(".cmdline", stage2Cmdline+" scenario="+marker),
			ukitest.B(".linux", kernel),
			ukitest.B(".initrd", ReportInitrd(t, File{Name: "marker-" + marker, Data: []byte(marker + "\n")})),
		}
		if key == nil {
			return ukitest.UKI(secs...)
		}
		return ukitest.SignedUKI(t, authenticode.ImageDigest, key, secs...)
	}
	d := espDisk(t, map[string][]byte{
		"EFI/Linux/fleet-3.efi": uki("3", "unsigned", snakeoilKernel, nil),
		"EFI/Linux/fleet-2.efi": uki("2", "debian-inner", debianKernel, signer),
		"EFI/Linux/fleet-1.efi": uki("1", "trusted", snakeoilKernel, signer),
	})
	stage1 := a.Stage1With(t, File{Name: "etc/ukiboot/db/fleet-ca.pem", Data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})})

	vm := Boot(t, VMOptions{
		Kernel:    stage1Kernel,
		Initramfs: stage1,
		Append:    Stage1Cmdline("testinit.waitdisk=1", "-auto", "-v"),
		Disks:     []string{d},
		QEMU:      []qemu.Fn{SecureBootOVMF(code, vars)},
	})
	vm.Expect(`verification: enforce \(the kernel is locked down \((integrity|confidentiality)\)\)`, BootTimeout)
	r := vm.Report(BootTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	if r.Markers["marker-trusted"] != "trusted" || !strings.Contains(r.Cmdline, "scenario=trusted") {
		t.Errorf("booted %q (markers %v), want the trusted UKI", r.Cmdline, r.Markers)
	}
	out := vm.Output()
	for _, want := range []string{
		"cannot boot fleet-3.efi", "is not trusted: unsigned: no signature",
		"cannot load fleet-2.efi: kexec_file_load: E", // ENOKEY, EKEYREJECTED or EBADMSG
		"the UKI's own signature is trusted (signed by CN=Fleet UKI Signer",
		"the running kernel's keyrings do not trust the kernel inside it (.linux)",
		"fleet-1.efi: trusted (signed by CN=Fleet UKI Signer",
		"loaded fleet-1.efi",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	t.Logf("Secure Boot chain: %.1fs", vm.Elapsed().Seconds())
}
