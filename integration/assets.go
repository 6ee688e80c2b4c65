// Package integration boots ukiboot in qemu: a harness for tests that need
// a real kernel, kexec and disks.
//
// The VM assets come from `make vm-assets` (mk/vm.mk): Debian's kernel
// (out/kernel/vmlinuz, modules in out/kernel/lib/modules/VERSION) and the
// first-stage u-root initramfs out/stage1.cpio, whose uinit testinit
// loads the disk and file system modules and then runs /bbin/ukiboot with
// the arguments of uroot.uinitargs= (see Stage1Cmdline). The second-stage
// initrd, the one test UKIs carry, is built by ReportInitrd: its /init
// prints what the booted kernel was handed (see Report).
//
// The tests run only with UKIBOOT_INTEGRATION=1; UKIBOOT_ASSETS names the
// asset directory (default: out/ of the repository), UKIBOOT_KVM=1 uses
// KVM instead of TCG, UKIBOOT_VMLOGS the directory of the serial logs
// (default: out/vmlogs of the repository; each line of a log starts with
// the seconds since qemu started).
package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ukiboot/ukiboot/internal/ukitest"
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
	Stage1        string // the first-stage initramfs: u-root, testinit, ukiboot
}

// NeedIntegration skips the test unless UKIBOOT_INTEGRATION=1.
func NeedIntegration(t testing.TB) {
	t.Helper()
	if os.Getenv(IntegrationEnv) != "1" {
		t.Skipf("VM test: set %s=1 to run it (after make vm-assets)", IntegrationEnv)
	}
}

// NeedAssets skips the test unless UKIBOOT_INTEGRATION=1, and fails it when
// the assets are missing, or (unless UKIBOOT_ASSETS is set) when
// stage1.cpio is older than the sources of its commands.
func NeedAssets(t testing.TB) *Assets {
	t.Helper()
	NeedIntegration(t)
	dir := os.Getenv(AssetsEnv)
	if dir == "" {
		dir = filepath.Join(RepoRoot(t), "out")
	}
	a := &Assets{
		Dir:     dir,
		Kernel:  filepath.Join(dir, "kernel", "vmlinuz"),
		Vmlinux: filepath.Join(dir, "kernel", "vmlinux"),
		Stage1:  filepath.Join(dir, "stage1.cpio"),
	}
	v, err := os.ReadFile(filepath.Join(dir, "kernel", "version"))
	if err != nil {
		t.Fatalf("VM assets missing (%v): run make vm-assets", err)
	}
	a.KernelVersion = strings.TrimSpace(string(v))
	a.Modules = filepath.Join(dir, "kernel", "lib", "modules", a.KernelVersion)
	var stage1 time.Time
	for _, f := range []string{a.Kernel, a.Vmlinux, a.Modules, a.Stage1} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatalf("VM assets missing (%v): run make vm-assets", err)
		}
		if f == a.Stage1 {
			stage1 = fi.ModTime()
		}
	}
	if os.Getenv(AssetsEnv) == "" {
		staleness.Lock()
		if !staleness.checked {
			staleness.checked = true
			staleness.newer = newerSource(t, stage1)
		}
		f := staleness.newer
		staleness.Unlock()
		if f != "" {
			t.Fatalf("%s is older than %s: run make vm-assets (or set %s=%s to test the old build)", a.Stage1, f, AssetsEnv, dir)
		}
	}
	return a
}

// staleness is the result of the check of stage1.cpio against the sources,
// done once per test process so that all tests of a run agree.
var staleness struct {
	sync.Mutex
	checked bool
	newer   string
}

// Stage1With returns the path of a first-stage initramfs that has files
// too: stage1.cpio followed by a newc archive of files (the kernel unpacks
// both), e.g. an ESP tree for ukiboot -root.
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

// newerSource returns a Go source file of the first stage's commands
// (ukiboot, testinit and the packages of this module they import), go.mod
// or go.sum, when changed after t; else "".
func newerSource(t testing.TB, stage1 time.Time) string {
	t.Helper()
	root := RepoRoot(t)
	c := exec.Command(ukitest.Need(t, "go"), "list", "-deps", "-f",
		`{{if .Module}}{{if .Module.Main}}{{.Dir}}{{range .GoFiles}} {{.}}{{end}}{{range .EmbedFiles}} {{.}}{{end}}{{"\n"}}{{end}}{{end}}`,
		"./cmds/ukiboot", "./integration/cmds/testinit")
	c.Dir = root
	out, err := c.Output()
	if err != nil {
		t.Fatalf("go list the sources of the first stage: %v", err)
	}
	files := []string{filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		for i := 1; i < len(f); i++ {
			files = append(files, filepath.Join(f[0], f[i]))
		}
	}
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.ModTime().After(stage1) {
			return f
		}
	}
	return ""
}

var repoRoot struct {
	sync.Mutex
	dir string
}

// RepoRoot returns the top directory of the repository (where go.mod is).
func RepoRoot(t testing.TB) string {
	t.Helper()
	repoRoot.Lock()
	defer repoRoot.Unlock()
	if repoRoot.dir != "" {
		return repoRoot.dir
	}
	d, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			repoRoot.dir = d
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			t.Fatal("no go.mod above the working directory")
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
