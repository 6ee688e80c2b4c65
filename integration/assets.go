// Package integration boots ukiboot in qemu: a harness for tests that need
// a real kernel, kexec and disks, on github.com/hugelgupf/vmtest (its qemu
// package starts qemu and reads the serial console; see Boot).
//
// `make vm-assets` (mk/vm.mk) fetches Debian's kernel (out/kernel/vmlinuz,
// modules in out/kernel/lib/modules/VERSION). TestMain builds the
// first-stage u-root initramfs from it with vmtest's quimage (see
// BuildStage1): u-root's init loads the disk and file system modules of
// /lib/modules-load.d and runs testinit, the uinit, which runs
// /bbin/ukiboot with the arguments of uroot.uinitargs= (see
// Stage1Cmdline). The second-stage initrd, the one test UKIs carry, is
// built by ReportInitrd: its /init prints what the booted kernel was
// handed (see Report).
//
// The tests run only with UKIBOOT_INTEGRATION=1; UKIBOOT_ASSETS names the
// asset directory (default: out/ of the repository), UKIBOOT_STAGE1 a
// first-stage image to use instead of building one, UKIBOOT_KVM=1 uses
// KVM instead of TCG, VMTEST_QEMU the qemu command (default
// qemu-system-x86_64), UKIBOOT_VMLOGS the directory of the serial logs
// (default: out/vmlogs of the repository; each line of a log starts with
// the seconds since qemu started).
package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Environment variables of the harness.
const (
	// IntegrationEnv must be 1 for the VM tests to run at all.
	IntegrationEnv = "UKIBOOT_INTEGRATION"
	// AssetsEnv names the directory make vm-assets wrote (default
	// <repo>/out).
	AssetsEnv = "UKIBOOT_ASSETS"
	// KVMEnv set to 1 boots with KVM; the default is TCG, because KVM
	// hangs under nested virtualization on the project's machines.
	KVMEnv = "UKIBOOT_KVM"
	// LogDirEnv names the directory of the serial logs (default
	// <repo>/out/vmlogs).
	LogDirEnv = "UKIBOOT_VMLOGS"
)

// Assets are the files make vm-assets builds.
type Assets struct {
	Dir    string // the asset directory
	Kernel string // Debian's kernel (vmlinuz, a bzImage)
	// Vmlinux is the same kernel uncompressed (ELF). qemu boots it
	// through the PVH entry, which saves the ~4 s that decompressing
	// vmlinuz takes under TCG: use it for the first stage, whose kernel
	// plays the firmware's part, and Kernel where the kernel under test
	// must be the real bzImage.
	Vmlinux       string
	KernelVersion string // its release, as uname -r prints it
	Modules       string // its modules: lib/modules/KernelVersion
	Stage1        string // the first-stage initramfs (UKIBOOT_STAGE1): u-root, testinit, ukiboot
}

// NeedIntegration skips the test unless UKIBOOT_INTEGRATION=1.
func NeedIntegration(t testing.TB) {
	t.Helper()
	if os.Getenv(IntegrationEnv) != "1" {
		t.Skipf("VM test: set %s=1 to run it (after make vm-assets)", IntegrationEnv)
	}
}

// NeedAssets skips the test unless UKIBOOT_INTEGRATION=1, and fails it when
// the assets are missing.
func NeedAssets(t testing.TB) *Assets {
	t.Helper()
	NeedIntegration(t)
	a, err := findAssets()
	if err != nil {
		t.Fatal(err)
	}
	a.Stage1 = os.Getenv(Stage1Env)
	if a.Stage1 == "" {
		t.Fatalf("%s is not set: TestMain builds the first stage when %s=1", Stage1Env, IntegrationEnv)
	}
	if _, err := os.Stat(a.Stage1); err != nil {
		t.Fatalf("the first stage %s=%s: %v", Stage1Env, a.Stage1, err)
	}
	return a
}

// findAssets returns the assets of make vm-assets, or an error saying to
// run it.
func findAssets() (*Assets, error) {
	dir := os.Getenv(AssetsEnv)
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			return nil, err
		}
		dir = filepath.Join(root, "out")
	}
	a := &Assets{
		Dir:     dir,
		Kernel:  filepath.Join(dir, "kernel", "vmlinuz"),
		Vmlinux: filepath.Join(dir, "kernel", "vmlinux"),
	}
	v, err := os.ReadFile(filepath.Join(dir, "kernel", "version"))
	if err != nil {
		return nil, fmt.Errorf("VM assets missing (%v): run make vm-assets", err)
	}
	a.KernelVersion = strings.TrimSpace(string(v))
	a.Modules = filepath.Join(dir, "kernel", "lib", "modules", a.KernelVersion)
	for _, f := range []string{a.Kernel, a.Vmlinux, a.Modules} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("VM assets missing (%v): run make vm-assets", err)
		}
	}
	return a, nil
}

// Stage1With returns the path of a first-stage initramfs that has files
// too: the first stage followed by a newc archive of files (the kernel
// unpacks both), e.g. an ESP tree for ukiboot -root.
func (a *Assets) Stage1With(t testing.TB, files ...File) string {
	t.Helper()
	extra, err := Newc(files)
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(a.Stage1)
	if err != nil {
		t.Fatal(err)
	}
	// Each archive starts on a 4-byte boundary.
	for len(base)%4 != 0 {
		base = append(base, 0)
	}
	return WriteFile(t, "stage1-plus.cpio", append(base, extra...))
}

// RepoRoot returns the top directory of the repository (where go.mod is).
func RepoRoot(t testing.TB) string {
	t.Helper()
	d, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod above %s", d)
		}
		d = parent
	}
}

// Stage1Cmdline returns a kernel command line for the first stage: the
// serial console, quiet, panic=-1 (a panic ends qemu, which runs with
// -no-reboot), no_timer_check (under TCG on a loaded machine the kernel's
// IO-APIC timer check can fail and panic), extra as given (e.g. "testinit.waitdisk=1"), and the
// arguments testinit hands to ukiboot (u-root splits uroot.uinitargs= like
// a shell). An argument with spaces is single-quoted; quotes and
// backslashes in arguments are not supported.
func Stage1Cmdline(extra string, ukibootArgs ...string) string {
	var q []string
	for _, a := range ukibootArgs {
		if strings.ContainsAny(a, "\"'\\") {
			panic(fmt.Sprintf("Stage1Cmdline: argument %q has a quote or backslash", a))
		}
		if a == "" || strings.ContainsAny(a, " \t") {
			a = "'" + a + "'"
		}
		q = append(q, a)
	}
	s := "console=ttyS0 quiet panic=-1 no_timer_check"
	if extra != "" {
		s += " " + extra
	}
	if len(q) > 0 {
		s += ` uroot.uinitargs="` + strings.Join(q, " ") + `"`
	}
	return s
}
