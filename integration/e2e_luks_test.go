package integration

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hugelgupf/vmtest/qemu"

	"github.com/ukiboot/ukiboot/internal/disktest"
	"github.com/ukiboot/ukiboot/internal/ukitest"
)

// End to end with a real systemd in the next OS (issue 13): Debian's
// kernel and a dracut initrd (systemd 252 as PID 1, systemd-cryptsetup,
// the TPM2 libraries; make e2e-assets, mk/e2e.mk) in a UKI on Debian's
// systemd-stub 252, a LUKS2 volume made here, and one TPM whose state all
// boots share:
//
//  1. ukiboot -auto: systemd-cryptsetup finds no TPM2 token and gives up
//     (headless); the test's unit (integration/e2e/initrd) enrolls the
//     volume with systemd-cryptenroll --tpm2-pcrs=7+11 and the passphrase,
//     and writes a marker line into it.
//  2. ukiboot -auto: systemd-cryptsetup unlocks it with the TPM, without a
//     passphrase; the unit prints the marker.
//  3. ukiboot's menu, its shell (s), exit, Enter: the separators extended
//     before the shell leave PCR 7 and 11 where nothing sealed to them
//     unseals: the volume stays locked.
//
// In each boot contrib's ukiboot-measure-log.service (installed as
// contrib/README.md says, by mk/e2e.mk) must have appended ukiboot's
// /.extra/tpm2-measure.log to /run/log/systemd/tpm2-measure.log once,
// before systemd-cryptsetup started (checkE2EMeasureLog); after the
// menu's shell there is no log to append.
//
// systemd 252 in the initrd does not run systemd-pcrphase on a kexec boot
// (its units need the StubPcrKernelImage EFI variable; there is no
// SYSTEMD_FORCE_MEASURE before 254), so PCR 11 is what ukiboot extended.
func TestE2ELUKSUnlockAfterUkiboot(t *testing.T) {
	t.Parallel()
	a := NeedAssets(t)
	initrd := e2eInitrd(t, a)
	passphrase := filepath.Join(RepoRoot(t), "integration", "e2e", "initrd", "etc", "ukiboot-e2e.passphrase")
	uuid := newUUID(t)
	volume := luksVolume(t, uuid, passphrase)
	esp := e2eESP(t, a, initrd, uuid)
	tpm := NewTPM(t, tpmBanks()...)

	boot := func(args ...string) *VM {
		return Boot(t, VMOptions{
			Kernel:    a.Kernel, // the bzImage: through PVH the kernel finds no TPM
			Initramfs: a.Stage1,
			Append:    Stage1Cmdline("testinit.waitdisk=2", args...),
			Disks:     []string{esp, volume},
			Memory:    1536,
			Timeout:   e2eBootTimeout + 2*time.Minute,
			QEMU:      []qemu.Fn{tpm.QEMU(t)},
		})
	}

	// 1: enroll.
	first := e2eStep(t, boot("-auto", "-v"))
	if first.said != "E2E-ENROLLED" {
		t.Fatalf("boot 1: the initrd said %q, want E2E-ENROLLED (serial log %s)", first.said, first.log)
	}
	checkBanks(t, "boot 1", first.pcrs.Banks(), tpmBanks())
	checkE2EMeasureLog(t, "boot 1", first, 11, 12, 13)
	for _, bank := range first.pcrs.Banks() {
		if isReset(first.pcrs[bank][11]) {
			t.Errorf("boot 1: PCR 11 %s is all zero after ukiboot kexec'd a UKI: ukiboot extended nothing", bank)
		}
	}
	for _, want := range []string{"SYSTEMD_FORCE_MEASURE=1", "systemd.setenv=SYSTEMD_FORCE_MEASURE=1"} {
		if !strings.Contains(" "+first.cmdline+" ", " "+want+" ") {
			t.Errorf("boot 1: the kernel command line %q lacks %s (ukiboot adds it when it has extended the TPM)", first.cmdline, want)
		}
	}

	// 2: the TPM unlocks it.
	second := e2eStep(t, boot("-auto", "-v"))
	if second.said != "E2E-UNLOCKED: ukiboot-e2e-marker" {
		t.Errorf("boot 2: the initrd said %q, want the volume unlocked by the TPM and its marker (serial log %s)", second.said, second.log)
	}
	checkE2EMeasureLog(t, "boot 2", second, 11, 12, 13)
	for _, d := range ComparePCRs(second.pcrs, first.pcrs, 7, 11) {
		t.Errorf("boot 2 (the same UKI, the same way): %s (boot 1's)", d)
	}

	// 3: after the menu's shell it does not.
	vm := boot("-timeout", "menu-force", "-v")
	shellThenBoot(vm)
	third := e2eStep(t, vm)
	if third.said != "E2E-LOCKED" {
		t.Errorf("boot 3, after the menu's shell: the initrd said %q, want E2E-LOCKED (serial log %s)", third.said, third.log)
	}
	// After the shell's separators ukiboot extends nothing of the boot,
	// so it hands over no log (one the TPM would contradict) and does not
	// tell systemd the boot was measured.
	if third.mlog.extraSHA256 != "" || third.mlog.run != nil || strings.Contains(third.cmdline, "SYSTEMD_FORCE_MEASURE") {
		t.Errorf("boot 3, after the menu's shell: /.extra/tpm2-measure.log %q, /run log %d bytes, command line %q: want no log and no SYSTEMD_FORCE_MEASURE",
			third.mlog.extraSHA256, len(third.mlog.run), third.cmdline)
	}
	for _, i := range []int{7, 11} {
		if bytes.Equal(third.pcrs["sha256"][i], first.pcrs["sha256"][i]) {
			t.Errorf("boot 3: PCR %d sha256 after the shell equals boot 1's: no separator was extended before the shell", i)
		}
	}
}

// shellThenBoot enters the shell of ukiboot's menu, runs a command there,
// leaves it and boots the default entry.
func shellThenBoot(vm *VM) {
	vm.Expect(`b reboot, o power off`, e2eBootTimeout)
	vm.Send("s")
	// gosh's line editor asks the terminal for its colours and the cursor
	// position, which nobody answers: it starts after its own timeout and
	// drops what was typed before. Its key help shows when it reads.
	vm.Expect(`toggle key help`, StepTimeout)
	// The shell's output, not the echo of what was typed.
	vm.Send("echo E2E-SHELL-$((6*7))\r")
	vm.Expect(`E2E-SHELL-42`, StepTimeout)
	vm.Send("exit\r")
	vm.Expect(`b reboot, o power off`, StepTimeout)
	vm.Send("\r")
}

// e2eBootTimeout is how long one boot through ukiboot into the dracut
// initrd may take until its unit reports (about 60 s under TCG on an idle
// 2-core machine).
const e2eBootTimeout = 6 * time.Minute

// e2eResult is what the initrd's unit printed.
type e2eResult struct {
	cmdline string
	pcrs    PCRValues
	said    string // its last line: E2E-ENROLLED, E2E-UNLOCKED: ..., E2E-LOCKED or E2E-ERROR: ...
	log     string // the serial log
	mlog    e2eMeasureLog
}

// e2eStep waits for the unit's report and for qemu to exit, and returns
// the report.
func e2eStep(t *testing.T, vm *VM) e2eResult {
	t.Helper()
	m := vm.Expect(`(?s)E2E-CMDLINE: ([^\n]*)\n(.*?)\n(E2E-(?:ENROLLED|UNLOCKED: [^\n]*|LOCKED|ERROR: [^\n]*))\n`, e2eBootTimeout)
	if err := vm.Wait(StepTimeout); err != nil {
		t.Errorf("qemu: %v", err)
	}
	t.Logf("%s after %.1fs", m[3], vm.Elapsed().Seconds())
	p, err := PCRLines(m[2], "E2E-PCR: ")
	if err != nil {
		t.Fatalf("%v (serial log %s)", err, vm.LogPath())
	}
	ml, err := parseE2EMeasureLog(m[2])
	if err != nil {
		t.Fatalf("%v (serial log %s)", err, vm.LogPath())
	}
	return e2eResult{cmdline: m[1], pcrs: p, said: m[3], log: vm.LogPath(), mlog: ml}
}

// e2eInitrd returns the dracut initrd of make e2e-assets.
func e2eInitrd(t *testing.T, a *Assets) []byte {
	t.Helper()
	p := filepath.Join(a.Dir, "e2e", "initrd.img")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("the end-to-end initrd (%v): run make e2e-assets", err)
	}
	return b
}

// newUUID returns a random UUID (version 4).
func newUUID(t *testing.T) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// luksVolume returns a new 32 MiB LUKS2 image with the UUID, its key slot
// 0 opened by the passphrase file, with a cheap PBKDF (this is a test, run
// under TCG).
func luksVolume(t *testing.T, uuid, passphrase string) string {
	t.Helper()
	cryptsetup := ukitest.Need(t, "cryptsetup")
	p := filepath.Join(t.TempDir(), "luks.img")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, 32<<20); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(cryptsetup, "luksFormat", "--type", "luks2", "--batch-mode",
		"--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000",
		"--uuid", uuid, "--key-file", passphrase, p)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(c.Args, " "), err, out)
	}
	return p
}

// e2eESP returns a disk with an ESP holding the UKI: Debian's systemd-stub
// 252 (objcopy), Debian's kernel, the dracut initrd, and a command line
// that has systemd-cryptsetup unlock the volume with the TPM only
// (headless: no passphrase prompt), and names a root that never shows up
// (the unit powers off first; a root on the volume would send the initrd
// to emergency mode when it stays locked).
func e2eESP(t *testing.T, a *Assets, initrd []byte, uuid string) string {
	t.Helper()
	kernel, err := os.ReadFile(a.Kernel)
	if err != nil {
		t.Fatal(err)
	}
	cmdline := stage2Cmdline + " rd.luks.uuid=" + uuid +
		" rd.luks.options=tpm2-device=auto,headless=true root=LABEL=ukiboot-e2e-no-root"
	dir := t.TempDir()
	path := ukitest.ObjcopyUKI(t, dir, []ukitest.Section{
		ukitest.S(".osrel", "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"),
		ukitest.S(".cmdline", cmdline),
		ukitest.B(".linux", kernel),
		ukitest.B(".initrd", initrd),
	})
	tree := filepath.Join(dir, "esp")
	if err := os.MkdirAll(filepath.Join(tree, "EFI", "Linux"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path, filepath.Join(tree, "EFI", "Linux", "debian-e2e.efi")); err != nil {
		t.Fatal(err)
	}
	return disktest.BuildDisk(t, filepath.Join(t.TempDir(), "disk.img"), []disktest.PartSpec{
		{Kind: disktest.KindESP, Dir: tree, SizeMiB: 128},
	}).Path
}
